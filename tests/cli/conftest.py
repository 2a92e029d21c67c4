from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare import config as config_mod
from clare import paths as paths_mod
from tests.sessions.views_data import HOST

if TYPE_CHECKING:
    from pathlib import Path

    from clare.paths import InstancePaths


@pytest.fixture
def paths(tmp_path: Path) -> InstancePaths:
    """An instance home with this host's config and an empty data folder."""
    home = paths_mod.resolve(tmp_path / "h")
    config_mod.save(home, config_mod.Config(machine_id=HOST, name="laptop"))
    home.data_dir.mkdir(parents=True)
    return home
