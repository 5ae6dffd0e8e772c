"""One real bundle: dependencies for Lambda's platform, and every entry point imports from it
alone (no site-packages), as on AWS Lambda's Python runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bakusoku.deploy.bundle import MAX_UNZIPPED_BYTES, bundle_size, write_bundle
from bakusoku.deploy.sam import handlers

pytestmark = pytest.mark.integration


def test_bundle_imports_every_handler_without_site_packages(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "code", runtime="python3.11")
    assert (bundle.path / "PIL").is_dir() and (bundle.path / "bakusoku").is_dir()
    assert bundle_size(bundle.path) < MAX_UNZIPPED_BYTES
    modules = sorted({h.rpartition(".")[0] for h in handlers().values()})
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import importlib\n"
        "for name in sys.argv[2:]: importlib.import_module(name)\n"
        "import PIL.Image, pi_heif, pydantic_core, mangum, pymysql, sqlalchemy\n"
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
