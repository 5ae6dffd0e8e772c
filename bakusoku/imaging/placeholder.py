"""ThumbHash placeholders: ~25 bytes that a page can paint as a blurred preview before loading."""

import base64
import math

from PIL import Image

# ThumbHash keeps at most 7 luminance frequencies per axis; 32 px samples them without aliasing
# and keeps this pure-Python DCT to a few milliseconds.
_SAMPLE_EDGE = 32


def placeholder(image: Image.Image) -> str:
    """Return the base64 ThumbHash of an opaque image (any size; it is shrunk first)."""
    scale = _SAMPLE_EDGE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.convert("RGB").resize(size, Image.Resampling.BOX)
    return base64.b64encode(rgb_to_thumbhash(small.width, small.height, small.tobytes())).decode()


def rgb_to_thumbhash(width: int, height: int, rgb: bytes) -> bytes:
    """Encode opaque RGB pixels (at most 100x100) as ThumbHash bytes (the reference algorithm)."""
    if not (0 < width <= 100 and 0 < height <= 100):
        raise ValueError(f"{width}x{height} does not fit ThumbHash's 100x100 input")
    count = width * height
    lum, p_chan, q_chan = [0.0] * count, [0.0] * count, [0.0] * count
    for i in range(count):
        r, g, b = rgb[3 * i] / 255, rgb[3 * i + 1] / 255, rgb[3 * i + 2] / 255
        lum[i] = (r + g + b) / 3
        p_chan[i] = (r + g) / 2 - b
        q_chan[i] = r - g

    longest = max(width, height)
    lx = max(1, round(7 * width / longest))
    ly = max(1, round(7 * height / longest))
    l_dc, l_ac, l_scale = _encode_channel(lum, width, height, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(p_chan, width, height, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(q_chan, width, height, 3, 3)

    landscape = width > height
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
    )
    header16 = (
        (ly if landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    factors = [*l_ac, *p_ac, *q_ac]
    out = bytearray(
        [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    )
    out.extend(bytes((len(factors) + 1) // 2))
    for index, factor in enumerate(factors):
        out[5 + (index >> 1)] |= _round(15 * factor) << ((index & 1) << 2)
    return bytes(out)


def _encode_channel(
    channel: list[float], width: int, height: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    """DCT of one channel: the DC term, AC terms normalised to 0..1, and their scale."""
    # Separable DCT: sum each row against every horizontal frequency once, then columns.
    cos_x = [[math.cos(math.pi / width * cx * (x + 0.5)) for x in range(width)] for cx in range(nx)]
    rows = [
        [sum(channel[y * width + x] * fx[x] for x in range(width)) for y in range(height)]
        for fx in cos_x
    ]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        fy = [math.cos(math.pi / height * cy * (y + 0.5)) for y in range(height)]
        cx = 0
        # The triangle of low frequencies that ThumbHash keeps.
        while cx * ny < nx * (ny - cy):
            f = sum(rows[cx][y] * fy[y] for y in range(height)) / (width * height)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def _round(value: float) -> int:
    # JavaScript's Math.round (halves go up), which the reference encoder uses.
    return math.floor(value + 0.5)
