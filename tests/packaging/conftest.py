"""The wheel, built once per run, and a base install of it (no extras) for the packaging tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.installs import BaseInstall, build_wheel, install_base


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def base_install(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> BaseInstall:
    return install_base(wheel, tmp_path_factory.mktemp("install"))
