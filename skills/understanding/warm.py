"""Warming the offline router up before the first wearer speaks.

The semantic model, the flows' index and the pinyin readings (pypinyin, jieba's
dictionary) load on first use: left alone, the first wearer whose words match no trigger
phrase waits for them (about a second on the 2-core reference machine). A long-running
front door (`serve`, `chat`, `mcp`) pays it once at start instead, before it takes
words, so no utterance races the loading.
"""

from __future__ import annotations

import time
from typing import Any

from engine.assistant.routing import OfflineRouter
from skills.understanding.router import WithoutMeaning

__all__ = ["warm_up"]


def warm_up(router: Any) -> float:
    """Load what `router`'s offline stages load lazily; the seconds it took (0 when there is nothing to load)."""
    offline = router if isinstance(router, OfflineRouter) else getattr(router, "offline", None)
    if not isinstance(offline, OfflineRouter) or (offline.semantic is None and offline.sounds_like is None):
        return 0.0
    started = time.perf_counter()
    if offline.semantic is not None and not isinstance(offline.semantic, WithoutMeaning):  # no extra: nothing
        offline.semantic.similar("warm up")  # the model, and the index of the flows' texts
    if offline.sounds_like is not None:
        offline.sounds_like("拍照", "拍找")  # pypinyin's readings and jieba's word list
    return time.perf_counter() - started
