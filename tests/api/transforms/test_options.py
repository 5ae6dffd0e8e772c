"""Transform URL options: grammar, presets, bounds and format negotiation (no I/O)."""

import pytest

from bakusoku.api.transforms.options import (
    DPRS,
    MAX_EDGE,
    MAX_OPTIONS_LENGTH,
    PRESETS,
    PROOF_MAX_EDGE,
    QUALITY_RANGE,
    SIZE_STEP,
    TransformOptions,
    TransformOptionsError,
    negotiate,
    parse_options,
)
from bakusoku.imaging.watermark import Watermark


def test_every_option_is_read() -> None:
    options = parse_options("w=400,h=300,fit=cover,g=face,dpr=2,f=webp,q=70")
    assert options == TransformOptions(
        width=400, height=300, fit="cover", gravity="face", dpr=2.0, format="webp", quality=70
    )


def test_defaults_contain_centred_auto_format() -> None:
    options = parse_options("w=400")
    assert (options.height, options.fit, options.gravity, options.dpr, options.format) == (
        None,
        "contain",
        "centre",
        1.0,
        "auto",
    )


def test_dpr_multiplies_the_sizes_into_output_pixels() -> None:
    transform = parse_options("w=400,h=300,dpr=1.5").to_transform("", avif=False)
    assert (transform.width, transform.height) == (600, 450)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_expands_to_its_options(name: str) -> None:
    options = parse_options(f"p={name}")
    preset = PRESETS[name]
    assert (options.width, options.height, options.fit, options.gravity) == (
        preset.width,
        preset.height,
        preset.fit,
        preset.gravity,
    )
    assert options.canonical() == preset.canonical()


def test_later_options_refine_a_preset() -> None:
    options = parse_options("p=thumb,dpr=2,f=jpeg")
    assert (options.width, options.dpr, options.format) == (PRESETS["thumb"].width, 2.0, "jpeg")


def test_a_preset_may_be_off_the_grid_but_an_explicit_size_may_not() -> None:
    print_l = PRESETS["print-l"]
    assert print_l.width is not None and print_l.width % SIZE_STEP != 0
    assert parse_options("p=print-l").width == print_l.width  # its 89:127 size is ours
    with pytest.raises(TransformOptionsError, match="multiples of"):
        parse_options(f"p=print-l,w={SIZE_STEP * 10 + 1}")


def test_canonical_spelling_is_the_same_for_the_same_meaning() -> None:
    a = parse_options("h=300,w=400,fit=contain")
    b = parse_options("w=400,h=300,g=centre,dpr=1,q=80,f=auto")
    assert a.canonical() == b.canonical()
    assert parse_options("w=400,q=70").canonical() != a.canonical()


@pytest.mark.parametrize(
    ("segment", "fault"),
    [
        ("", "1-"),
        ("w=401", "multiples of"),
        (f"w={MAX_EDGE + SIZE_STEP}", "multiples of"),
        ("w=0", "multiples of"),
        (f"w={MAX_EDGE},h={MAX_EDGE},dpr=2", "at most"),
        ("w=2000,h=2000,dpr=3", "at most"),
        (f"w=400,q={QUALITY_RANGE[1] + 1}", "quality"),
        (f"w=400,q={QUALITY_RANGE[0] - 1}", "quality"),
        ("w=400,dpr=1.7", "dpr"),
        ("w=400,dpr=nan", "dpr"),
        ("w=400,fit=stretch", "fit"),
        ("w=400,g=north", "g="),
        ("w=400,f=gif", "f="),
        ("w=400,fit=cover", "needs both"),
        ("fit=cover", "needs w, h"),
        ("w=400,w=800", "given once"),
        ("x=1", "given once"),
        ("w=400;h=3", "given once"),
        ("W=400", "given once"),
        ("w=-400", "whole number"),
        ("w=4e2", "whole number"),
        ("p=poster", "no transform preset"),
        ("w=400," + "q=80," * 40, "1-"),
    ],
)
def test_options_outside_the_bounds_are_refused(segment: str, fault: str) -> None:
    with pytest.raises(TransformOptionsError, match=fault):
        parse_options(segment[: MAX_OPTIONS_LENGTH + 50])


def test_every_allowed_dpr_on_the_largest_grid_size_that_fits_is_served() -> None:
    for dpr in DPRS:
        edge = int(MAX_EDGE / dpr) // SIZE_STEP * SIZE_STEP
        parse_options(f"w={edge},dpr={dpr:g}")


@pytest.mark.parametrize(
    ("accept", "avif", "chosen"),
    [
        ("image/avif,image/webp,image/apng,*/*;q=0.8", True, "AVIF"),
        ("image/avif,image/webp,*/*", False, "WEBP"),
        ("image/webp,*/*", True, "WEBP"),
        ("IMAGE/WEBP;q=0.9", True, "WEBP"),
        ("*/*", True, "JPEG"),
        ("", True, "JPEG"),
        # q=0 is "not acceptable" (RFC 9110 12.4.2), however it is spelled
        ("image/avif;q=0,image/webp,*/*", True, "WEBP"),
        ("image/avif; q=0.000, image/webp;Q=0.0, */*", True, "JPEG"),
        ("image/avif;level=1;q=0,*/*", True, "JPEG"),
        ("image/webp;q=0.001", True, "WEBP"),
        # a weight that is not a weight is not read as taking the format
        ("image/webp;q=high,*/*", True, "JPEG"),
        ("image/webp;q=1.5,*/*", True, "JPEG"),
    ],
)
def test_auto_format_follows_accept(accept: str, avif: bool, chosen: str) -> None:
    assert negotiate("auto", accept, avif) == chosen


def test_an_explicit_format_ignores_accept() -> None:
    assert negotiate("jpeg", "image/avif,image/webp", True) == "JPEG"
    assert parse_options("w=400,f=webp").to_transform("", avif=False).format == "WEBP"


def test_the_proof_preset_is_watermarked_and_no_option_takes_the_mark_off() -> None:
    mark = Watermark("SAMPLE", 35)
    proof = parse_options("p=proof,f=webp,q=90,fit=contain")
    assert proof.watermark and "wm=1" in proof.canonical()
    assert proof.to_transform("", avif=False, watermark=mark).watermark == mark
    assert parse_options("p=preview").to_transform("", False, mark).watermark is None
    with pytest.raises(TransformOptionsError, match="given once"):
        parse_options("p=proof,wm=0")
    with pytest.raises(TransformOptionsError, match="needs the deployment's watermark"):
        proof.to_transform("", avif=False)


def test_a_proof_stays_small_whatever_the_options() -> None:
    edge = PROOF_MAX_EDGE // SIZE_STEP * SIZE_STEP
    parse_options(f"p=proof,w={edge},h={edge}")
    with pytest.raises(TransformOptionsError, match="watermarked preview is at most"):
        parse_options(f"p=proof,w={edge + SIZE_STEP}")
    with pytest.raises(TransformOptionsError, match="watermarked preview is at most"):
        parse_options("p=proof,dpr=2")
