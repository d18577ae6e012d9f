"""The runnable examples in the package's docstrings and docs stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import pytrigger

ROOT = Path(__file__).resolve().parents[1]
#: modules that need the browser or the server; their examples run elsewhere
BROWSER_OR_SERVER = ("pytrigger.worker", "pytrigger.pyscript", "pytrigger.__main__")
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(pytrigger.__path__, "pytrigger.")
    if not info.name.startswith(BROWSER_OR_SERVER)
)


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_some_modules_have_examples() -> None:
    counted = sum(
        doctest.testmod(importlib.import_module(name), report=False).attempted
        for name in ("pytrigger", "pytrigger.engine", "pytrigger.stats", "pytrigger.events")
    )
    assert counted >= 10
