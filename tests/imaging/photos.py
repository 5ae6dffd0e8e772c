"""Test photos generated with Pillow: real encoded files, no binary fixtures in the repository."""

import io
from typing import Any

from PIL import Image, ImageDraw

RED = (220, 20, 20)
BLUE = (20, 40, 220)
GREY = (128, 128, 128)

# What a viewer does for each EXIF orientation is undone here, so stored pixels + tag = displayed.
_UNDO: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def near(colour: object, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    """Whether an RGB pixel (as ``getpixel`` returns it) is within ``tolerance`` of ``expected``."""
    assert isinstance(colour, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=False))


def encode(im: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def marked_picture(width: int, height: int) -> Image.Image:
    """Grey picture as it should be displayed: red block top-left, blue block top-right."""
    im = Image.new("RGB", (width, height), GREY)
    draw = ImageDraw.Draw(im)
    block_w, block_h = width // 5, height // 5
    draw.rectangle((0, 0, block_w, block_h), fill=RED)
    draw.rectangle((width - block_w - 1, 0, width - 1, block_h), fill=BLUE)
    return im


def undo_orientation(displayed: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for ``displayed`` when it tags them with ``orientation``."""
    undo = _UNDO[orientation]
    return displayed.transpose(undo) if undo is not None else displayed


def stored_with_orientation(displayed: Image.Image, orientation: int, **params: Any) -> bytes:
    """JPEG bytes whose pixels, once the EXIF orientation is applied, show ``displayed``."""
    stored = undo_orientation(displayed, orientation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes(), **params)


def camera_jpeg(size: tuple[int, int] = (1200, 900), gps: bool = True) -> bytes:
    """A JPEG with the EXIF a camera writes: make, model, capture time, offset, GPS, XMP."""
    exif = Image.Exif()
    exif[0x010F] = "Canon\x00"
    exif[0x0110] = "Canon EOS R6"
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2024:05:03 10:15:30"
    exif_ifd[0x9011] = "+09:00"
    exif_ifd[0x9291] = "12"
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (35.0, 40.0, 12.5)
        gps_ifd[3] = "E"
        gps_ifd[4] = (139.0, 45.0, 30.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    return encode(marked_picture(*size), "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp)


def noisy_picture(width: int, height: int) -> Image.Image:
    """A photo-like picture (detail everywhere) so encoders and decoders do realistic work."""
    base = Image.effect_noise((width // 8, height // 8), 64).convert("RGB")
    detail = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(base.resize((width, height), Image.Resampling.BICUBIC), detail, 0.35)


def face_like(size: int) -> Image.Image:
    """A drawn face (hair, skin, eyes, brows, nose, mouth) that face detectors take for a face."""
    from PIL import ImageFilter

    width, height = size, int(size * 1.3)
    im = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.ellipse((0, 0, width, height * 0.75), fill=(60, 40, 25))
    draw.ellipse((width * 0.08, height * 0.12, width * 0.92, height * 0.98), fill=(224, 180, 150))
    eye_y = height * 0.45
    for cx in (width * 0.32, width * 0.68):
        draw.ellipse(
            (cx - width * 0.11, eye_y - height * 0.035, cx + width * 0.11, eye_y + height * 0.035),
            fill=(245, 245, 245),
        )
        draw.ellipse(
            (
                cx - width * 0.045,
                eye_y - height * 0.035,
                cx + width * 0.045,
                eye_y + height * 0.035,
            ),
            fill=(50, 30, 20),
        )
        draw.line(
            (cx - width * 0.12, eye_y - height * 0.09, cx + width * 0.12, eye_y - height * 0.1),
            fill=(70, 45, 30),
            width=max(1, int(width * 0.03)),
        )
    draw.polygon(
        [(width * 0.5, height * 0.5), (width * 0.43, height * 0.66), (width * 0.57, height * 0.66)],
        fill=(200, 150, 120),
    )
    draw.ellipse((width * 0.33, height * 0.74, width * 0.67, height * 0.82), fill=(170, 70, 70))
    return im.filter(ImageFilter.GaussianBlur(max(1, size / 60)))


def scene_with_face(
    size: tuple[int, int], face_at: tuple[int, int], face_size: int
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A green field with one face pasted at ``face_at``; returns the picture and the face's box."""
    scene = Image.new("RGB", size, (90, 130, 90))
    face = face_like(face_size)
    scene.paste(face, face_at, face.convert("L").point(lambda v: 255 if v > 5 else 0))
    left, top = face_at
    return scene, (left, top, left + face.width, top + face.height)


def png_header_bomb(width: int = 65_500, height: int = 65_500) -> bytes:
    """A small, valid-looking PNG whose header declares ``width`` x ``height`` RGB pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # A few rows' worth of zeros: a decoder that trusted the header would allocate ~12 GB first.
    idat = zlib.compress(b"\x00" * (1 + 3 * 1024) * 16, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_header_bomb(width: int = 65_500, height: int = 65_500) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to declare ``width`` x ``height``."""
    import struct

    data = bytearray(encode(Image.new("RGB", (64, 64), GREY), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (120, 80), colour) for colour in (RED, BLUE, GREY)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
    b'width="4000" height="3000"><rect width="100%" height="100%" fill="red"/></svg>\n'
)


def psd_header() -> bytes:
    """The first bytes of a Photoshop document (signature, version 1, 3 channels, 3000x4000)."""
    import struct

    return b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 3000, 4000, 8, 3) + b"\x00" * 64


def blocky_picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Flat colour blocks ~256 px across, quick to make and tiny as PNG at any size (a 100 MP one
    is ~400 KB); in RGBA the alpha runs from clear to opaque, so flattening has work everywhere."""
    blocks = [Image.effect_noise((width // 256 + 1, height // 256 + 1), 80) for _ in "RGB"]
    im = Image.merge("RGB", blocks).resize((width, height), Image.Resampling.NEAREST)
    if mode != "RGBA":
        return im.convert(mode)
    im.putalpha(Image.linear_gradient("L").resize((width, height), Image.Resampling.NEAREST))
    return im
