"""Which skill implementation answers each skill name on this device.

`embedded_skills()` is what runs with no network and no keys. Skills that only
exist online (open questions, image descriptions) answer offline with
`error.code` UNAVAILABLE, which flows turn into a clear message, never an
invented answer; `assistant.answer` first answers what needs no model (time,
battery, where am I, sums, conversions: skills/onboard/answers.py); text in a
photo is read on the glasses (skills/reading). Translation
offline is the phrasebook or a word-by-word gloss, labelled as such
(skills/translation); online it is Qwen-MT, falling back to the offline answer for
any sentence the provider cannot be reached for.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from skills.base import needs_network
from skills.meetings import summarize, transcripts
from skills.navigation import skills as navigation
from skills.onboard import answers, media, teleprompter
from skills.payments import sandbox as payments
from skills.plugins import plugin_skills
from skills.reading import ocr as reading
from skills.shopping import skills as shopping
from skills.translation import offline as translation

if TYPE_CHECKING:  # the client (and openai) is imported only when an endpoint is configured
    from skills.qwen.client import LlmSettings

__all__ = ["Skill", "embedded_skills", "skills_for_device"]

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]


def _offline(what: str) -> Skill:
    async def refuse(args: dict[str, Any], ctx: Any) -> Any:
        raise needs_network(what)

    return refuse


def skills_for_device(llm: LlmSettings | None = None) -> dict[str, Skill]:
    """The embedded skills, with the online ones on Qwen when an endpoint is configured (`llm`, else the
    LENSFLOW_LLM_* environment)."""
    from skills.qwen.client import LlmSettings

    skills = embedded_skills()
    settings = llm or LlmSettings.from_env()
    if settings.configured:
        from skills.qwen.skills import QwenSkills

        online = QwenSkills(settings)
        skills.update(
            {
                "translate.text": translation.with_offline_fallback(online.translate),
                "assistant.answer": answers.answers_first(online.answer),
                "vision.describe": online.describe,
            }
        )
    if os.environ.get("DASHSCOPE_API_KEY") or os.environ.get("LENSFLOW_ASR_URL"):
        from skills.speech.dashscope_asr import DashScopeRecognizer

        skills["asr.transcribe"] = DashScopeRecognizer().transcribe
    if os.environ.get("LENSFLOW_ALIPAY_APP_ID"):  # keys are checked on first use: a bad one is a CONFIG error
        from skills.payments.alipay import alipay_skills

        skills.update(alipay_skills())
    skills.update(shopping.online_skills(skills["vision.describe"] if settings.configured else None))
    skills.update(navigation.online_skills())  # AMap when LENSFLOW_AMAP_KEY is set; the offline map otherwise
    skills.update(plugin_skills())  # installed plugins' skills (never a built-in name: the catalogue refuses those)
    return skills


def embedded_skills() -> dict[str, Skill]:
    """Skills that work offline, and the online-only ones answering UNAVAILABLE."""
    return {
        "transcribe.start": transcripts.start,
        "transcribe.append": transcripts.append,
        "transcribe.stop": transcripts.stop,
        "transcribe.export": transcripts.export,
        "summarize.text": summarize.summarize,
        "teleprompter.load": teleprompter.load,
        "teleprompter.align": teleprompter.align_skill,
        "media.save": media.save,
        "payment.decode_qr": payments.decode_qr,
        "payment.pay": payments.pay,
        "payment.query": payments.query,
        "payment.cancel": payments.cancel,
        "payment.reconcile": payments.reconcile,
        "payment.acknowledge": payments.acknowledge,
        "translate.text": translation.translate_offline,
        "assistant.answer": answers.answers_first(None),  # time, battery, sums ...; the rest needs the network
        "vision.describe": _offline("Describing what the camera sees"),
        "reading.read_text": reading.read_text,  # the recogniser loads on the first photo, not here
        "shopping.identify": shopping.identify,
        "shopping.search": shopping.search,
        "shopping.compare": shopping.compare,
        **navigation.embedded_skills(),  # the bundled offline map
    }
