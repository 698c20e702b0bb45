"""How a hosted session reaches glasses: the device link a front door gives it, and the runner's ports.

`DeviceLink` is what a front door hands a session (the bridge's connection, the
terminal chat's simulated glasses): it gets each command once the session holding
it is saved. `PortsLink` carries commands out on ports in this process.
`SessionPorts` are the runner's ports for a hosted session: every device action
becomes a numbered command in the session's outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from engine.assistant.assistant_session import AssistantSession

__all__ = ["DeviceLink", "PortsLink", "SessionPorts"]


class DeviceLink(Protocol):
    """The front door's device: it gets each command once the session holding it is saved."""

    def deliver(self, session: AssistantSession, commands: list[dict[str, Any]]) -> None: ...


class PortsLink:
    """Commands carried out on ports in this process (the terminal chat's simulated glasses, a test's recorder).

    The assistant's own replies go to `ports.reply` when it has one (a front door that
    prints them from the turn's result leaves it out).
    """

    __slots__ = ("ports",)

    def __init__(self, ports: Any) -> None:
        self.ports = ports

    def deliver(self, session: AssistantSession, commands: list[dict[str, Any]]) -> None:
        for command in commands:
            action, args = command["action"], command["args"]
            if action == "prompt":
                ask = getattr(self.ports, "prompt", None)
                if ask is not None:
                    ask(session, args.get("text", ""))
            elif action == "reply":
                say = getattr(self.ports, "reply", None)
                if say is not None:
                    say(session, args.get("text", ""))
            elif "file" in command:
                self.ports.capture(session, action, args, command["file"])
                session.uploaded(command["file"])  # stored by the glasses in this process, right now
            else:
                self.ports.perform(session, action, args)
        if commands:
            session.ack(commands[-1]["seq"])


class SessionPorts:
    """The runner's ports for a hosted session: every device action becomes a numbered command."""

    __slots__ = ("session",)

    def __init__(self, session: AssistantSession) -> None:
        self.session = session

    def perform(self, session: Any, action: str, args: Any) -> None:
        self.session.outbox.perform(session, action, args)
        self._now()

    def capture(self, session: Any, action: str, args: Any, name: str) -> None:
        self.session.outbox.capture(session, action, args, name)
        self._now()

    def prompt(self, session: Any, text: str) -> None:
        self.session.outbox.prompt(session, text)
        self._now()

    def _now(self) -> None:
        """Glasses in this process carry a command out at once, as the step makes it (a photo is on
        disk before the skill that reads it starts); they die with the process, so there is no
        saved state to run ahead of. A remote device gets commands only once they are saved."""
        link = self.session.link
        if isinstance(link, PortsLink):
            link.deliver(self.session, self.session.outbox.take())

    def finished(self, session: Any) -> None:
        link = self.session.link
        ended = getattr(link.ports, "finished", None) if isinstance(link, PortsLink) else None
        if ended is not None:  # glasses in this process keep their display themselves
            ended(session)
        else:
            self.session.finished(session)
