"""The registry names every area: no module of the domain adds to the shared tables unseen."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import clare.domain
from clare.domain import events, registry


def test_importing_every_domain_module_adds_nothing_the_registry_lacks() -> None:
    deciders, folds = set(registry.DECIDERS), set(registry.KINDS)
    kinds = set(events.EVENT_TYPES)
    for module in pkgutil.iter_modules(clare.domain.__path__):
        importlib.import_module(f"clare.domain.{module.name}")
    assert set(registry.DECIDERS) == deciders
    assert set(registry.KINDS) == folds
    assert set(events.EVENT_TYPES) == kinds


def test_a_domain_constant_loads_no_area() -> None:
    # `clare task add` reads the task states at every start: that must not load the areas.
    code = "import sys, clare.domain.states; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())  # fmt: skip
    assert not {f"clare.domain.{m.__name__.rsplit('.', 1)[1]}" for m in registry.AREAS} & loaded


def test_every_command_has_one_decider() -> None:
    from clare.domain.commands import COMMANDS

    assert set(registry.DECIDERS) == set(COMMANDS)
    for op, (command_type, _fn) in registry.DECIDERS.items():
        assert COMMANDS[op] is command_type
