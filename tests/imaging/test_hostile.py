"""Bad and hostile uploads: each fails fast with its own code, in bounded memory, and the
process that handled them goes on working.

The whole path a photo takes through the pipeline (header checks of StorePhoto, then the full
rendition set of MakeRenditions) runs in a child process, so its peak memory is measured
alone; every case must end in under 2 s and the child must stay under 512 MB throughout.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bakusoku.imaging import (
    ImageTooSmallError,
    UnsupportedImageError,
    probe,
    render_photo,
    require_printable,
)
from tests.imaging.photos import (
    SVG,
    animated_gif,
    encode,
    jpeg_header_bomb,
    marked_picture,
    noisy_picture,
    png_header_bomb,
    psd_header,
)

pytestmark = pytest.mark.integration  # decodes hostile files in a child process

_CHILD = """
import json, sys, time
from pathlib import Path
from bakusoku.imaging import ImageError, probe, render_photo, require_printable

results = {}
for path in sorted(Path(sys.argv[1]).iterdir()):
    data = path.read_bytes()
    started = time.perf_counter()
    try:
        info = probe(data)  # StorePhoto: header only
        require_printable(info, 300)
        render_photo(data)  # MakeRenditions
        code = "ok"
    except ImageError as exc:
        code = exc.code
    results[path.name] = {"code": code, "seconds": time.perf_counter() - started}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking (test) process.
status = Path("/proc/self/status").read_text()
peak_mb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) / 1024
print(json.dumps({"results": results, "peak_mb": peak_mb}))
"""


def _cases() -> dict[str, tuple[bytes, str]]:
    good = encode(noisy_picture(1600, 1200), "JPEG", quality=90)
    png = encode(noisy_picture(800, 600), "PNG")
    return {
        "01-truncated.jpg": (good[: len(good) // 2], "image.corrupt"),
        "02-corrupt-data.png": (png[:100] + bytes(len(png) - 100), "image.corrupt"),
        "03-empty.jpg": (b"", "image.empty"),
        "04-text.jpg": (b"minutes of the PTA meeting\n" * 40, "image.unsupported_format"),
        "05-animated.gif": (animated_gif(), "image.unsupported_format"),
        "06-drawing.svg": (SVG, "image.unsupported_format"),
        "07-layers.psd": (psd_header(), "image.unsupported_format"),
        "08-scan.tif": (encode(marked_picture(800, 600), "TIFF"), "image.unsupported_format"),
        "09-bomb.png": (png_header_bomb(), "image.too_large"),
        "10-bomb.jpg": (jpeg_header_bomb(), "image.too_large"),
        "11-tiny.jpg": (encode(marked_picture(200, 150), "JPEG"), "image.too_small"),
        "99-good.jpg": (good, "ok"),  # last: the same process still works
    }


def test_each_bad_input_fails_fast_with_its_code_in_bounded_memory(tmp_path: Path) -> None:
    cases = _cases()
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.splitlines()[-1])
    for name, (_, code) in cases.items():
        outcome = report["results"][name]
        assert outcome["code"] == code, name
        if code != "ok":
            assert outcome["seconds"] < 2.0, (name, outcome)
    assert report["peak_mb"] < 512, report


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (animated_gif(), "GIF"),
        (SVG, "SVG"),
        (psd_header(), "Photoshop"),
        (encode(marked_picture(80, 60), "TIFF"), "TIFF"),
    ],
)
def test_unsupported_formats_are_named_in_the_message(data: bytes, words: str) -> None:
    with pytest.raises(UnsupportedImageError) as info:
        probe(data)
    assert words in info.value.message
    assert "JPEG, PNG, WebP or HEIC" in info.value.message


def test_tiff_is_accepted_when_enabled() -> None:
    data = encode(marked_picture(800, 600), "TIFF")
    assert probe(data, allow_tiff=True).format == "TIFF"
    result = render_photo(data, allow_tiff=True)
    assert (result.get("print").width, result.get("print").height) == (800, 561)


def test_bomb_messages_give_size_and_limit() -> None:
    from bakusoku.imaging import ImageTooLargeError

    for data in (png_header_bomb(), jpeg_header_bomb()):
        with pytest.raises(ImageTooLargeError) as info:
            probe(data)
        assert "limit is 100 megapixels" in info.value.message


def test_minimum_print_size_is_configurable() -> None:
    info = probe(encode(marked_picture(400, 300), "JPEG"))
    require_printable(info, 300)
    require_printable(info, 0)  # off
    with pytest.raises(ImageTooSmallError) as raised:
        require_printable(info, 600)
    assert raised.value.code == "image.too_small"
    assert "400 x 300" in raised.value.message and "600" in raised.value.message
