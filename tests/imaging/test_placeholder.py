"""ThumbHash placeholders: decoded back with the reference algorithm, they look like the photo."""

import base64
import math
import time

import pytest
from PIL import Image, ImageDraw

from bakusoku.imaging.placeholder import placeholder, rgb_to_thumbhash


def _decode(hash_: bytes) -> tuple[int, int, list[tuple[float, float, float]]]:
    """The reference ThumbHash decoder for opaque hashes, returning (w, h, RGB floats 0..1)."""
    header24 = hash_[0] | (hash_[1] << 8) | (hash_[2] << 16)
    header16 = hash_[3] | (hash_[4] << 8)
    l_dc = (header24 & 63) / 63
    p_dc = ((header24 >> 6) & 63) / 31.5 - 1
    q_dc = ((header24 >> 12) & 63) / 31.5 - 1
    l_scale = ((header24 >> 18) & 31) / 31
    assert not header24 >> 23, "opaque photos never carry alpha"
    p_scale = ((header16 >> 3) & 63) / 63
    q_scale = ((header16 >> 9) & 63) / 63
    landscape = header16 >> 15
    lx = max(3, 7 if landscape else header16 & 7)
    ly = max(3, header16 & 7 if landscape else 7)
    index = 0

    def channel(nx: int, ny: int, scale: float) -> list[float]:
        nonlocal index
        ac = []
        for cy in range(ny):
            cx = 0 if cy else 1
            while cx * ny < nx * (ny - cy):
                nibble = (hash_[5 + (index >> 1)] >> ((index & 1) << 2)) & 15
                ac.append((nibble / 7.5 - 1) * scale)
                index += 1
                cx += 1
        return ac

    l_ac = channel(lx, ly, l_scale)
    p_ac = channel(3, 3, p_scale * 1.25)
    q_ac = channel(3, 3, q_scale * 1.25)
    ratio = lx / ly
    w = round(32 if ratio > 1 else 32 * ratio)
    h = round(32 / ratio if ratio > 1 else 32)
    pixels = []
    for y in range(h):
        for x in range(w):
            fx = [math.cos(math.pi / w * (x + 0.5) * cx) for cx in range(max(lx, 3))]
            fy = [math.cos(math.pi / h * (y + 0.5) * cy) for cy in range(max(ly, 3))]
            lum, p, q = l_dc, p_dc, q_dc
            j = 0
            for cy in range(ly):
                cx = 0 if cy else 1
                while cx * ly < lx * (ly - cy):
                    lum += l_ac[j] * fx[cx] * fy[cy] * 2
                    j += 1
                    cx += 1
            j = 0
            for cy in range(3):
                for cx in range(0 if cy else 1, 3 - cy):
                    p += p_ac[j] * fx[cx] * fy[cy] * 2
                    q += q_ac[j] * fx[cx] * fy[cy] * 2
                    j += 1
            b = lum - 2 / 3 * p
            r = (3 * lum - b + q) / 2
            pixels.append((r, r - q, b))
    return w, h, pixels


def _split_picture() -> Image.Image:
    im = Image.new("RGB", (400, 300), (230, 30, 30))
    ImageDraw.Draw(im).rectangle((200, 0, 399, 299), fill=(30, 30, 230))
    return im


def test_flat_colour_round_trips() -> None:
    im = Image.new("RGB", (40, 30), (200, 120, 40))
    w, h, pixels = _decode(rgb_to_thumbhash(40, 30, im.tobytes()))
    assert w > h  # landscape survives
    r, g, b = pixels[len(pixels) // 2]
    assert (r * 255, g * 255, b * 255) == pytest.approx((200, 120, 40), abs=8)


def test_halves_keep_their_colours() -> None:
    hash_ = base64.b64decode(placeholder(_split_picture()))
    assert len(hash_) <= 25
    w, h, pixels = _decode(hash_)
    left = pixels[(h // 2) * w + 2]
    right = pixels[(h // 2) * w + w - 3]
    assert left[0] > left[2] + 0.3  # red side
    assert right[2] > right[0] + 0.3  # blue side


def test_portrait_and_tiny_images() -> None:
    portrait = base64.b64decode(placeholder(_split_picture().rotate(90, expand=True)))
    w, h, _ = _decode(portrait)
    assert h > w
    assert placeholder(Image.new("RGB", (1, 1), (0, 0, 0)))


def test_is_cheap() -> None:
    im = Image.effect_noise((1600, 1200), 40).convert("RGB")
    started = time.perf_counter()
    placeholder(im)
    assert time.perf_counter() - started < 0.1


def test_rejects_oversized_input() -> None:
    with pytest.raises(ValueError):
        rgb_to_thumbhash(101, 10, bytes(101 * 10 * 3))
