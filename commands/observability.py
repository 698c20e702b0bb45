"""The logging and tracing options every long-running command shares, and the one call that applies them.

`serve`, `mcp`, `chat`, `simulate` and `cluster` take `--log-level` and `--log-json` (else
LENSFLOW_LOG_LEVEL / LENSFLOW_LOG_JSON, else the command's default level), and all but
`cluster` take `--trace-console` (spans as JSON lines on stderr; `OTEL_TRACES_EXPORTER`
otherwise). The Temporal worker reads the same settings (`backends.temporal.worker`).
"""

from __future__ import annotations

import argparse
import os

from engine.logs import ENV_JSON, ENV_LEVEL, LEVELS

__all__ = ["add_log_options", "cluster_log_env", "start_observing"]


def add_log_options(parser: argparse.ArgumentParser, default: str, trace: bool = True) -> None:
    """`--log-level`, `--log-json` (and `--trace-console` when `trace`) for a command logging at `default`."""
    parser.add_argument(
        "--log-level",
        choices=list(LEVELS),
        help=f"what to log on stderr (default {ENV_LEVEL}, else {default})",
    )
    parser.add_argument(
        "--log-json",
        action="store_true",
        default=None,
        help=f"log one JSON object a line: ts, level, logger, msg and fields (also {ENV_JSON}=1)",
    )
    if trace:
        parser.add_argument(
            "--trace-console",
            action="store_true",
            help="write OpenTelemetry spans as JSON lines on stderr (needs the 'telemetry' extra)",
        )
    parser.set_defaults(log_default=default)


def start_observing(args: argparse.Namespace, command: str) -> str | None:
    """Set up the log as the options and environment say, and export spans when asked; the exporter, if any.

    A bad LENSFLOW_LOG_* or OTEL_TRACES_EXPORTER setting is a one-line error before anything starts."""
    from engine.logs import log_settings, setup_logging

    level, as_json = log_settings(args.log_level, args.log_json, args.log_default)
    setup_logging(level, as_json)
    if not getattr(args, "trace_console", False) and not _tracing_asked():
        return None  # the OpenTelemetry API is not even imported
    from engine.tracing import export_spans

    return export_spans(f"lensflow-{command}", console=getattr(args, "trace_console", False))


def _tracing_asked() -> bool:
    return any(key.startswith("OTEL_") for key in os.environ)


def cluster_log_env(args: argparse.Namespace) -> None:
    """The cluster's workers and gateways inherit its log settings through the environment."""
    from engine.logs import log_settings

    level, as_json = log_settings(args.log_level, args.log_json, args.log_default)  # checked here, once
    os.environ[ENV_LEVEL] = next(name for name, value in LEVELS.items() if value == level)
    os.environ[ENV_JSON] = "1" if as_json else "0"
