"""`studio`: the local web page for editing flows (docs/studio.md); starlette and uvicorn load only here."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from commands.common import EXIT_OK, CliError

__all__ = ["add_studio_parser", "cmd_studio"]


def add_studio_parser(sub: Any) -> None:
    """The `studio` subcommand's options."""
    st = sub.add_parser("studio", help="edit flows in a local web page: findings as you type, the diagram beside")
    st.add_argument("flows", nargs="*", help="flow files or folders to serve (default flows/)")
    st.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    st.add_argument("--port", type=int, default=8767, help="port (default 8767; 0 picks a free one)")
    st.add_argument(
        "--allow-remote",
        action="store_true",
        help="let a non-loopback --host be used: anyone who reaches it can read and overwrite the served flows",
    )
    st.set_defaults(func=cmd_studio)


def cmd_studio(args: argparse.Namespace) -> int:
    """Serve the studio until Ctrl-C; the one line `studio: URL` on stdout says where."""
    import asyncio

    from commands.distribution import require_extra
    from devices.bridge.auth import is_loopback

    loopback = is_loopback(args.host)
    if not loopback and not args.allow_remote:
        raise CliError(
            f"--host {args.host} is reachable from other machines and the studio reads and writes the flow files "
            "with no authentication: listen on 127.0.0.1, or add --allow-remote if every machine there is trusted"
        )
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port: {args.port} is not a port (0-65535; 0 picks a free one)")
    require_extra("studio", "studio")
    studio = _studio(args.flows or ["flows"])

    from studio.server import listen, serve

    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CliError(f"cannot listen on {args.host}:{args.port} ({reason})") from None
    asyncio.run(serve(studio, sock, loopback))
    return EXIT_OK


def _studio(paths: list[str]) -> Any:
    """The served flows and the validator's settings, as `validate` would read them here."""
    from engine.checks.base import RULES
    from engine.checks.config import ConfigError, find_pyproject, load_config
    from engine.checks.validate import UsageError, expand_paths
    from engine.language.catalog import load_catalog
    from studio.api import Studio
    from studio.flows import FlowSet

    try:
        expand_paths(paths)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    try:
        config = load_config(find_pyproject(Path.cwd()), set(RULES))
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    return Studio(FlowSet(list(paths)), config, load_catalog())
