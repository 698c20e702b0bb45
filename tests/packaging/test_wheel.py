"""The wheel holds every module and every data file of the packages, the `lensflow` command and
`py.typed`, and nothing of tests/, bench/ or flows/."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from tests.packaging.installs import packaged_top_levels, wheel_names
from tests.support import ROOT


def _package_files() -> list[str]:
    """Files under the packaged folders, tracked or new (what .gitignore ignores is no source)."""
    packages, _ = packaged_top_levels()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *packages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return sorted(name for name in listed if (ROOT / name).is_file())


def test_every_data_file_and_module_under_the_packages_is_in_the_wheel(wheel: Path) -> None:
    files = _package_files()
    data = [name for name in files if not name.endswith(".py")]
    # the data the skills, the validator and the simulator read: if these move, this list moves with them
    assert {
        "schemas/flow.schema.json",
        "schemas/catalog/skills.json",
        "schemas/templates/flow.yaml",
        "devices/profiles/quark-display.yaml",
        "skills/navigation/data/hangzhou_hubin.json",
        "skills/shopping/data/products.csv",
        "skills/translation/data/phrasebook.yaml",
        "skills/understanding/data/off_topic.yaml",
        "skills/onboard/data/currency_rates.yaml",
        "studio/static/index.html",
        "studio/static/studio.js",
        "studio/static/glasses.js",
        "studio/static/glasses_controls.js",
        "studio/static/editor_help.js",
        "studio/static/editor_help.css",
        "studio/static/timeline.js",
        "studio/static/studio.css",
    } <= set(data)
    names = wheel_names(wheel)
    missing = [name for name in files if name not in names]
    assert missing == [], f"in the packages but not in the wheel: {missing}"


def test_the_wheel_is_typed_has_the_command_and_leaves_the_rest_of_the_checkout_out(wheel: Path) -> None:
    names = wheel_names(wheel)
    packages, modules = packaged_top_levels()
    assert {f"{p}/py.typed" for p in packages} <= names
    assert {f"{m}.py" for m in modules} == {"cli.py"} and "cli.py" in names
    assert not [n for n in names if n.split("/")[0] in {"tests", "bench", "flows", "docs", "ci"}]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode("utf-8")
    assert "[console_scripts]\nlensflow = cli:main" in text
