#!/usr/bin/env python3
"""Set up, build, serve, test and benchmark pytrigger -- with the standard library only.

    python3 build.py [build]        set up, then build static/
    python3 build.py serve [ARGS]   ... then `pytrigger serve --host 127.0.0.1 --port 8000 ARGS`
    python3 build.py test [ARGS]    ... then ruff check + format --check, mypy, pytest ARGS
    python3 build.py bench          ... then benchmarks/bench_*.py, rewriting BENCHMARKS.md

Set-up, shared by every command: `.venv` (created with the python running this file;
`pip install -e '.[dev,collector]'` is skipped while a stamp holds pyproject.toml's hash),
`.venv/lock-tool` (pyodide-lock's venv, skipped while a stamp holds its pins),
`node_modules` (`npm ci` from the committed lock, skipped while a stamp holds the lock's
hash) and, for `test` only, Debian's chromium and postgresql.

This file runs with the system python3 before any venv exists, so only the standard library
is imported at module level. The static build itself runs in the venv's python as the
internal command `_static`, where brotli is importable. pyodide-lock.json is written by the
`pyodide-lock` package, which needs Python >= 3.12: set-up gives it a venv of its own,
`.venv/lock-tool` (made with a Python >= 3.12 found on the machine), where this file runs as
the internal command `_lock`. The pure parts -- the browser wheel, the lock check, the
compressed siblings -- are plain functions that tests/test_build.py imports.
docs/build.md describes what comes out.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime
import fcntl
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_BIN = VENV / "bin"
VENV_PY = VENV_BIN / "python"
NODE_MODULES = ROOT / "node_modules"
STATIC = ROOT / "static"

PIP_STAMP = VENV / ".pytrigger-pip.stamp"
NPM_STAMP = NODE_MODULES / ".pytrigger-npm.stamp"
PIP_EXTRAS = ".[dev,collector]"

# pyodide-lock.json is written by the `pyodide-lock` package. 0.2.1 is the first release that
# reads Pyodide 314's lock, and it needs Python >= 3.12 while the project runs on 3.11, so it
# gets a venv of its own, made with the first Python >= 3.12 lock_python_candidates() finds;
# build.py runs itself there as the internal command `_lock`. The `wheel` extra brings the
# packaging and pkginfo that its add_wheels_to_spec imports.
LOCK_TOOL = VENV / "lock-tool"
LOCK_TOOL_PY = LOCK_TOOL / "bin" / "python"
LOCK_TOOL_STAMP = LOCK_TOOL / ".pytrigger-lock-tool.stamp"
LOCK_TOOL_MIN_PYTHON = (3, 12)
LOCK_TOOL_REQUIREMENT = "pyodide-lock[wheel]==0.2.1"
LOCK_TOOL_CONSTRAINTS = (  # its dependencies, pinned at the versions pip resolved
    "attrs==26.1.0",
    "cattrs==26.2.1",
    "packaging==26.3",
    "pkginfo==2.0",
    "typing-extensions==4.16.0",
)

# The wheels PyScript mode needs (micropip installs the `packages` of a py-config), pinned
# by version and by the sha256 of the file PyPI serves. They are the versions Pyodide 314's
# own lock lists; Pyodide rebuilds them, so its hashes differ from PyPI's.
VENDORED_WHEELS: dict[str, tuple[str, str]] = {
    "micropip-0.11.1-py3-none-any.whl": (
        "micropip==0.11.1",
        "768de165adb8e66906039d8fec4127a57f522dfdf8e6fbff877a4616941ecfd3",
    ),
    "packaging-26.1-py3-none-any.whl": (
        "packaging==26.1",
        "5d9c0669c6285e491e0ced2eee587eaf67b670d94a19e94e3984a481aba6802f",
    ),
}
VENDORED_PYTHON_VERSION = "3.14"  # Pyodide 314's CPython

# What the runtime needs from the npm `pyodide` package: pyodide.mjs loads pyodide.asm.mjs,
# which loads the .wasm and python_stdlib.zip; pyodide.js is the same loader for classic
# scripts (19 KB). Left out: *.map, *.d.ts, console*.html, README, package.json.
PYODIDE_RUNTIME = (
    "pyodide.mjs",
    "pyodide.js",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
)
UPLOT_FILES = ("uPlot.iife.min.js", "uPlot.min.css")

# Parts of the package the browser never loads (paths relative to the package).
BROWSER_EXCLUDED_FILES = frozenset({"cli.py", "__main__.py"})
BROWSER_EXCLUDED_DIRS = frozenset({"collector"})

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: reproducible wheels

COMPRESSIBLE_SUFFIXES = frozenset(
    {".js", ".mjs", ".wasm", ".json", ".html", ".css", ".svg", ".txt", ".zip", ".whl", ".py",
     ".bin"}
)  # fmt: skip
COMPRESS_MIN_SIZE = 1024  # bytes; smaller files gain nothing worth a second request path
COMPRESS_MIN_SAVING = 0.05  # keep a sibling only if it is at least 5% smaller
GZIP_LEVEL = 9
BROTLI_QUALITY = 11
# Part of the compression cache's key: change it when the scheme above changes.
COMPRESS_SCHEME = f"gz{GZIP_LEVEL}-br{BROTLI_QUALITY}-{COMPRESS_MIN_SIZE}-{COMPRESS_MIN_SAVING}"

APT_PACKAGES = ("chromium", "postgresql")
CHROMIUM = Path("/usr/bin/chromium")


class BuildError(Exception):
    """A build step failed in a way the user can act on; the message says how."""


# --------------------------------------------------------------------------- output, processes


def step(name: str) -> None:
    print(f"==> {name}", flush=True)


def info(message: str) -> None:
    print(f"    {message}", flush=True)


def warn(message: str) -> None:
    print(f"    warning: {message}", file=sys.stderr, flush=True)


def run(cmd: Sequence[str | Path], **kwargs: Any) -> int:
    """Run a command in the repo root, echoing it; return its exit code."""
    args = [str(c) for c in cmd]
    print(f"    $ {shlex.join(args)}", flush=True)
    return subprocess.run(args, cwd=kwargs.pop("cwd", ROOT), check=False, **kwargs).returncode


def run_or_fail(cmd: Sequence[str | Path], **kwargs: Any) -> None:
    code = run(cmd, **kwargs)
    if code != 0:
        raise BuildError(f"command failed with exit code {code}: {shlex.join(map(str, cmd))}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp_matches(stamp: Path, expected: str) -> bool:
    try:
        return stamp.read_text() == expected
    except OSError:
        return False


# --------------------------------------------------------------------------- set-up


def ensure_venv() -> None:
    """Create .venv and install the project into it, unless the stamp says it is current."""
    if VENV_PY.exists() and subprocess.run([VENV_PY, "-c", ""], check=False).returncode != 0:
        warn(".venv is broken (its python does not run): recreating it")
        shutil.rmtree(VENV)
    if not VENV_PY.exists():
        step(f"create .venv with {sys.executable} (Python {platform.python_version()})")
        run_or_fail([sys.executable, "-m", "venv", VENV])
    expected = f"{sha256_hex((ROOT / 'pyproject.toml').read_bytes())} {PIP_EXTRAS}\n"
    if _stamp_matches(PIP_STAMP, expected):
        return
    step(f"pip install -e '{PIP_EXTRAS}'")
    run_or_fail(
        [
            VENV_PY,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--progress-bar",
            "off",
            "--editable",
            PIP_EXTRAS,
        ]
    )
    PIP_STAMP.write_text(expected)


def ensure_node_modules() -> None:
    """`npm ci` from the committed lock, unless the stamp says node_modules matches it."""
    expected = f"{sha256_hex((ROOT / 'package-lock.json').read_bytes())}\n"
    if _stamp_matches(NPM_STAMP, expected):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is missing: install Node.js 20+ and npm "
            "(on Debian: sudo apt-get install -y nodejs npm)"
        )
    step("npm ci")
    run_or_fail([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=warn"])
    NPM_STAMP.write_text(expected)


def missing_system_packages() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append("chromium")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        missing.append("postgresql")
    return missing


def ensure_system_packages() -> None:
    """Debian's chromium and postgresql, which the end-to-end tests drive."""
    missing = missing_system_packages()
    if not missing:
        return
    step(f"install system packages: {' '.join(APT_PACKAGES)}")
    if os.geteuid() != 0:
        raise BuildError(
            f"missing {', '.join(missing)}; install them with:\n"
            f"    sudo apt-get install -y {' '.join(APT_PACKAGES)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run_or_fail(["apt-get", "update"], env=env, stdin=subprocess.DEVNULL)
    run_or_fail(["apt-get", "install", "-y", *APT_PACKAGES], env=env, stdin=subprocess.DEVNULL)
    if still := missing_system_packages():
        raise BuildError(f"apt-get installed the packages but {', '.join(still)} is still missing")


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def lock_python_candidates() -> list[Path]:
    """Where a Python >= 3.12 for the lock tool may be, in the order they are tried:
    python3.13 and python3.12 on PATH, pyenv's installs (newest first), Debian's
    /usr/bin/python3.1x (newest first), and last the python running this file."""
    found = [Path(p) for p in map(shutil.which, ("python3.13", "python3.12")) if p]
    pyenv_roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    for root in dict.fromkeys(r for r in pyenv_roots if r):
        try:
            installs = list(Path(root, "versions").glob("3.1[2-9]*"))
        except OSError:  # an unreadable /root as another user
            continue
        installs.sort(key=lambda p: _version_key(p.name), reverse=True)
        found += [p / "bin" / "python3" for p in installs if (p / "bin" / "python3").is_file()]
    found += sorted(
        Path("/usr/bin").glob("python3.1[2-9]"), key=lambda p: _version_key(p.name), reverse=True
    )
    found.append(Path(sys.executable))
    return list(dict.fromkeys(found))


def python_version(python: Path) -> tuple[int, ...] | None:
    """The version of `python` if it runs and can make a venv (Debian's python3.x needs
    python3.x-venv for that); None otherwise, say for a pyenv shim of a version not selected."""
    probe = "import sys, venv, ensurepip; print(*sys.version_info[:3])"
    try:
        done = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        return tuple(int(part) for part in done.stdout.split()) if done.returncode == 0 else None
    except ValueError:
        return None


def find_lock_python(candidates: Iterable[Path] | None = None) -> tuple[Path, tuple[int, ...]]:
    """The first candidate (lock_python_candidates by default) that is a Python >= 3.12."""
    tried = []
    for python in lock_python_candidates() if candidates is None else candidates:
        version = python_version(python)
        if version is not None and version >= LOCK_TOOL_MIN_PYTHON:
            return python, version
        found = ".".join(map(str, version)) if version else "does not run, or has no venv"
        tried.append(f"{python} ({found})")
    raise BuildError(
        "writing pyodide-lock.json needs Python >= 3.12 (for the pyodide-lock package), "
        "with venv and ensurepip, and none was found. Tried:\n    "
        + "\n    ".join(tried or ["nothing"])
        + "\nInstall one with pyenv (Debian 12 packages no python3.12), then run the build again:"
        "\n    pyenv install 3.12"
        "\n(pyenv: https://github.com/pyenv/pyenv#installation; the version need not be "
        "selected: build.py looks in $PYENV_ROOT/versions/). On Debian 13 or later: "
        "sudo apt-get install -y python3.13-venv"
    )


def lock_tool_stamp() -> str:
    return " ".join((LOCK_TOOL_REQUIREMENT, *LOCK_TOOL_CONSTRAINTS)) + "\n"


def ensure_lock_tool() -> Path:
    """Create .venv/lock-tool with pyodide-lock in it, unless the stamp says it is current;
    return its python."""
    expected = lock_tool_stamp()
    if LOCK_TOOL_PY.exists() and subprocess.run([LOCK_TOOL_PY, "-c", ""], check=False).returncode:
        warn(f"{LOCK_TOOL} is broken (its python does not run): recreating it")
    elif LOCK_TOOL_PY.exists() and _stamp_matches(LOCK_TOOL_STAMP, expected):
        return LOCK_TOOL_PY
    python, version = find_lock_python()
    step(
        f"create {LOCK_TOOL.relative_to(ROOT)} with {python} (Python {'.'.join(map(str, version))})"
        f" and pip install {LOCK_TOOL_REQUIREMENT}"
    )
    shutil.rmtree(LOCK_TOOL, ignore_errors=True)
    run_or_fail([python, "-m", "venv", LOCK_TOOL])
    constraints = LOCK_TOOL / "constraints.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in LOCK_TOOL_CONSTRAINTS))
    run_or_fail(
        [
            LOCK_TOOL_PY,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--progress-bar",
            "off",
            "--constraint",
            constraints,
            LOCK_TOOL_REQUIREMENT,
        ]
    )
    LOCK_TOOL_STAMP.write_text(expected)
    return LOCK_TOOL_PY


def set_up(*, system_packages: bool = False) -> None:
    ensure_venv()
    ensure_lock_tool()
    ensure_node_modules()
    if system_packages:
        ensure_system_packages()


# --------------------------------------------------------------------------- the browser wheel


@dataclass(frozen=True, slots=True)
class ProjectMeta:
    name: str
    version: str
    summary: str
    requires_python: str
    license: str


def read_project_meta(pyproject: Path) -> ProjectMeta:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return ProjectMeta(
        name=project["name"],
        version=project["version"],
        summary=project.get("description", ""),
        requires_python=project.get("requires-python", ""),
        license=project.get("license", ""),
    )


def is_junk(relpath: str) -> bool:
    """Files no build output takes: bytecode, dotfiles, editor backups, source maps."""
    parts = relpath.split("/")
    if "__pycache__" in parts or any(p.startswith(".") for p in parts):
        return True
    return relpath.endswith((".pyc", ".pyo", "~", ".map"))


def is_browser_file(relpath: str) -> bool:
    """Whether a file of the package (path relative to the package) belongs in the browser wheel.

    >>> [is_browser_file(p) for p in ("engine.py", "cli.py", "collector/app.py", "py.typed")]
    [True, False, False, True]
    """
    if relpath in BROWSER_EXCLUDED_FILES or relpath.split("/")[0] in BROWSER_EXCLUDED_DIRS:
        return False
    return not is_junk(relpath)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def _zip_write(zf: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
    entry.create_system = 3  # unix, whatever builds it
    entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
    entry.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(entry, data, compresslevel=9)


def wheel_file_name(meta: ProjectMeta) -> str:
    return f"{re.sub(r'[-_.]+', '_', meta.name).lower()}-{meta.version}-py3-none-any.whl"


def build_browser_wheel(
    package_dir: Path,
    meta: ProjectMeta,
    compile_pyc: Callable[[dict[str, bytes]], dict[str, bytes]] | None = None,
) -> tuple[str, bytes]:
    """The wheel Pyodide loads: the package minus its server and command-line parts.

    Returns (file name, bytes). The same sources give the same bytes: entries are sorted,
    dated 1980-01-01 and get fixed permissions. `compile_pyc` (the package's files → the
    `__pycache__` files to add) puts byte-code beside the sources.
    """
    top = package_dir.name
    files: dict[str, bytes] = {}
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir).as_posix()
        if path.is_file() and is_browser_file(rel):
            files[f"{top}/{rel}"] = path.read_bytes()
    if f"{top}/__init__.py" not in files:
        raise BuildError(f"{package_dir} is not a package (no __init__.py)")
    if compile_pyc is not None:
        files.update(compile_pyc(files))
        files = dict(sorted(files.items()))

    dist_info = f"{re.sub(r'[-_.]+', '_', meta.name)}-{meta.version}.dist-info"
    metadata = [
        "Metadata-Version: 2.4",
        f"Name: {meta.name}",
        f"Version: {meta.version}",
    ]
    if meta.summary:
        metadata.append(f"Summary: {meta.summary}")
    if meta.license:
        metadata.append(f"License-Expression: {meta.license}")
    if meta.requires_python:
        metadata.append(f"Requires-Python: {meta.requires_python}")
    files[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\n"
        b"Generator: pytrigger build.py\n"
        b"Root-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )

    record_name = f"{dist_info}/RECORD"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in files.items():
        writer.writerow((name, _record_hash(data), len(data)))
    writer.writerow((record_name, "", ""))
    files[record_name] = record.getvalue().encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        # package files sorted, then the dist-info with RECORD last, as installers expect
        for name, data in files.items():
            _zip_write(zf, name, data)
    return wheel_file_name(meta), buffer.getvalue()


# --------------------------------------------------------------------------- pyodide-lock.json


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def write_lock(source: Path, wheel_dir: Path, output: Path) -> None:
    """Write the bundle's lock with the `pyodide-lock` package (the `_lock` command).

    Runs in the lock tool's venv (Python >= 3.12, see ensure_lock_tool). The entries of
    `source` -- Pyodide's own lock, none of whose wheels we ship -- are dropped first, so the
    dependencies of the wheels added are checked against what the folder holds; then every
    wheel of `wheel_dir` is added with `add_wheels_to_spec`, which reads name, version,
    imports and dependencies (markers evaluated for Pyodide's platform) from the wheel and
    hashes the file. `info` and the top-level `tool` are kept as they are.
    """
    try:
        from pyodide_lock import PyodideLockSpec  # type: ignore[import-not-found,unused-ignore]
        from pyodide_lock.utils import (  # type: ignore[import-not-found,unused-ignore]
            add_wheels_to_spec,
        )
    except ImportError as error:
        raise BuildError(
            f"`_lock` needs the pyodide-lock package ({error}): it runs in {LOCK_TOOL_PY}"
        ) from error
    wheels = sorted(wheel_dir.glob("*.whl"))
    if not wheels:
        raise BuildError(f"{wheel_dir} holds no wheels to lock")
    spec = PyodideLockSpec.from_json(source)
    spec.packages = {}  # the bundle ships none of Pyodide's wheels: it lists ours only
    try:
        spec = add_wheels_to_spec(spec, wheels, base_path=wheel_dir)
        spec.check_wheel_filenames()
    except (RuntimeError, ValueError) as error:  # a dependency not shipped, a bad wheel name
        raise BuildError(f"pyodide-lock refused the wheels: {error}") from error
    spec.to_json(output, indent=1)


def pyodide_lock_json(
    source: Path, wheels: Mapping[str, bytes], lock_python: Path = LOCK_TOOL_PY
) -> bytes:
    """The lock of a folder holding `wheels` ({file name: bytes}), from Pyodide's `source`.

    Writes the wheels to a temporary folder and runs `build.py _lock` there with the lock
    tool's python (`lock_python`); checks the result with check_lock before returning it.
    """
    if not lock_python.exists():
        raise BuildError(
            f"{lock_python} does not exist: `python3 build.py` sets up the lock tool first"
        )
    with tempfile.TemporaryDirectory(prefix="pytrigger-lock-") as tmp:
        folder = Path(tmp) / "pyodide"
        folder.mkdir()
        for name, data in wheels.items():
            (folder / name).write_bytes(data)
        output = Path(tmp) / "pyodide-lock.json"
        script = Path(__file__).resolve()
        cmd: list[str | Path] = [lock_python, script, "_lock", source, folder, output]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BuildError(
                f"writing pyodide-lock.json failed ({shlex.join(map(str, cmd))}):\n"
                + (done.stderr or done.stdout).strip()
            )
        data = output.read_bytes()
    check_lock(json.loads(data), wheels)
    return data


def check_lock(lock: Mapping[str, Any], wheels: Mapping[str, bytes]) -> None:
    """Fail unless `lock` lists exactly `wheels`, each as Pyodide must find it: by its plain
    file name (in the lock's folder), with its sha256, into site-packages, and with every
    dependency one of them."""
    packages: Mapping[str, Any] = lock["packages"]
    by_file = {entry["file_name"]: key for key, entry in packages.items()}
    if sorted(by_file) != sorted(wheels) or len(by_file) != len(packages):
        raise BuildError(f"the lock lists {sorted(by_file)}, the folder holds {sorted(wheels)}")
    for key, entry in packages.items():
        problems = []
        if key != canonical_name(entry["name"]):
            problems.append(f"its key is not its canonical name {entry['name']!r}")
        if entry["sha256"] != sha256_hex(wheels[entry["file_name"]]):
            problems.append("its sha256 is not the wheel's")
        if (entry["install_dir"], entry["package_type"]) != ("site", "package"):
            problems.append("it is not a package installed to site-packages")
        if missing := [dep for dep in entry["depends"] if dep not in packages]:
            problems.append(f"it depends on {', '.join(missing)}, which the bundle lacks")
        if problems:
            raise BuildError(f"pyodide-lock.json entry {key!r}: {'; '.join(problems)}")


# --------------------------------------------------------------------------- compression


def compressed_siblings(data: bytes, brotli_compress: Callable[[bytes], bytes]) -> dict[str, bytes]:
    """The `.gz` and `.br` versions of a file worth serving instead of it ({suffix: bytes}).

    A sibling is kept only when it is at least COMPRESS_MIN_SAVING smaller. gzip has mtime 0
    and no file name, so the bytes depend on the content only.
    """
    if len(data) <= COMPRESS_MIN_SIZE:
        return {}
    limit = len(data) * (1 - COMPRESS_MIN_SAVING)
    candidates = {
        ".gz": gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0),
        ".br": brotli_compress(data),
    }
    return {suffix: out for suffix, out in candidates.items() if len(out) <= limit}


def is_compressible(relpath: str, size: int) -> bool:
    return size > COMPRESS_MIN_SIZE and Path(relpath).suffix in COMPRESSIBLE_SUFFIXES


class CompressionCache:
    """Compressed siblings by content hash under build/compress/<scheme>/.

    Brotli at quality 11 takes half a minute on pyodide.asm.wasm: a re-run only pays for
    files whose content changed. Entries not used by a build are pruned after it.
    """

    def __init__(self, directory: Path, brotli_compress: Callable[[bytes], bytes]) -> None:
        self.directory = directory
        self.brotli_compress = brotli_compress
        self.used: set[str] = set()
        self.computed = 0
        self._lock = threading.Lock()  # siblings() runs in a thread pool

    def siblings(self, data: bytes) -> dict[str, bytes]:
        key = sha256_hex(data)
        with self._lock:
            self.used.add(key)
        marker = self.directory / f"{key}.done"
        if marker.exists():
            return {
                suffix: (self.directory / f"{key}{suffix}").read_bytes()
                for suffix in marker.read_text().split()
            }
        result = compressed_siblings(data, self.brotli_compress)
        self.directory.mkdir(parents=True, exist_ok=True)
        for suffix, out in result.items():
            _write_atomic(self.directory / f"{key}{suffix}", out)
        _write_atomic(marker, " ".join(sorted(result)).encode())
        with self._lock:
            self.computed += 1
        return result

    def prune(self) -> None:
        for path in self.directory.glob("[!.]*"):
            if path.name.split(".", 1)[0] not in self.used:
                path.unlink()


# --------------------------------------------------------------------------- static/


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _tree(source: Path, dest: str) -> dict[str, bytes]:
    """Files under `source` keyed by their path under `dest`, without junk (see is_junk)."""
    files = {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        if path.is_file() and not is_junk(rel):
            files[f"{dest}/{rel}"] = path.read_bytes()
    return files


def _npm_version(node_modules: Path, package: str) -> str:
    return str(json.loads((node_modules / package / "package.json").read_text())["version"])


def vendored_wheels(directory: Path) -> dict[str, bytes]:
    """micropip and packaging from PyPI, downloaded once into `directory`, hashes checked."""
    missing = [f for f in VENDORED_WHEELS if not (directory / f).exists()]
    if missing:
        step("download vendored wheels: " + ", ".join(missing))
        run_or_fail(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-input",
                "--only-binary=:all:",
                "--python-version",
                VENDORED_PYTHON_VERSION,
                "--no-deps",
                "-d",
                directory,
                *(VENDORED_WHEELS[f][0] for f in missing),
            ]
        )
    wheels = {}
    for file_name, (requirement, expected) in VENDORED_WHEELS.items():
        data = (directory / file_name).read_bytes()
        if sha256_hex(data) != expected:
            (directory / file_name).unlink()
            raise BuildError(f"{file_name} ({requirement}) does not have the pinned sha256")
        wheels[file_name] = data
    return wheels


def node_binary() -> str:
    """Node.js, which the build runs terser and Pyodide (pycs, the snapshot) with."""
    node = shutil.which("node")
    if node is None:
        raise BuildError("node is missing (on Debian: sudo apt-get install -y nodejs npm)")
    return node


#: terser's settings for the shim and the worker (a change here re-minifies: it is in the key)
TERSER_ARGS = ("--compress", "passes=2", "--mangle", "--comments", "/^!/", "--ecma", "2020")


def minify_js(root: Path, name: str, data: bytes, module: bool) -> tuple[bytes, bytes]:
    """`web/<name>` minified by terser (from node_modules), and its source map.

    The map points at `<stem>.src.js`, the readable source shipped beside it. Cached
    under build/minify/ by the source's and the settings' hash: a rebuild is instant."""
    terser = root / "node_modules" / "terser" / "bin" / "terser"
    if not terser.is_file():
        raise BuildError(
            f"cannot minify web/{name}: node_modules/terser is missing: run `python3 build.py "
            "build` (npm ci)"
        )
    node = node_binary()
    stem = name.removesuffix(".js")
    args = (*TERSER_ARGS, *(("--module",) if module else ()))
    terser_version = _npm_version(root / "node_modules", "terser")
    key = sha256_hex(data + repr(args).encode() + terser_version.encode())
    cache = root / "build" / "minify" / key
    if (cache / name).is_file() and (cache / f"{name}.map").is_file():
        return (cache / name).read_bytes(), (cache / f"{name}.map").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"{stem}.src.js"
        source.write_bytes(data)
        out = Path(tmp) / name
        code = run(
            [
                node,
                terser,
                source,
                *args,
                "--output",
                out,
                "--source-map",
                f"url='{name}.map',includeSources",
            ],
            cwd=tmp,
        )
        if code != 0 or not out.is_file():
            raise BuildError(f"terser could not minify web/{name} (exit code {code})")
        minified, source_map = out.read_bytes(), (Path(tmp) / f"{name}.map").read_bytes()
    cache.mkdir(parents=True, exist_ok=True)
    _write_atomic(cache / f"{name}.map", source_map)
    _write_atomic(cache / name, minified)
    return minified, source_map


#: worker.js's placeholder that build.py fills with the snapshot it may restore
SNAPSHOT_PLACEHOLDER = b"const SNAPSHOT = null; // build.py writes {file, sha256, size} here"


def pyodide_pycs(root: Path, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """`__pycache__/*.cpython-314.pyc` for the wheel's .py files, by web/compile-pyc.mjs.

    Pyodide's own CPython writes them (unchecked-hash pycs), so the browser imports
    pytrigger without compiling it. Cached under build/pyc/ by the sources' hash."""
    script = root / "web" / "compile-pyc.mjs"
    pyodide_dir = root / "node_modules" / "pyodide"
    sources = {name: data for name, data in files.items() if name.endswith(".py")}
    digest = hashlib.sha256(script.read_bytes())
    digest.update(_npm_version(root / "node_modules", "pyodide").encode())
    for name, data in sorted(sources.items()):
        digest.update(name.encode() + b"\0" + sha256_hex(data).encode())
    cache = root / "build" / "pyc" / digest.hexdigest()[:32]
    if not cache.is_dir():
        node = node_binary()
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in sources.items():
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / name).write_bytes(data)
            code = run([node, script, pyodide_dir, tmp], cwd=tmp)
            if code != 0:
                raise BuildError(f"web/compile-pyc.mjs failed (exit code {code})")
            staged = cache.with_name(cache.name + ".tmp")
            shutil.rmtree(staged, ignore_errors=True)
            for pyc in Path(tmp).rglob("*.pyc"):
                target = staged / pyc.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(pyc.read_bytes())
        for old in cache.parent.iterdir():
            if old != staged:
                shutil.rmtree(old, ignore_errors=True)
        staged.rename(cache)
    out = {p.relative_to(cache).as_posix(): p.read_bytes() for p in sorted(cache.rglob("*.pyc"))}
    if len(out) < len(sources):
        raise BuildError(f"web/compile-pyc.mjs wrote {len(out)} pycs for {len(sources)} files")
    return out


def pyodide_snapshot(root: Path, wheel: bytes) -> bytes:
    """A memory snapshot of a freshly started Pyodide with pytrigger (`wheel`) imported,
    made by web/make-snapshot.mjs in Node.

    Not reproducible byte for byte (CPython's start seeds from the clock), so it is cached
    under build/snapshot/ by the hash of what it is made from: the same runtime, script and
    wheel give the same file, and browsers keep their cached copy across rebuilds."""
    script = root / "web" / "make-snapshot.mjs"
    pyodide_dir = root / "node_modules" / "pyodide"
    digest = hashlib.sha256(script.read_bytes())
    for name in PYODIDE_RUNTIME:
        digest.update((pyodide_dir / name).read_bytes())
    digest.update(wheel)
    cache = root / "build" / "snapshot" / f"{digest.hexdigest()[:32]}.bin"
    if cache.is_file():
        return cache.read_bytes()
    node = node_binary()
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "snapshot.bin"
        wheel_file = Path(tmp) / "pytrigger.whl"
        wheel_file.write_bytes(wheel)
        code = run([node, script, pyodide_dir, out, wheel_file], cwd=tmp)
        if code != 0 or not out.is_file():
            raise BuildError(f"web/make-snapshot.mjs failed (exit code {code})")
        data = out.read_bytes()
    for old in cache.parent.glob("*.bin"):
        old.unlink()
    _write_atomic(cache, data)
    return data


def static_files(root: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every file of static/ but the compressed siblings, and BUILD.json's content."""
    web = root / "web"
    node_modules = root / "node_modules"
    files: dict[str, bytes] = {}
    # the shim and the worker are served minified, with their readable source
    # (<name>.src.js) and a source map beside them
    pyodide_src = node_modules / "pyodide"
    for name in PYODIDE_RUNTIME:
        files[f"pytrigger/pyodide/{name}"] = (pyodide_src / name).read_bytes()
    meta = read_project_meta(root / "pyproject.toml")
    compile_pyc = None
    if (web / "compile-pyc.mjs").is_file():
        compile_pyc = lambda files: pyodide_pycs(root, files)  # noqa: E731
    wheel_name, wheel = build_browser_wheel(root / "pytrigger", meta, compile_pyc)
    wheels = {wheel_name: wheel, **vendored_wheels(root / "build" / "wheels")}
    for name, data in wheels.items():
        files[f"pytrigger/pyodide/{name}"] = data
    lock_json = pyodide_lock_json(pyodide_src / "pyodide-lock.json", wheels)
    files["pytrigger/pyodide/pyodide-lock.json"] = lock_json
    lock = json.loads(lock_json)

    snapshot = pyodide_snapshot(root, wheel) if (web / "make-snapshot.mjs").is_file() else None
    snapshot_info: dict[str, Any] | None = None
    if snapshot is not None:
        sha = sha256_hex(snapshot)
        snapshot_info = {"file": f"snapshot-{sha[:16]}.bin", "sha256": sha, "size": len(snapshot)}
        files[f"pytrigger/pyodide/{snapshot_info['file']}"] = snapshot
    for name, module in (("pytrigger.js", False), ("worker.js", True)):
        if (web / name).is_file():
            data = (web / name).read_bytes()
            if name == "worker.js" and snapshot_info is not None:
                if SNAPSHOT_PLACEHOLDER not in data:
                    line = SNAPSHOT_PLACEHOLDER.decode()
                    raise BuildError(f"web/worker.js lacks the line {line!r}")
                data = data.replace(
                    SNAPSHOT_PLACEHOLDER,
                    b"const SNAPSHOT = " + json.dumps(snapshot_info).encode() + b"; // by build.py",
                )
            minified, source_map = minify_js(root, name, data, module)
            stem = name.removesuffix(".js")
            files[f"pytrigger/{name}"] = minified
            files[f"pytrigger/{name}.map"] = source_map
            files[f"pytrigger/{stem}.src.js"] = data
        else:
            warn(f"web/{name} does not exist yet: the bundle has no {name}")

    files.update(_tree(node_modules / "@pyscript" / "core" / "dist", "pyscript"))
    if (web / "demo").is_dir():
        files.update(_tree(web / "demo", "demo"))
    if (web / "dashboard").is_dir():
        files.update(_tree(web / "dashboard", "dashboard"))
    for name in UPLOT_FILES:
        files[f"dashboard/{name}"] = (node_modules / "uplot" / "dist" / name).read_bytes()

    build_info = {
        "pytrigger": meta.version,
        "wheel": {"file": wheel_name, "sha256": sha256_hex(wheel), "size": len(wheel)},
        "vendored_wheels": {
            name: sha256_hex(data) for name, data in sorted(wheels.items()) if name != wheel_name
        },
        "pyodide": _npm_version(node_modules, "pyodide"),
        "pyodide_abi": lock["info"].get("abi_version"),
        "pyodide_python": lock["info"].get("python"),
        "pyscript": _npm_version(node_modules, "@pyscript/core"),
        "uplot": _npm_version(node_modules, "uplot"),
        "compression": COMPRESS_SCHEME,
        "snapshot": snapshot_info,
    }
    return files, build_info


def sync_tree(directory: Path, files: Mapping[str, bytes]) -> tuple[int, int]:
    """Make `directory` hold exactly `files`; return (files written, files removed).

    Unchanged files are left alone (their mtime too, so HTTP caches keep validating).
    """
    written = removed = 0
    for rel, data in files.items():
        path = directory / rel
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            continue
        _write_atomic(path, data)
        written += 1
    if directory.exists():
        for path in sorted(directory.rglob("*"), reverse=True):
            rel = path.relative_to(directory).as_posix()
            if path.is_file() and rel not in files:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return written, removed


def build_static(root: Path = ROOT) -> dict[str, Any]:
    """Build `root`/static/ (runs in the venv's python, where brotli is importable)."""
    import brotli  # type: ignore[import-untyped,unused-ignore]

    def brotli_compress(data: bytes) -> bytes:
        return bytes(brotli.compress(data, quality=BROTLI_QUALITY))

    started = time.monotonic()
    files, build_info = static_files(root)
    cache = CompressionCache(root / "build" / "compress" / COMPRESS_SCHEME, brotli_compress)
    todo = [rel for rel, data in files.items() if is_compressible(rel, len(data))]
    todo.sort(key=lambda rel: -len(files[rel]))  # the wasm first, the small files beside it
    # brotli and zlib release the GIL: threads use every core
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = pool.map(lambda rel: (rel, cache.siblings(files[rel])), todo)
        siblings = {f"{rel}{suffix}": out for rel, s in results for suffix, out in s.items()}
    cache.prune()
    files.update(siblings)
    files["BUILD.json"] = (json.dumps(build_info, indent=2, sort_keys=True) + "\n").encode()
    written, removed = sync_tree(root / "static", files)
    info(
        f"static/: {len(files)} files ({len(siblings)} compressed siblings, "
        f"{cache.computed} compressed now), {written} written, {removed} removed, "
        f"wheel {build_info['wheel']['file']} sha256 {build_info['wheel']['sha256'][:12]}…, "
        f"{time.monotonic() - started:.1f} s"
    )
    return build_info


def build() -> None:
    step("build static/")
    run_or_fail([VENV_PY, Path(__file__).resolve(), "_static"])


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold build/.lock: two build.py runs in one tree (say a test run beside a serve) take
    turns at set-up and build instead of racing on .venv, node_modules and static/."""
    path = ROOT / "build" / ".lock"
    path.parent.mkdir(exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info("another build.py is setting up or building in this tree: waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # the lock goes with the file (also across exec: Python's files close on exec)


def prepare(*, system_packages: bool = False) -> None:
    """Set up, then build static/: what every command does first."""
    with exclusive():
        set_up(system_packages=system_packages)
        build()


# --------------------------------------------------------------------------- commands


def cmd_build(args: Sequence[str]) -> int:
    if args:
        raise BuildError(f"`build` takes no arguments (got {shlex.join(args)})")
    prepare()
    return 0


def cmd_serve(args: Sequence[str]) -> NoReturn:
    prepare()
    cmd = [str(VENV_PY), "-m", "pytrigger", "serve", "--host", "127.0.0.1", "--port", "8000", *args]
    step("serve (http://127.0.0.1:8000 unless --host/--port say otherwise)")
    print(f"    $ {shlex.join(cmd)}", flush=True)
    os.chdir(ROOT)
    os.execv(cmd[0], cmd)


def cmd_test(args: Sequence[str]) -> int:
    prepare(system_packages=True)
    # a fresh clone has no empty folders: lint those that exist
    lint = [p for p in ("pytrigger", "tests", "benchmarks", "build.py") if (ROOT / p).exists()]
    checks: list[tuple[str, list[str | Path]]] = [
        ("ruff", [VENV_BIN / "ruff", "check", *lint]),
        ("ruff format", [VENV_BIN / "ruff", "format", "--check", *lint]),
        ("mypy", [VENV_BIN / "mypy", "pytrigger", "build.py"]),
        ("pytest", [VENV_PY, "-m", "pytest", *args]),
    ]
    failed = []
    for name, cmd in checks:
        step(name)
        started = time.monotonic()
        code = run(cmd, stdin=subprocess.DEVNULL)
        if name == "pytest" and code == 5:
            print("    pytest collected no tests: that counts as a failure", flush=True)
        info(f"{name}: exit {code} ({time.monotonic() - started:.1f} s)")
        if code != 0:
            failed.append(name)
    step("summary: " + (f"FAILED: {', '.join(failed)}" if failed else "all checks passed"))
    return 1 if failed else 0


def machine_header() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = next(
        (int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0
    )
    python = subprocess.run(
        [VENV_PY, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    rows = [
        ("date (UTC)", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")),
        ("CPU", cpu),
        ("cores (nproc)", str(len(os.sched_getaffinity(0)))),
        ("memory", f"{mem_kb / 2**20:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", python),
        ("Node", node.stdout.strip() or "not found"),
        ("Pyodide", _npm_version(NODE_MODULES, "pyodide")),
    ]
    if CHROMIUM.exists():
        version = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        rows.append(("Chromium", version))
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    return (
        "# Benchmarks\n\n"
        "Written by `python3 build.py bench`; do not edit by hand. Each section names the\n"
        "command that produced it.\n\n"
        f"| machine | |\n|---|---|\n{table}\n"
    )


#: before each benchmark, wait (at most SETTLE_MAX_S) for the machine's 1-minute load
#: average to fall under SETTLE_LOAD_PER_CORE per core: the benchmark before it leaves
#: processes winding down (Chromium's, a database's), which spread the next one's latencies
SETTLE_MAX_S = 120.0
SETTLE_LOAD_PER_CORE = 0.25
SETTLE_POLL_S = 2.0


def settle(
    load: Callable[[], float] = lambda: os.getloadavg()[0],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    cores: int | None = None,
) -> tuple[float, float]:
    """Wait until the 1-minute load average is under SETTLE_LOAD_PER_CORE per core, or
    SETTLE_MAX_S have passed; (seconds waited, the load average then)."""
    limit = SETTLE_LOAD_PER_CORE * (cores or os.cpu_count() or 1)
    started = clock()
    while True:
        now, waited = load(), clock() - started
        if now < limit or waited >= SETTLE_MAX_S:
            return waited, now
        sleep(SETTLE_POLL_S)


def cmd_bench(args: Sequence[str]) -> int:
    if args:
        raise BuildError(f"`bench` takes no arguments (got {shlex.join(args)})")
    prepare()
    sections = [machine_header()]
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if not scripts:
        info("no benchmarks/bench_*.py yet: BENCHMARKS.md gets the header only")
    failed = []
    for script in scripts:
        rel = script.relative_to(ROOT).as_posix()
        step(f"bench {rel}")
        waited, load = settle()
        settled = (
            f" (after waiting {waited:.0f} s for the load average to fall: {load:.2f})"
            if waited >= 1
            else ""
        )
        info(f"load average {load:.2f}{settled}")
        started = time.monotonic()
        cmd = [".venv/bin/python", rel]
        done = subprocess.run(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False, stdin=subprocess.DEVNULL
        )
        seconds = time.monotonic() - started
        info(f"exit {done.returncode} ({seconds:.1f} s)")
        if done.returncode != 0:
            failed.append(rel)
            continue
        sections.append(
            f"{done.stdout.strip()}\n\n_Produced by `{shlex.join(cmd)}` in {seconds:.1f} s"
            f"{settled}._\n"
        )
    if failed:
        step(f"FAILED: {', '.join(failed)}; BENCHMARKS.md left as it was")
        return 1
    (ROOT / "BENCHMARKS.md").write_text("\n".join(sections))
    step(f"wrote BENCHMARKS.md ({len(scripts)} benchmark(s))")
    return 0


def cmd_static(args: Sequence[str]) -> int:
    """Internal: the static build, run by the venv's python."""
    build_static()
    return 0


def cmd_lock(args: Sequence[str]) -> int:
    """Internal: write a lock with the pyodide-lock package, run by the lock tool's python."""
    if len(args) != 3:
        raise BuildError("usage: build.py _lock SOURCE_LOCK WHEEL_DIR OUTPUT")
    if sys.version_info < LOCK_TOOL_MIN_PYTHON:
        raise BuildError(f"`_lock` needs Python >= 3.12: it runs in {LOCK_TOOL_PY}")
    source, wheel_dir, output = map(Path, args)
    write_lock(source, wheel_dir, output)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "build": cmd_build,
    "serve": cmd_serve,
    "test": cmd_test,
    "bench": cmd_bench,
    "_static": cmd_static,
    "_lock": cmd_lock,
}


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, args = (argv[0], argv[1:]) if argv else ("build", [])
    if command not in COMMANDS:
        print(
            f"unknown command {command!r}; expected one of: build, serve, test, bench",
            file=sys.stderr,
        )
        return 2
    try:
        return COMMANDS[command](args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
