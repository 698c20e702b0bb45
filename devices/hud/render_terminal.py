"""Render a HUD frame in the terminal: a rich renderable sized like the display.

Like every rich renderable it draws itself within the options it is given, so it
can be tested by rendering at a fixed width and comparing.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.panel import Panel
from rich.text import Text

from devices.hud.layout import HudFrame
from engine.language.catalog import DeviceProfile

__all__ = ["HudView"]


class HudView:
    def __init__(self, frame: HudFrame, profile: DeviceProfile, page: int = 0) -> None:
        self.frame = frame
        self.profile = profile
        self.page = page

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        hud = self.profile.hud
        lines = hud.lines if hud else 1
        body = Text()
        page = self.frame.pages[self.page] if self.page < len(self.frame.pages) else ()
        for index in range(lines):
            text = page[index] if index < len(page) else ""
            style = "bold green" if index < self.frame.title_lines else "green"
            body.append(text, style=style)
            if index < lines - 1:
                body.append("\n")
        subtitle = f"{self.page + 1}/{len(self.frame.pages)}" if len(self.frame.pages) > 1 else None
        yield Panel(
            body,
            title=f"HUD · {self.frame.layout}",
            subtitle=subtitle,
            border_style="green",
            width=min(options.max_width, (hud.columns if hud else 38) + 4),
            style="on black",
        )
