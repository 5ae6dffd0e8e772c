"""Minimal ICC v2 profiles built byte by byte, so colour tests need no profile files."""

import struct
from collections.abc import Callable, Sequence

# Display P3 primaries adapted to D50, as in the profiles phones and Macs embed.
P3_RED = (0.5151, 0.2412, -0.0011)
P3_GREEN = (0.2920, 0.6922, 0.0419)
P3_BLUE = (0.1571, 0.0666, 0.7841)
D50 = (0.9642, 1.0, 0.8249)


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: Sequence[float]) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + b"".join(_s15f16(v) for v in xyz)


def _gamma_tag(gamma: float) -> bytes:
    return b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256))


def _desc_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    body = struct.pack(">I", len(ascii_text)) + ascii_text
    # Empty Unicode and ScriptCode parts, as v2 requires them to be present.
    body += struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\x00" * 67
    return b"desc\x00\x00\x00\x00" + body


def _profile(device_class: bytes, space: bytes, pcs: bytes, tags: dict[bytes, bytes]) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, blobs = [], b""
    for signature, blob in tags.items():
        padded = blob + b"\x00" * (-len(blob) % 4)
        entries.append(struct.pack(">4sII", signature, offset + len(blobs), len(blob)))
        blobs += padded
    size = 128 + table_size + len(blobs)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, device_class, space, pcs)
    header += b"\x00" * 12 + b"acsp" + b"\x00" * 24 + struct.pack(">I", 0)
    header += b"".join(_s15f16(v) for v in D50) + b"\x00" * 48
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + blobs


def display_p3_profile() -> bytes:
    """An RGB display profile with P3 primaries and a 2.2 gamma (close to Apple's Display P3)."""
    curve = _gamma_tag(2.2)
    return _profile(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        {
            b"desc": _desc_tag("Display P3 (test)"),
            b"wtpt": _xyz_tag(D50),
            b"rXYZ": _xyz_tag(P3_RED),
            b"gXYZ": _xyz_tag(P3_GREEN),
            b"bXYZ": _xyz_tag(P3_BLUE),
            b"rTRC": curve,
            b"gTRC": curve,
            b"bTRC": curve,
        },
    )


def cmyk_profile(lab_of: Callable[[int, int, int, int], tuple[float, float, float]]) -> bytes:
    """A printer profile whose CMYK -> Lab table (2 points per ink) is given by ``lab_of``."""
    identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    lut = b"mft1\x00\x00\x00\x00" + struct.pack(">BBBB", 4, 3, 2, 0)
    lut += b"".join(_s15f16(v) for v in identity)
    lut += bytes(range(256)) * 4
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    lightness, a, b = lab_of(c, m, y, k)
                    lut += bytes((round(lightness * 255 / 100), round(a + 128), round(b + 128)))
    lut += bytes(range(256)) * 3
    return _profile(
        b"prtr",
        b"CMYK",
        b"Lab ",
        {b"desc": _desc_tag("Odd CMYK (test)"), b"wtpt": _xyz_tag(D50), b"A2B0": lut},
    )
