"""build.py's pure parts -- the browser wheel, the lock (written by the pyodide-lock package in
build.py's lock tool venv), compression -- and the bundle it writes to static/ (checked when a
build has run, as `python3 build.py test` does first).
"""

from __future__ import annotations

import base64
import csv
import doctest
import email.parser
import functools
import gzip
import hashlib
import http.server
import importlib.util
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
BUNDLE = STATIC / "pytrigger" / "pyodide"
CHROMIUM = Path("/usr/bin/chromium")


def _load_build_module() -> ModuleType:
    # registered under a name of its own: `build` is also a PyPI package's name
    spec = importlib.util.spec_from_file_location("pytrigger_build_script", ROOT / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load_build_module()

META = build.ProjectMeta(
    name="pytrigger",
    version="1.2.3",
    summary="test package",
    requires_python=">=3.11",
    license="MIT",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def brotli_module() -> Any:
    return pytest.importorskip("brotli")


def make_package(root: Path) -> Path:
    """A small stand-in for pytrigger/, with every kind of file the wheel must leave out."""
    files = {
        "__init__.py": '"""the package"""\n',
        "engine.py": "ENGINE = 1\n",
        "py.typed": "",
        "signals/__init__.py": "",
        "signals/scroll.py": "SCROLL = 1\n",
        "cli.py": "raise SystemExit('the CLI must not be in the browser wheel')\n",
        "__main__.py": "raise SystemExit\n",
        "collector/__init__.py": "",
        "collector/app.py": "raise SystemExit('the collector must not be in the wheel')\n",
        "collector/report.schema.json": "{}\n",
        "__pycache__/engine.cpython-311.pyc": "junk",
        "signals/__pycache__/scroll.cpython-311.pyc": "junk",
        ".engine.py.swp": "junk",
    }
    package = root / "pytrigger"
    for rel, text in files.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


# --------------------------------------------------------------------------- the browser wheel


def test_wheel_holds_the_browser_package_only(tmp_path: Path) -> None:
    name, data = build.build_browser_wheel(make_package(tmp_path), META)
    assert name == "pytrigger-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert names == [
        "pytrigger/__init__.py",
        "pytrigger/engine.py",
        "pytrigger/py.typed",
        "pytrigger/signals/__init__.py",
        "pytrigger/signals/scroll.py",
        "pytrigger-1.2.3.dist-info/METADATA",
        "pytrigger-1.2.3.dist-info/WHEEL",
        "pytrigger-1.2.3.dist-info/RECORD",
    ]


def test_wheel_metadata_and_tags(tmp_path: Path) -> None:
    _, data = build.build_browser_wheel(make_package(tmp_path), META)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        metadata = email.parser.Parser().parsestr(
            zf.read("pytrigger-1.2.3.dist-info/METADATA").decode()
        )
        wheel = email.parser.Parser().parsestr(zf.read("pytrigger-1.2.3.dist-info/WHEEL").decode())
    assert metadata["Name"] == "pytrigger"
    assert metadata["Version"] == "1.2.3"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("Requires-Dist") is None  # the browser side is stdlib only
    assert wheel["Wheel-Version"] == "1.0"
    assert wheel["Root-Is-Purelib"] == "true"
    assert wheel.get_all("Tag") == ["py3-none-any"]


def test_wheel_record_lists_every_file_with_its_hash(tmp_path: Path) -> None:
    _, data = build.build_browser_wheel(make_package(tmp_path), META)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        record_name = "pytrigger-1.2.3.dist-info/RECORD"
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode())))
        assert sorted(row[0] for row in rows) == sorted(zf.namelist())
        for path, digest, size in rows:
            if path == record_name:
                assert (digest, size) == ("", "")
                continue
            content = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}", path
            assert int(size) == len(content), path


