"""The code bundle of a stack: bakusoku's sources plus its dependencies built for AWS Lambda.

Dependencies are installed with pip for Lambda's platform (``manylinux2014_x86_64``, CPython of the
function runtime, wheels only), so Pillow, pi-heif and pydantic-core import on Lambda whatever machine
packages them. They are installed once per requirement set into a cache folder and copied from there,
so packaging every service and stage costs one pip run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import bakusoku
from bakusoku.deploy.errors import PackageError

PLATFORM = "manylinux2014_x86_64"
# Lambda's limit on a function's unzipped code (with its layers), in bytes.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# Not needed on Lambda: the local server and the command line's progress bars.
_LOCAL_ONLY = {"uvicorn", "tqdm"}
# Needed on Lambda only: the HTTP API adapter, AWS clients, pure-Python database drivers.
LAMBDA_EXTRA = ("mangum>=0.17", "boto3>=1.35", "pymysql>=1.1", "psycopg[binary]>=3.2")


@dataclass(frozen=True)
class Bundle:
    path: Path
    requirements: tuple[str, ...]
    dependencies_installed: bool


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


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakusoku" / "lambda-deps"


def write_bundle(
    dest: Path, *, runtime: str, install_dependencies: bool = True, cache_dir: Path | None = None
) -> Bundle:
    """Write the bundle to ``dest`` (replaced if present) and return what it holds."""
    requirements = lambda_requirements()
    if dest.exists():
        shutil.rmtree(dest)
    source = Path(bakusoku.__file__).parent
    shutil.copytree(
        source, dest / "bakusoku", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    (dest / "requirements.txt").write_text("\n".join(requirements) + "\n")
    if install_dependencies:
        deps = _dependencies(requirements, runtime, cache_dir or default_cache_dir())
        shutil.copytree(deps, dest, dirs_exist_ok=True, copy_function=_link_or_copy)
    size = bundle_size(dest)
    if size > MAX_UNZIPPED_BYTES:
        raise PackageError(
            f"the bundle in {dest} is {size // (1024 * 1024)} MiB unzipped, over Lambda's 250 MiB; "
            "package with --no-dependencies and attach the dependencies as a layer"
        )
    return Bundle(dest, requirements, install_dependencies)


def bundle_size(path: Path) -> int:
    """Bytes of every file under ``path``, as Lambda counts the unzipped code."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _python_version(runtime: str) -> str:
    if not runtime.startswith("python3."):
        raise PackageError(f"runtime {runtime!r} is not a Python runtime of AWS Lambda")
    return runtime.removeprefix("python")


def _dependencies(requirements: tuple[str, ...], runtime: str, cache_dir: Path) -> Path:
    key = hashlib.sha256("\n".join((PLATFORM, runtime, *requirements)).encode()).hexdigest()[:16]
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
        "--platform",
        PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        _python_version(runtime),
        "--only-binary=:all:",
        "--target",
        str(staging),
        *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackageError(
            f"pip could not install the Lambda dependencies for {PLATFORM} ({runtime}):\n"
            f"{result.stderr.strip()[-2000:]}\nrun `{' '.join(command)}` to see why, or package "
            "with --no-dependencies and attach them as a Lambda layer"
        )
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
