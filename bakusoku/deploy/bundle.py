"""The code bundle of a stack and its Lambda layer: bakusoku's sources plus pinned dependencies.

Every dependency is pinned by one lock, ``bakusoku/deploy/lambda.lock`` (``name==version``, the
whole closure), resolved for Lambda's Python on Amazon Linux 2023 for both architectures
(``manylinux_2_28`` wheels, arm64 and x86_64 alike) by :func:`resolve_lock`. The bundle copies the
lock as its ``requirements.txt``, so ``sam build`` installs exactly those versions, and both the
bundle and the layer (:func:`write_layer`) install the lock with pip, wheels only, for the
function's platform and CPython, ``--no-deps`` (the lock is the closure). Installs are cached per
lock, platform and runtime, so packaging every service and stage costs one pip run. Lambda allows
250 MiB unzipped for a function with its layers; the bundle must stay under ``SIZE_BUDGET_BYTES``.

The functions a configuration declares have their handlers in the project's own code: for each
handler module outside ``bakusoku``, the bundle takes the whole top-level package (or the single
module) Python imports it from, found as ``bakusoku package`` itself would import it (the current
directory and ``PYTHONPATH``). Its dependencies must be in the lock like bakusoku's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import bakusoku
from bakusoku.deploy.errors import PackageError

ARCHITECTURES = ("arm64", "x86_64")  # Lambda's names; arm64 (Graviton) is the default
DEFAULT_ARCHITECTURE = "arm64"
_MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
# Wheels for glibc 2.28 and older run on Amazon Linux 2023 (glibc 2.34). This pip does not widen
# a manylinux_2_28 platform to the older tags by itself, so every tag is named.
GLIBC_MINORS = range(28, 16, -1)
LOCK_FILE = "lambda.lock"
LOCK_RUNTIME = "python3.12"  # the runtime the lock is resolved for (the templates' runtime)
# Lambda's limit on a function's unzipped code with its layers, and the budget kept under it.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
SIZE_BUDGET_BYTES = 150 * 1024 * 1024
# Not needed on Lambda: the local server and the command line's progress bars.
_LOCAL_ONLY = {"uvicorn", "tqdm"}
# Needed on Lambda only: the HTTP API adapter, AWS clients, pure-Python database drivers, and
# cryptography, which PyMySQL needs for MySQL 8.4's caching_sha2_password over TLS or RSA.
LAMBDA_EXTRA = (
    "mangum>=0.17",
    "boto3>=1.35",
    "pymysql>=1.1",
    "psycopg[binary]>=3.2",
    "cryptography>=42",
)
_NOT_CODE = shutil.ignore_patterns("__pycache__", "*.pyc")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


@dataclass(frozen=True)
class Bundle:
    path: Path
    requirements: tuple[str, ...]  # the lock's pins, as written to requirements.txt
    dependencies_installed: bool
    architecture: str
    size_bytes: int  # unzipped, as Lambda counts it


def lambda_requirements() -> tuple[str, ...]:
    """bakusoku's runtime requirements, less the local-only ones, plus the Lambda-only ones."""
    found = []
    for requirement in metadata.requires("bakusoku") or []:
        if "extra ==" in requirement:
            continue
        name = requirement.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip()
        if name.lower() not in _LOCAL_ONLY:
            found.append(requirement.split(";")[0].strip())
    return (*found, *LAMBDA_EXTRA)


def platforms(architecture: str) -> list[str]:
    """pip's ``--platform`` tags of Lambda's ``architecture`` on Amazon Linux 2023."""
    if architecture not in _MACHINE:
        raise PackageError(
            f"architecture {architecture!r} is not one of Lambda's: use {' or '.join(ARCHITECTURES)}"
        )
    machine = _MACHINE[architecture]
    return [f"manylinux_2_{m}_{machine}" for m in GLIBC_MINORS] + [f"manylinux2014_{machine}"]


def locked_requirements() -> tuple[str, ...]:
    """The lock's pins (``name==version``), as shipped in the package."""
    text = (resources.files("bakusoku.deploy") / LOCK_FILE).read_text()
    return parse_lock(text)


def parse_lock(text: str) -> tuple[str, ...]:
    """The pins of a lock's text; PackageError names a line that is not ``name==version``."""
    pins = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not _PIN.match(line):
            raise PackageError(f"{LOCK_FILE} line {number} {raw!r} is not name==version")
        pins.append(line)
    return tuple(pins)


def _pip_platform_options(architecture: str, runtime: str) -> list[str]:
    options = []
    for tag in platforms(architecture):
        options += ["--platform", tag]
    return [
        *options,
        "--implementation",
        "cp",
        "--python-version",
        _python_version(runtime),
        "--only-binary=:all:",
    ]


def resolve_lock(architecture: str, runtime: str = LOCK_RUNTIME) -> tuple[str, ...]:
    """Resolve :func:`lambda_requirements` for ``architecture`` with pip (registry access)."""
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            "--target",
            str(Path(work) / "target"),
            *_pip_platform_options(architecture, runtime),
            *lambda_requirements(),
        ]
        _run_pip(command, f"resolve the Lambda requirements for {architecture} ({runtime})")
        installs = json.loads(report.read_text())["install"]
    pins = {f"{i['metadata']['name'].lower()}=={i['metadata']['version']}" for i in installs}
    return tuple(sorted(pins))


