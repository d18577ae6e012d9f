"""The sans-IO rule (CONVENTIONS.md 1): every core module imports in a fresh
interpreter where ``js`` and ``pyodide`` cannot be imported, pulls in neither
them nor ``asyncio``, and imports none of asyncio, time, js, pyodide, socket,
urllib itself (anywhere in the module, also inside functions)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytrigger"
#: the rim: modules that may (or, as the CLI and collector, need not) stay pure
EXCLUDED = {"pytrigger.cli", "pytrigger.__main__", "pytrigger.worker", "pytrigger.pyscript"}
EXCLUDED_PACKAGES = ("pytrigger.collector",)
FORBIDDEN = {"asyncio", "time", "js", "pyodide", "socket", "urllib"}
#: forbidden even as an indirect import through the standard library
FORBIDDEN_ANYWHERE = {"asyncio", "js", "pyodide"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def core_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name in EXCLUDED or name.startswith(EXCLUDED_PACKAGES):
            continue
        names.append(name)
    return names


CORE = core_modules()


def test_the_core_is_found() -> None:
    for name in ("pytrigger", "pytrigger.engine", "pytrigger.events", "pytrigger.lifecycle",
                 "pytrigger.evaluation", "pytrigger.contexts", "pytrigger.stats",
                 "pytrigger.config", "pytrigger.signals.scroll"):  # fmt: skip
        assert name in CORE
    assert not any(name.startswith("pytrigger.collector") for name in CORE)


PROBE = """
import importlib, json, sys
sys.modules["js"] = None        # any import of js or pyodide now fails
sys.modules["pyodide"] = None
before = set(sys.modules)
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.mark.parametrize("name", CORE)
def test_imports_without_the_browser(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, name],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_ANYWHERE)
    assert bad == [], f"{name} pulls in {bad}"


def imported_names(tree: ast.AST) -> set[str]:
    """Top-level names of everything the module imports, wherever it does."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


@pytest.mark.parametrize("name", CORE)
def test_no_io_imports(name: str) -> None:
    relative = Path(*name.split("."))
    path = PACKAGE.parent / relative.with_suffix(".py")
    if not path.exists():
        path = PACKAGE.parent / relative / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert sorted(imported_names(tree) & FORBIDDEN) == []


def test_the_import_scanner_sees_every_form() -> None:
    source = (
        "import time\nfrom asyncio import sleep\nimport urllib.parse as up\n"
        "def f():\n    import socket\n    __import__('js')\n"
        "    importlib.import_module('pyodide.ffi')\n"
    )
    assert imported_names(ast.parse(source)) == FORBIDDEN
