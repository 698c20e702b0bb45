"""The shipped flows compiled once, and a session host over them whose payment skills count charges."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runtime.compiler import CompiledFlow, compile_flow
from tests.support import ROOT
from tests.support.flows import flow_of

FLOWS: dict[str, CompiledFlow] = {}
for _path in sorted((ROOT / "flows").glob("*.yaml")):
    _flow = flow_of(_path)
    FLOWS[_flow.id] = compile_flow(_flow)


class Payments:
    """Fake providers for the payment skills, counting charges."""

    def __init__(self) -> None:
        self.charges: list[str | None] = []

    def skills(self) -> dict[str, Any]:
        async def decode(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            return {"payload": "QR-1", "merchant": "Lucky Noodles", "amount": 12.0}

        async def pay(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            self.charges.append(ctx.idempotency_key)
            return {"status": "PAID"}

        return {"payment.decode_qr": decode, "payment.pay": pay}


def counting_host(store: Any, payments: Payments, **options: Any) -> SessionHost:
    """A host on the offline router whose payment skills count charges."""
    return SessionHost(
        FLOWS, store, OfflineRouter([c.flow for c in FLOWS.values()]), skills=payments.skills(), **options
    )


@contextlib.asynccontextmanager
async def sqlite_store(path: str | Path) -> AsyncIterator[SqliteSessionStore]:
    """A SQLite session store, closed when the block ends."""
    store = SqliteSessionStore(path)
    try:
        yield store
    finally:
        store.close()
