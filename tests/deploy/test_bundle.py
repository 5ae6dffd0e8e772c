"""The Lambda bundle and layer: built from the one lock, for Lambda's platforms, within the size
budget, and every entry point imports from the bundle alone (no site-packages), as on Lambda."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bakusoku.deploy.bundle import (
    MAX_UNZIPPED_BYTES,
    SIZE_BUDGET_BYTES,
    bundle_size,
    lambda_requirements,
    locked_requirements,
    platforms,
    write_bundle,
    write_layer,
)
from bakusoku.deploy.sam import handlers


def _pins() -> dict[str, str]:
    return {
        canonicalize_name(pin.split("==")[0]): pin.split("==")[1] for pin in locked_requirements()
    }


def test_the_lock_pins_every_lambda_requirement_within_its_bounds() -> None:
    pins = _pins()
    for text in lambda_requirements():
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{text} is not in the lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (text, pins[name])
    assert "cryptography" in pins  # PyMySQL's caching_sha2_password (MySQL 8.4)


def test_platforms_are_manylinux_2_28_and_older_for_each_architecture() -> None:
    assert platforms("arm64")[0] == "manylinux_2_28_aarch64"
    assert platforms("x86_64")[0] == "manylinux_2_28_x86_64"
    assert "manylinux_2_17_aarch64" in platforms("arm64")


def _wheel_tags(root: Path) -> dict[str, list[str]]:
    tags = {}
    for wheel in root.glob("*.dist-info/WHEEL"):
        lines = wheel.read_text().splitlines()
        tags[wheel.parent.name] = [line.split(": ")[1] for line in lines if line.startswith("Tag:")]
    return tags


@pytest.mark.integration
def test_default_bundle_is_arm64_pinned_and_well_under_lambdas_limit(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "code", runtime="python3.12")
    assert bundle.architecture == "arm64"
    lock = (bundle.path / "requirements.txt").read_text().split()
    assert tuple(lock) == locked_requirements()  # what `sam build` installs is the lock
    assert bundle.size_bytes == bundle_size(bundle.path) < SIZE_BUDGET_BYTES < MAX_UNZIPPED_BYTES
    print(f"arm64 bundle: {bundle.size_bytes / 2**20:.1f} MiB unzipped")
    binary = [t for tags in _wheel_tags(bundle.path).values() for t in tags if "linux" in t]
    assert binary and all(t.endswith("_aarch64") for t in binary)
    assert all(
        int(t.split("manylinux_2_")[1].split("_")[0]) <= 28 for t in binary if "manylinux_2_" in t
    )


@pytest.mark.integration
def test_layer_holds_exactly_the_locked_versions(tmp_path: Path) -> None:
    layer = write_layer(tmp_path / "layer", runtime="python3.12", architecture="x86_64")
    installed = {}
    for info in (layer / "python").glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[canonicalize_name(name)] = version
    assert installed == _pins()


@pytest.mark.integration
def test_bundle_imports_every_handler_without_site_packages(tmp_path: Path) -> None:
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"  # this interpreter's
    bundle = write_bundle(tmp_path / "code", runtime=runtime, architecture="x86_64")
    assert (bundle.path / "PIL").is_dir() and (bundle.path / "bakusoku").is_dir()
    modules = sorted({h.rpartition(".")[0] for h in handlers().values()})
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import importlib\n"
        "for name in sys.argv[2:]: importlib.import_module(name)\n"
        "import PIL.Image, pi_heif, pydantic_core, mangum, pymysql, sqlalchemy\n"
        # what PyMySQL's caching_sha2_password needs to send a password without TLS
        "from cryptography.hazmat.primitives.asymmetric import padding, rsa\n"
        "rsa.generate_private_key(public_exponent=65537, key_size=2048)\n"
        "print('ok')"
    )
    # -I -S: no user site, no site-packages; only the standard library and the bundle.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(bundle.path), *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