def lock_text(pins: tuple[str, ...]) -> str:
    header = (
        "# Every dependency of the Lambda bundle and layer, pinned: the closure of\n"
        "# bakusoku.deploy.bundle.lambda_requirements() for CPython 3.12 on Amazon Linux 2023,\n"
        "# manylinux_2_28 wheels, the same for arm64 and x86_64. Regenerate with scripts/lock-lambda.\n"
    )
    return header + "\n".join(pins) + "\n"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakusoku" / "lambda-deps"


def write_bundle(
    dest: Path,
    *,
    runtime: str,
    architecture: str = DEFAULT_ARCHITECTURE,
    install_dependencies: bool = True,
    cache_dir: Path | None = None,
    handler_modules: Sequence[str] = (),
) -> Bundle:
    """Write the bundle to ``dest`` (replaced if present) and return what it holds.

    ``handler_modules``: every function's handler module; those outside bakusoku are bundled too.
    """
    pins = locked_requirements()
    if dest.exists():
        shutil.rmtree(dest)
    source = Path(bakusoku.__file__).parent
    shutil.copytree(source, dest / "bakusoku", ignore=_NOT_CODE)
    for top, path in project_sources(handler_modules).items():
        if path.is_dir():
            shutil.copytree(path, dest / top, ignore=_NOT_CODE)
        else:
            shutil.copy2(path, dest / path.name)
    (dest / "requirements.txt").write_text("\n".join(pins) + "\n")  # what `sam build` installs
    if install_dependencies:
        deps = _dependencies(pins, architecture, runtime, cache_dir or default_cache_dir())
        shutil.copytree(deps, dest, dirs_exist_ok=True, copy_function=_link_or_copy)
    size = check_size(dest)
    return Bundle(dest, pins, install_dependencies, architecture, size)


def project_sources(modules: Sequence[str]) -> dict[str, Path]:
    """The top-level package directory (or module file) of each module outside bakusoku."""
    found: dict[str, Path] = {}
    for module in modules:
        top = module.split(".")[0]
        if top == "bakusoku" or top in found:
            continue
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is None or (spec.origin is None and not spec.submodule_search_locations):
            raise PackageError(
                f"the handler module {module!r} cannot be found: run bakusoku package from "
                "your project's directory or put the project on PYTHONPATH (docs/functions.md)"
            )
        if spec.submodule_search_locations:
            found[top] = Path(next(iter(spec.submodule_search_locations)))
        else:
            assert spec.origin is not None
            found[top] = Path(spec.origin)
    return found


def write_layer(
    dest: Path,
    *,
    runtime: str,
    architecture: str = DEFAULT_ARCHITECTURE,
    cache_dir: Path | None = None,
) -> Path:
    """A Lambda layer of the locked dependencies in ``dest/python`` (zip ``dest`` to publish it)."""
    if dest.exists():
        shutil.rmtree(dest)
    deps = _dependencies(
        locked_requirements(), architecture, runtime, cache_dir or default_cache_dir()
    )
    shutil.copytree(deps, dest / "python", copy_function=_link_or_copy)
    check_size(dest)
    return dest


def check_size(path: Path) -> int:
    """The unzipped size of ``path``; PackageError when it is over ``SIZE_BUDGET_BYTES``."""
    size = bundle_size(path)
    if size > SIZE_BUDGET_BYTES:
        raise PackageError(
            f"{path} is {size // (1024 * 1024)} MiB unzipped, over the "
            f"{SIZE_BUDGET_BYTES // (1024 * 1024)} MiB budget kept under Lambda's 250 MiB; "
            "drop a dependency from the lock or move it to a layer"
        )
    return size


def bundle_size(path: Path) -> int:
    """Bytes of every file under ``path``, as Lambda counts the unzipped code."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _python_version(runtime: str) -> str:
    if not runtime.startswith("python3."):
        raise PackageError(f"runtime {runtime!r} is not a Python runtime of AWS Lambda")
    return runtime.removeprefix("python")


def _run_pip(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackageError(
            f"pip could not {what}:\n{result.stderr.strip()[-2000:]}\nrun `{' '.join(command)}` "
            "to see why, or package with --no-dependencies and attach them as a Lambda layer"
        )


def _dependencies(pins: tuple[str, ...], architecture: str, runtime: str, cache_dir: Path) -> Path:
    options = _pip_platform_options(architecture, runtime)
    key = hashlib.sha256("\n".join((*options, *pins)).encode()).hexdigest()[:16]
    target = cache_dir / key
    if (target / ".complete").is_file():
        return target
    staging = cache_dir / f"{key}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",  # the lock is the whole closure
        "--no-compile",  # bytecode of this machine's Python would be dead weight on Lambda's
        *options,
        "--target",
        str(staging),
        *pins,
    ]
    try:
        _run_pip(command, f"install the locked Lambda dependencies for {architecture} ({runtime})")
    except PackageError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts of this machine
    (staging / ".complete").write_text(key)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _link_or_copy(src: str, dst: str) -> str:
    if os.path.basename(src) == ".complete":
        return dst
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
