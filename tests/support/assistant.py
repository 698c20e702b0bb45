"""The shipped flows compiled once, and an assistant over them whose payment skills count charges."""

from __future__ import annotations

from typing import Any

from engine.assistant.agent import Assistant
from engine.assistant.routing import OfflineRouter
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


def counting_assistant(saver: Any, payments: Payments) -> Assistant:
    return Assistant(FLOWS, OfflineRouter([c.flow for c in FLOWS.values()]), saver, skills=payments.skills())