def test_wheel_bytes_are_reproducible(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    _, first = build.build_browser_wheel(package, META)
    for path in package.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # a checkout at another moment
    (package / "new_junk.pyc").write_bytes(b"junk")
    _, second = build.build_browser_wheel(package, META)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert {entry.date_time for entry in zf.infolist()} == {build.ZIP_EPOCH}
        assert {entry.external_attr >> 16 for entry in zf.infolist()} == {0o100644}


def test_wheel_changes_when_a_source_changes(tmp_path: Path) -> None:
    package = make_package(tmp_path)
    _, first = build.build_browser_wheel(package, META)
    (package / "engine.py").write_text("ENGINE = 2\n")
    _, second = build.build_browser_wheel(package, META)
    assert first != second


def test_wheel_needs_a_package(tmp_path: Path) -> None:
    (tmp_path / "pytrigger").mkdir()
    with pytest.raises(build.BuildError, match=r"no __init__\.py"):
        build.build_browser_wheel(tmp_path / "pytrigger", META)


def test_real_wheel_imports_without_the_server_parts(tmp_path: Path) -> None:
    """The package the browser gets is self-contained: `import pytrigger` works from the
    wheel alone, on a python without site-packages (so not through the editable install)."""
    meta = build.read_project_meta(ROOT / "pyproject.toml")
    name, data = build.build_browser_wheel(ROOT / "pytrigger", meta)
    assert name == f"pytrigger-{meta.version}-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path)
    assert "pytrigger/py.typed" in names
    assert not [n for n in names if n.startswith("pytrigger/collector/")]
    assert "pytrigger/cli.py" not in names
    assert "pytrigger/__main__.py" not in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import pytrigger; "
        "assert pytrigger.__file__.startswith(sys.argv[1]), pytrigger.__file__; "
        "print(sorted(m for m in sys.modules if m.startswith('pytrigger')))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pytrigger.collector" not in done.stdout
    assert "pytrigger.cli" not in done.stdout


def test_is_browser_file_doctest() -> None:
    failures, tried = doctest.testmod(build)
    assert tried > 0
    assert failures == 0


# --------------------------------------------------------------------------- pyodide-lock.json


def test_lock_tool_finder_finds_a_python_of_at_least_3_12() -> None:
    """This machine has one (pyenv's 3.12 and 3.13, also on CI), though python3 is 3.11."""
    python, version = build.find_lock_python()
    assert version >= (3, 12)
    done = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert tuple(int(part) for part in done.stdout.split()) == version


def test_lock_tool_finder_skips_shims_and_old_pythons(tmp_path: Path) -> None:
    def script(name: str, body: str) -> Path:
        path = tmp_path / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
        return path

    # what `python3.12` on PATH is here: a pyenv shim of a version that is not selected
    shim = script("python3.12", "echo 'pyenv: python3.12: command not found' >&2; exit 127")
    old = script("python3.11", "echo 3 11 9")
    real, version = build.find_lock_python()
    assert build.find_lock_python([shim, old, tmp_path / "gone", real]) == (real, version)
    with pytest.raises(
        build.BuildError, match=r"(?s)python3\.11 \(3\.11\.9\).*pyenv install 3\.12"
    ):
        build.find_lock_python([shim, old])


@pytest.fixture(scope="module")
def lock_python() -> Path:
    """The lock tool's python: .venv/lock-tool, as the build sets it up (created if missing)."""
    return Path(build.ensure_lock_tool())


def pyodide_like_lock() -> dict[str, Any]:
    def entry(name: str, file_name: str) -> dict[str, Any]:
        return {
            "name": name,
            "version": "1.0",
            "file_name": file_name,
            "install_dir": "site",
            "sha256": "0" * 64,
            "package_type": "package",
            "imports": [name],
            "depends": [],
            "unvendored_tests": False,
            "tool": {},
        }

    return {
        "info": {
            "abi_version": "2026_0",
            "arch": "wasm32",
            "platform": "emscripten_5_0_3",
            "python": "3.14.2",
        },
        "packages": {
            "numpy": entry("numpy", "numpy-2.0-cp314-cp314-pyodide_2026_0_wasm32.whl"),
            "six": entry("six", "six-1.0-py2.py3-none-any.whl"),
            "pytrigger": entry("pytrigger", "pytrigger-0.0.1-py3-none-any.whl"),
        },
        "tool": {"example": {"kept": True}},
    }


def source_lock(tmp_path: Path) -> Path:
    path = tmp_path / "source-lock.json"
    path.write_text(json.dumps(pyodide_like_lock()))
    return path


def make_wheel(
    name: str, files: dict[str, str], requires: tuple[str, ...] = (), tag: str = "py3-none-any"
) -> tuple[str, bytes]:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{name}-1.0.dist-info/METADATA", "\n".join(lines) + "\n")
        zf.writestr(f"{name}-1.0.dist-info/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
    return f"{name}-1.0-{tag}.whl", buffer.getvalue()


def test_lock_lists_our_wheel_as_the_pyodide_lock_package_writes_it(
    tmp_path: Path, lock_python: Path
) -> None:
    file_name, wheel = build.build_browser_wheel(make_package(tmp_path), META)
    data = build.pyodide_lock_json(source_lock(tmp_path), {file_name: wheel}, lock_python)
    lock = json.loads(data)
    assert lock["info"] == pyodide_like_lock()["info"]
    assert lock["tool"] == pyodide_like_lock()["tool"]
    # Pyodide's entries are gone (their wheels are not shipped), the old pytrigger replaced
    assert lock["packages"] == {
        "pytrigger": {
            "name": "pytrigger",
            "version": "1.2.3",
            "file_name": file_name,  # beside the lock: no folder, no URL
            "install_dir": "site",
            "sha256": sha256(wheel),
            "package_type": "package",
            "imports": ["pytrigger"],
            "depends": [],
            "unvendored_tests": False,
            "tool": {},
        }
    }


def test_lock_dependencies_follow_requires_dist_for_pyodide(
    tmp_path: Path, lock_python: Path
) -> None:
    wheels = dict(
        [
            build.build_browser_wheel(make_package(tmp_path), META),
            make_wheel(
                "needy",
                {"needy/__init__.py": "", "one_module.py": ""},
                requires=(
                    "PyTrigger>=1",
                    "pytest; extra == 'test'",  # an extra: not a dependency of the bundle
                    "pywin32; sys_platform == 'win32'",  # not for Pyodide
                ),
            ),
        ]
    )
    lock = json.loads(build.pyodide_lock_json(source_lock(tmp_path), wheels, lock_python))
    assert sorted(lock["packages"]) == ["needy", "pytrigger"]
    needy = lock["packages"]["needy"]
    assert needy["depends"] == ["pytrigger"]
    assert sorted(needy["imports"]) == ["needy", "one_module"]
    assert needy["sha256"] == sha256(wheels["needy-1.0-py3-none-any.whl"])


def test_lock_refuses_a_dependency_the_bundle_does_not_ship(
    tmp_path: Path, lock_python: Path
) -> None:
    # six is in Pyodide's lock, but its wheel is not in the folder: the entries are pruned
    # before ours are added, so the dependency counts as missing
    wheels = dict([make_wheel("needy", {"needy/__init__.py": ""}, requires=("six",))])
    with pytest.raises(build.BuildError, match="six"):
        build.pyodide_lock_json(source_lock(tmp_path), wheels, lock_python)


def test_lock_refuses_a_wheel_built_for_another_platform(tmp_path: Path, lock_python: Path) -> None:
    wheels = dict([make_wheel("native", {"native/__init__.py": ""}, tag="cp312-cp312-win_amd64")])
    with pytest.raises(build.BuildError, match="native"):
        build.pyodide_lock_json(source_lock(tmp_path), wheels, lock_python)


def test_check_lock_refuses_entries_pyodide_could_not_load() -> None:
    wheels = dict([make_wheel("one", {"one/__init__.py": ""})])
    entry = {
        "name": "one",
        "version": "1.0",
        "file_name": "one-1.0-py3-none-any.whl",
        "install_dir": "site",
        "sha256": sha256(wheels["one-1.0-py3-none-any.whl"]),
        "package_type": "package",
        "imports": ["one"],
        "depends": [],
    }
    build.check_lock({"packages": {"one": entry}}, wheels)
    for change, message in (
        ({"sha256": "0" * 64}, "sha256"),
        ({"depends": ["two"]}, "two"),
        ({"install_dir": "dynlib"}, "site-packages"),
        ({"file_name": "wheels/one-1.0-py3-none-any.whl"}, "the folder holds"),
    ):
        with pytest.raises(build.BuildError, match=message):
            build.check_lock({"packages": {"one": {**entry, **change}}}, wheels)
    with pytest.raises(build.BuildError, match="the folder holds"):
        build.check_lock({"packages": {}}, wheels)


# --------------------------------------------------------------------------- compression


def test_siblings_decode_to_the_original() -> None:
    brotli = brotli_module()
    data = b"".join(b"function f%d() { return %d; }\n" % (i, i * i) for i in range(500))
    siblings = build.compressed_siblings(data, functools.partial(brotli.compress, quality=11))
    assert sorted(siblings) == [".br", ".gz"]
    assert gzip.decompress(siblings[".gz"]) == data
    assert brotli.decompress(siblings[".br"]) == data
    assert siblings[".gz"][4:8] == b"\0\0\0\0"  # mtime 0: the bytes depend on the content only
    assert build.compressed_siblings(data, functools.partial(brotli.compress, quality=11)) == (
        siblings
    )


def test_no_sibling_when_it_saves_too_little() -> None:
    brotli = brotli_module()
    incompressible = os.urandom(64 * 1024)
    assert build.compressed_siblings(incompressible, brotli.compress) == {}
    assert build.compressed_siblings(b"a" * 1024, brotli.compress) == {}  # too small to bother


def test_compression_cache_computes_each_content_once(tmp_path: Path) -> None:
    calls: list[int] = []

    def fake_brotli(data: bytes) -> bytes:
        calls.append(len(data))
        return b"b"

    text, other = b"x" * 5000, b"y" * 5000
    cache = build.CompressionCache(tmp_path, fake_brotli)
    first = cache.siblings(text)
    assert cache.siblings(text) == first and calls == [5000]

    again = build.CompressionCache(tmp_path, fake_brotli)  # a later build
    assert again.siblings(text) == first and calls == [5000] and again.computed == 0
    assert gzip.decompress(first[".gz"]) == text

    later = build.CompressionCache(tmp_path, fake_brotli)
    later.siblings(other)
    later.prune()  # `text` was not used by this build: its entries go
    assert {p.name.split(".")[0] for p in tmp_path.iterdir()} == {sha256(other)}


def test_sync_tree_writes_changes_only_and_removes_stale_files(tmp_path: Path) -> None:
    target = tmp_path / "static"
    assert build.sync_tree(target, {"a/x.js": b"x", "b.txt": b"b"}) == (2, 0)
    os.utime(target / "b.txt", (1_000_000, 1_000_000))
    (target / "stale" / "old.js").parent.mkdir()
    (target / "stale" / "old.js").write_bytes(b"old")
    assert build.sync_tree(target, {"a/x.js": b"x2", "b.txt": b"b"}) == (1, 1)
    assert (target / "a" / "x.js").read_bytes() == b"x2"
    assert (target / "b.txt").stat().st_mtime == 1_000_000  # untouched
    assert not (target / "stale").exists()


# --------------------------------------------------------------------------- the built bundle

needs_build = pytest.mark.skipif(
    not (STATIC / "BUILD.json").exists(), reason="static/ is not built: run python3 build.py"
)


@needs_build
def test_bundle_lock_matches_the_files_it_ships() -> None:
    lock = json.loads((BUNDLE / "pyodide-lock.json").read_text())
    build_info = json.loads((STATIC / "BUILD.json").read_text())
    assert lock["info"]["abi_version"] == build_info["pyodide_abi"]
    npm_lock = ROOT / "node_modules" / "pyodide" / "pyodide-lock.json"
    if npm_lock.exists():
        assert lock["info"] == json.loads(npm_lock.read_text())["info"]
    wheels = sorted(p.name for p in BUNDLE.glob("*.whl"))
    assert sorted(entry["file_name"] for entry in lock["packages"].values()) == wheels
    assert sorted(lock["packages"]) == ["micropip", "packaging", "pytrigger"]
    for key, entry in lock["packages"].items():
        name, version = entry["file_name"].split("-")[:2]
        assert entry == {
            "name": key,
            "version": version,
            "file_name": f"{name}-{version}-py3-none-any.whl",
            "install_dir": "site",
            "sha256": sha256((BUNDLE / entry["file_name"]).read_bytes()),
            "package_type": "package",
            "imports": [key],
            "depends": [],
            "unvendored_tests": False,
            "tool": {},
        }
    wheel = build_info["wheel"]
    assert lock["packages"]["pytrigger"]["file_name"] == wheel["file"]
    assert sha256((BUNDLE / wheel["file"]).read_bytes()) == wheel["sha256"]


@needs_build
def test_bundle_runtime_files_and_no_source_maps() -> None:
    for name in build.PYODIDE_RUNTIME:
        assert (BUNDLE / name).is_file(), name
    # the only maps are our own: the minified shim's and worker's, beside their sources
    maps = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.map"))
    assert maps == ["pytrigger/pytrigger.js.map", "pytrigger/worker.js.map"]
    assert not list(STATIC.rglob("console*.html"))
    assert (STATIC / "pyscript" / "core.js").is_file()
    assert (STATIC / "dashboard" / "uPlot.iife.min.js").is_file()


@needs_build
def test_bundle_siblings_decode_to_their_originals() -> None:
    brotli = brotli_module()
    siblings = sorted([*STATIC.rglob("*.gz"), *STATIC.rglob("*.br")])
    assert any(p.name == "pyodide.asm.wasm.br" for p in siblings)
    for sibling in siblings:
        original = sibling.with_suffix("").read_bytes()
        decode = gzip.decompress if sibling.suffix == ".gz" else brotli.decompress
        assert decode(sibling.read_bytes()) == original, sibling
        assert sibling.stat().st_size <= 0.95 * len(original), sibling


# --------------------------------------------------------------------------- in Chromium

PAGE = b"""<!doctype html><meta charset="utf-8"><title>bundle smoke test</title>
<script>
window.boot = async (base) => {
  const { loadPyodide } = await import(base + "pyodide.mjs");
  const py = await loadPyodide({ indexURL: base });
  const errors = [];
  await py.loadPackage(["pytrigger", "micropip"], { errorCallback: (m) => errors.push(m) });
  let loaded;
  try {
    loaded = py.runPython("import pytrigger, micropip; pytrigger.__name__");
  } catch (e) {
    loaded = null;
  }
  return { loaded, errors };
};
</script>"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 -- the base class declares it this way
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bundle_server(tmp_path: Path) -> Iterator[str]:
    """Serves /good/ (the built bundle), /bad/ (the same with a wrong hash for our wheel)."""
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "good").symlink_to(BUNDLE)
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in BUNDLE.iterdir():
        if path.name != "pyodide-lock.json":
            (bad / path.name).symlink_to(path)
    lock = json.loads((BUNDLE / "pyodide-lock.json").read_text())
    lock["packages"]["pytrigger"]["sha256"] = "0" * 64
    (bad / "pyodide-lock.json").write_text(json.dumps(lock))
    handler = functools.partial(_Handler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.e2e
@needs_build
@pytest.mark.timeout(180)
def test_chromium_loads_the_wheel_and_checks_its_integrity(
    bundle_server: str, browser: Browser
) -> None:
    """Pyodide fetches our wheel with the lock's sha256 as its integrity: the real bundle
    loads; a lock whose hash does not match the wheel makes the load fail."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{bundle_server}/index.html")
        good = page.evaluate("base => boot(base)", f"{bundle_server}/good/")
        assert good == {"loaded": "pytrigger", "errors": []}
        page.goto(f"{bundle_server}/index.html")
        bad = page.evaluate("base => boot(base)", f"{bundle_server}/bad/")
        assert bad["loaded"] is None
        assert any("pytrigger" in error for error in bad["errors"]), bad
    finally:
        context.close()


@needs_build
def test_the_shim_is_minified_under_8_kib_gzipped_with_its_source_beside() -> None:
    shim = (STATIC / "pytrigger" / "pytrigger.js").read_bytes()
    source = (ROOT / "web" / "pytrigger.js").read_bytes()
    assert (STATIC / "pytrigger" / "pytrigger.src.js").read_bytes() == source
    assert len(gzip.compress(shim, 9)) <= 8 * 1024
    assert shim.endswith(b"//# sourceMappingURL=pytrigger.js.map")
    source_map = json.loads((STATIC / "pytrigger" / "pytrigger.js.map").read_text())
    assert source_map["sourcesContent"] == [source.decode()]


@needs_build
def test_the_browser_wheel_carries_byte_code_for_each_module() -> None:
    (wheel,) = BUNDLE.glob("pytrigger-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    modules = {n for n in names if n.endswith(".py")}
    assert modules
    for name in modules:
        folder, _, file = name.rpartition("/")
        assert f"{folder}/__pycache__/{file[:-3]}.cpython-314.pyc" in names, name


def test_bench_waits_for_the_load_average_to_fall() -> None:
    """Before each benchmark, `bench` waits until the 1-minute load average is under a
    quarter per core (polling every 2 s), and says how long it waited."""
    loads = iter([1.9, 1.2, 0.7, 0.4, 0.1])
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    waited, load = build.settle(lambda: next(loads), lambda: now[0], sleep, cores=2)
    assert (waited, load) == (6.0, 0.4)  # 0.4 < 0.5 (2 cores at 0.25 each)
    assert slept == [2.0, 2.0, 2.0]


def test_bench_waits_at_most_two_minutes_on_a_busy_machine() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    waited, load = build.settle(lambda: 3.0, lambda: now[0], sleep, cores=2)
    assert (waited, load) == (build.SETTLE_MAX_S, 3.0)


def test_bench_does_not_wait_on_a_quiet_machine() -> None:
    def sleep(seconds: float) -> None:
        raise AssertionError("slept on a quiet machine")

    assert build.settle(lambda: 0.2, lambda: 5.0, sleep, cores=2) == (0.0, 0.2)
