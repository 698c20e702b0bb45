"""Trigger phrases heard by sound: the homophone set with and without the pinyin port, what changed on the
labelled sets, and the cost per utterance (same run).

Prints, for the trigger matcher alone and with `sounds_like` (skills/understanding/sounds.py): homophone
positives started right, homophone negatives kept from the flow they sound like, routes that differ between the
two on every labelled set in tests/fixtures (utterances, independent, calibration positives and negatives), and
p50/p99 microseconds per utterance once pypinyin and jieba are loaded (their loading is printed apart).

Usage: python bench/sounds_bench.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.assistant.routing import OfflineRouter  # noqa: E402
from skills.understanding.sounds import sounds_like  # noqa: E402
from tests.support import FIXTURES  # noqa: E402
from tests.support.routing import CASES, INDEPENDENT, shipped_router  # noqa: E402
from tests.support.semantic import HELD_OUT_NEGATIVES, NEGATIVES, POSITIVES  # noqa: E402

HOMOPHONES = yaml.safe_load((FIXTURES / "routing" / "homophones.yaml").read_text(encoding="utf-8"))


def main() -> int:
    flows = list(shipped_router().flows.values())
    plain, by_sound = OfflineRouter(flows), OfflineRouter(flows, sounds_like=sounds_like)
    started = time.perf_counter()
    sounds_like("拍照", "拍找")  # pypinyin's dictionary and jieba's, once per process
    print(f"pypinyin + jieba load: {(time.perf_counter() - started) * 1000:.0f} ms (once per process)")
    print(f"{'set':<34}{'n':>4}{'trigger-only':>14}{'with sounds':>13}")
    for router in (plain, by_sound):
        router.route("热身")  # caches of the first utterance
    positives, negatives = HOMOPHONES["positives"], HOMOPHONES["negatives"]
    cells = []
    for router in (plain, by_sound):
        right = sum(_started(router, c["text"]) == c["flow"] for c in positives)
        kept = sum(_started(router, c["text"]) != c["not"] for c in negatives)
        cells.append((right, kept))
    print(f"{'homophones: flow started':<34}{len(positives):>4}{cells[0][0]:>14}{cells[1][0]:>13}")
    print(f"{'sound-alike words: not started':<34}{len(negatives):>4}{cells[0][1]:>14}{cells[1][1]:>13}")
    labelled = [(c["text"], c.get("active"), c.get("awaiting")) for c in CASES + INDEPENDENT]
    labelled += [(t, None, None) for t, _ in POSITIVES] + [(t, None, None) for t in (*NEGATIVES, *HELD_OUT_NEGATIVES)]
    changed = [t for t, a, w in labelled if plain.route(t, a, w).as_dict() != by_sound.route(t, a, w).as_dict()]
    print(f"labelled sets: {len(labelled)} utterances, {len(changed)} routed differently with sounds {changed}")
    for name, router in (("trigger-only", plain), ("with sounds", by_sound)):
        times, chinese = [], []
        for text, active, awaiting in labelled:
            began = time.perf_counter()
            router.route(text, active, awaiting)
            took = (time.perf_counter() - began) * 1e6
            times.append(took)
            if any("\u4e00" <= ch <= "\u9fff" for ch in text):
                chinese.append(took)
        p99 = sorted(times)[int(len(times) * 0.99)]
        middle = statistics.median(times), statistics.median(chinese)
        print(f"{name}: p50 {middle[0]:.0f} us, p99 {p99:.0f} us; Chinese p50 {middle[1]:.0f} us")
    return 0


def _started(router: OfflineRouter, text: str) -> str | None:
    route = router.route(text)
    return route.flow if route.command == "start_flow" else None


if __name__ == "__main__":
    sys.exit(main())
