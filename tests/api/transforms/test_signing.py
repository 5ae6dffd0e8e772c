"""Transform URL signatures and the signing key (the key file test uses a temporary directory)."""

import dataclasses
from pathlib import Path

import pytest

from bakusoku.api.transforms.signing import (
    MIN_KEY_LENGTH,
    ensure_signing_key,
    key_path,
    sign,
    signed_path,
    verify,
)
from bakusoku.config import ConfigError, Settings

KEY = b"k" * 32
PHOTO = "0b8e4c52-6f1d-4a7e-9c3b-2d5f8a1e7b90"


def test_a_signature_verifies_for_exactly_what_was_signed() -> None:
    signature = sign(KEY, "w=400,f=auto", PHOTO)
    assert verify(KEY, signature, "w=400,f=auto", PHOTO)
    assert not verify(KEY, signature, "w=800,f=auto", PHOTO)
    assert not verify(KEY, signature, "w=400,f=auto", PHOTO.replace("0b8e", "0b8f"))
    assert not verify(b"x" * 32, signature, "w=400,f=auto", PHOTO)
    assert not verify(
        KEY, signature[:-1] + ("A" if signature[-1] != "A" else "B"), "w=400,f=auto", PHOTO
    )
    assert not verify(KEY, "", "w=400,f=auto", PHOTO)


def test_options_and_photo_cannot_trade_characters() -> None:
    # "a/b" + "c" and "a" + "b/c" must not sign alike: the photo id never holds a '/'.
    assert sign(KEY, "w=400", "x" + PHOTO) != sign(KEY, "w=400x", PHOTO)


def test_signed_path_is_url_safe() -> None:
    path = signed_path(KEY, "p=thumb", PHOTO)
    signature = path.split("/")[2]
    assert path == f"/img/{signature}/p=thumb/{PHOTO}"
    assert signature.replace("-", "").replace("_", "").isalnum() and len(signature) == 24


def test_the_setting_is_the_key_when_given(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, transform_signing_key="s" * MIN_KEY_LENGTH)
    assert ensure_signing_key(settings) == b"s" * MIN_KEY_LENGTH
    assert not key_path(settings).exists()
    with pytest.raises(ConfigError, match="too short"):
        ensure_signing_key(dataclasses.replace(settings, transform_signing_key="short"))


def test_without_the_setting_a_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = ensure_signing_key(settings)
    assert len(first) >= MIN_KEY_LENGTH
    assert ensure_signing_key(settings) == first
    assert key_path(settings).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in key_path(settings).parent.iterdir()] == [key_path(settings).name]
