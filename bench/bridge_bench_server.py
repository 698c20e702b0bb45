"""The two servers `bridge_bench.py` compares, each run in its own process on 127.0.0.1.

* `bridge`: the Lensflow `BridgeServer` serving every flow in `flows/` with the
  device skills and its sessions saved to a SQLite file, started with
  `await bridge.start(host, port)` as `cli.py serve` does.
* `bare`: a plain `websockets` server speaking just enough of the bridge protocol to
  hold the same connections: `welcome` and the same first commands after a `hello`,
  then for each event one command frame of the same bytes the bridge sent (its own
  numbering), then an `ack`. It decodes and encodes JSON as the bridge does, nothing more.
  Its keepalive pings are spread over the interval as the bridge's are (the bridge's
  connection class): both servers sit on one CPU, and a thousand connections pinged in
  one turn of its loop every 20 s held the CPU ~20 ms in the bridge's rounds too.

Connection settings (`max_queue`, `write_limit`, `compression`, `ping_interval` ...)
reach both alike: the bare server passes them to `serve`; for the bridge,
`connection_settings_hook` rebinds the `serve` that `devices/bridge/server.py` calls
to one with the settings filled in, so the bridge is measured with them without
editing it. The server reports the settings it sees on a live connection, so a
bridge that stops calling that `serve` is noticed rather than measured untuned.

Control, one JSON line each way on stdin/stdout: the server prints `{"port": N}`
when it listens; `measure` answers RSS (after a collection), traced bytes when
tracing, sessions held and the live connection's settings and the CPU time used; `trace` starts
`tracemalloc`; `mark` then `grown` name the lines whose allocations grew in between;
`quit` ends the process.

Event loop: the bridge runs on the loop `cli.py serve` runs on (`run_server`: uvloop where it
is installed); the bare server on asyncio's own, unless `LENSFLOW_BENCH_BARE_LOOP=uvloop`.

Usage (by bridge_bench.py): python bench/bridge_bench_server.py bare|bridge SETTINGS_JSON [TEMPLATE_JSON]
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.server import Server, ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from devices.bridge.keepalive import SpreadKeepaliveConnection  # noqa: E402

MAX_SIZE = 4 * 1024 * 1024 + 4096 + 4  # what the bridge accepts (devices/bridge/protocol.py)


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def connection_settings_hook(settings: dict[str, Any]) -> None:
    """Make the bridge's `serve(...)` call pass `settings` too (keyword arguments of websockets' `serve`)."""
    import devices.bridge.server as bridge_server

    def serve_with_settings(*args: Any, **kwargs: Any) -> Any:
        return serve(*args, **{**kwargs, **settings})  # the settings tried win over the bridge's own

    bridge_server.serve = serve_with_settings


def live_settings(server: Server) -> dict[str, Any] | None:
    """The settings one open server-side connection runs with (None while none is open)."""
    for connection in server.connections:
        extensions = [type(e).__name__ for e in connection.protocol.extensions]
        return {
            "compression": "deflate" if extensions else None,
            "max_queue": connection.max_queue_high,
            "write_limit": connection.write_limit_high,
            "ping_interval": connection.ping_interval,
        }
    return None


class BareServer:
    """Holds connections and answers each event with one command frame and an ack, as the bridge does."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.first: list[dict[str, Any]] = template["first"]  # the commands the bridge sends after welcome
        self.commands: list[dict[str, Any]] = template["commands"]  # what successive events draw, in turn
        self.connections = 0

    async def handle(self, connection: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            hello = json.loads(await connection.recv())
            if hello.get("type") != "hello":
                return
            self.connections += 1
            seq = 0
            await connection.send(json.dumps({"type": "welcome", "session": "s", "resumed": False, "last_event": 0}))
            for command in self.first if hello.get("flow") else ():  # no flow named: nothing runs yet
                seq += 1
                await connection.send(json.dumps({**command, "seq": seq}, ensure_ascii=False))
            async for frame in connection:
                message = json.loads(frame)
                if message["type"] == "event":
                    seq += 1
                    drawn = self.commands[(message["seq"] - 1) % len(self.commands)]
                    await connection.send(json.dumps({**drawn, "seq": seq}, ensure_ascii=False))
                    await connection.send(json.dumps({"type": "ack", "seq": message["seq"]}))


async def start(kind: str, settings: dict[str, Any], template: dict[str, Any] | None) -> tuple[Server, Any]:
    """Start the server of this kind on a free port of 127.0.0.1; returns it and what holds its sessions."""
    if kind == "bare":
        assert template is not None, "the bare server needs the bridge's frames"
        bare = BareServer(template)
        server = await serve(
            bare.handle, "127.0.0.1", 0, max_size=MAX_SIZE, create_connection=SpreadKeepaliveConnection, **settings
        )
        return server, bare
    connection_settings_hook(settings)
    from devices.bridge.server import BridgeServer
    from engine.assistant.store_sqlite import SqliteSessionStore
    from engine.runnable import load_all_runnable
    from skills.registry import embedded_skills

    flows, _ = load_all_runnable([str(ROOT / "flows")])
    # sessions saved to a file, as `cli.py serve` keeps them (`<data>/sessions.sqlite`)
    folder = tempfile.mkdtemp(prefix="lensflow-bridge-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    bridge = BridgeServer(flows, skills=embedded_skills(), store=SqliteSessionStore(Path(folder) / "sessions.sqlite"))
    return await bridge.start("127.0.0.1", 0), bridge


def held(holder: Any) -> int:
    """Sessions (bridge) or connections (bare) the server holds."""
    sessions = getattr(holder, "sessions", None)
    return len(sessions) if sessions is not None else int(holder.connections)


async def main(kind: str, settings: dict[str, Any], template: dict[str, Any] | None) -> None:
    server, holder = await start(kind, settings, template)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    marked: tracemalloc.Snapshot | None = None
    while line := (await reader.readline()).decode().strip():
        if line == "quit":
            break
        if line == "trace":
            tracemalloc.start()
            reply: dict[str, Any] = {"tracing": True}
        elif line == "measure":
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
            reply = {
                "rss": rss_bytes(),
                "cpu": time.process_time(),
                "traced": traced,
                "held": held(holder),
                "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                "settings": live_settings(server),
            }
        elif line == "mark":  # what is allocated from here on is compared by `grown`
            marked = tracemalloc.take_snapshot()
            reply = {"marked": True}
        elif line == "grown" and marked is not None:
            diff = tracemalloc.take_snapshot().compare_to(marked, "lineno")
            reply = {
                "grown": [
                    f"{d.traceback[0].filename.removeprefix(str(ROOT) + '/')}:{d.traceback[0].lineno} "
                    f"{d.size_diff:+d} B in {d.count_diff:+d} blocks"
                    for d in diff[:6]
                ]
            }
        else:
            reply = {"error": f"unknown control line {line[:40]!r}"}
        print(json.dumps(reply), flush=True)
    server.close()


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("bare", "bridge"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    template = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    serving = main(sys.argv[1], json.loads(sys.argv[2]), template)
    if sys.argv[1] == "bridge":
        from devices.bridge.server import run_server

        run_server(serving)  # as `cli.py serve` runs
    elif os.environ.get("LENSFLOW_BENCH_BARE_LOOP") == "uvloop":
        import uvloop

        uvloop.run(serving)
    else:
        asyncio.run(serving)
