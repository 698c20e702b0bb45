"""`lensflow drive NAME`: glasses reached through a plugin's device driver, talking to the whole assistant.

The driver (devices/drivers.py) is the front door here, as the WebSocket bridge is for glasses that speak
its protocol: one session on the session host, kept in the session store (`--session` resumes it), with
the router, skills and model every front door gets. The command returns when the driver's `run` does
(the glasses went away); Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from typing import Any

from commands.common import EXIT_OK, CliError, assistant_parts, device_profile, llm_settings, load_flows
from commands.distribution import require_extra
from commands.observability import add_log_options, start_observing

__all__ = ["add_drive_parser", "cmd_drive", "driver_options"]

log = logging.getLogger("lensflow.drive")


def add_drive_parser(sub: Any) -> None:
    """The `drive` subcommand's options."""
    dr = sub.add_parser("drive", help="talk to the whole assistant through a plugin's device driver")
    dr.add_argument("driver", help="the driver's name (its plugin's `lensflow.devices` entry point)")
    dr.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the driver (its plugin documents them), repeatable",
    )
    dr.add_argument("--flows", default="flows")
    dr.add_argument("--session", help="session id: the same id resumes the conversation (default: a new one)")
    dr.add_argument("--wearer", default="local", help="whose captures and payments these are (default local)")
    dr.add_argument(
        "--db", help="session store: a SQLite file or postgresql://... (default LENSFLOW_DB or the data folder)"
    )
    dr.add_argument("--llm-url", help="OpenAI-compatible endpoint serving Qwen (default: DashScope)")
    dr.add_argument("--model", help="model name (default qwen-plus)")
    add_log_options(dr, "warning")
    dr.set_defaults(func=cmd_drive)


def driver_options(pairs: list[str]) -> dict[str, str]:
    """`--option KEY=VALUE` pairs as a mapping; a pair without `=` or a key given twice is a one-line error."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--option {pair!r}: give KEY=VALUE")
        if key.strip() in options:
            raise CliError(f"--option {key.strip()!r} is given twice")
        options[key.strip()] = value
    return options


def cmd_drive(args: argparse.Namespace) -> int:
    """Start the driver, hand it one hosted session, and carry its glasses' words and gestures to the assistant."""
    require_extra("drive", "agent")
    from devices.drivers import DriverLink, DriverRefused, GlassesDoor, load_driver
    from engine.assistant.store import open_session_store
    from engine.media import open_media_store
    from engine.settings import session_store
    from skills.qwen.client import QwenClient, run_closing

    options = driver_options(args.option)
    start_observing(args, "drive")
    session_store(args.db)  # a bad --db or LENSFLOW_DB is one line before the driver starts
    driver = load_driver(args.driver, options)
    profile = device_profile(driver.profile)
    flows = load_flows([args.flows])
    settings = llm_settings(args)
    client = QwenClient(settings)
    parts = assistant_parts(flows, settings, client)

    async def drive() -> None:
        from engine.assistant.host import SessionHost

        store = open_session_store(args.db)
        host = SessionHost(flows, store, parts.router, skills=parts.skills, llm=parts.llm)
        try:
            session = await host.resume(args.session) if args.session else None
            if session is None:
                session = host.create(args.wearer, device=args.driver, profile=profile.id, session_id=args.session)
            session.link = DriverLink(driver, profile)
            log.info("driver started", extra={"driver": args.driver, "profile": profile.id})
            await driver.run(GlassesDoor(session, profile, open_media_store()))
        except DriverRefused:
            raise
        except Exception as exc:  # the driver's own code: one line naming it, never a traceback
            raise CliError(f"driver {args.driver!r} stopped: {type(exc).__name__}: {exc}") from None
        finally:
            host.close()
            store.close()

    with contextlib.suppress(KeyboardInterrupt):
        run_closing(drive())
    return EXIT_OK
