"""Recognise a file's format from its first bytes, never from its name."""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["JPEG", "PNG", "WEBP", "HEIF", "TIFF"]

# ISO base media brands that carry a still HEIF/HEIC picture (iPhones, recent Android phones).
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
# Generic still-image brands shared by HEIC and AVIF; they decide only when no codec brand is given.
_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
_VIDEO_BRANDS = frozenset({b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"3gp4"})


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the first bytes say: an accepted ``kind`` or ``None``, and a human description."""

    kind: Kind | None
    description: str


def sniff(head: bytes) -> Sniffed:
    """Classify ``head`` (the first 32 bytes or more of a file)."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("JPEG", "a JPEG image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("PNG", "a PNG image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("WEBP", "a WebP image")
    if head[4:8] == b"ftyp":
        return _sniff_iso_media(head)
    return Sniffed(None, _describe_other(head))


def sniff_tiff(head: bytes) -> Sniffed | None:
    """A plain TIFF image, for installations that accept TIFF (never a camera raw file)."""
    if head.startswith((b"II*\x00", b"MM\x00*")) and b"CR" not in head[8:10]:
        return Sniffed("TIFF", "a TIFF image")
    return None


def _sniff_iso_media(head: bytes) -> Sniffed:
    major = head[8:12]
    # Compatible brands follow the minor version; HEIF files often declare mif1 only there.
    brands = {major} | {head[i : i + 4] for i in range(16, min(len(head), 64) - 3, 4)}
    if major in (b"avif", b"avis") or (b"avif" in brands and not brands & _HEVC_BRANDS):
        return Sniffed(None, "an AVIF image")
    if brands & (_HEVC_BRANDS | _GENERIC_BRANDS):
        return Sniffed("HEIF", "a HEIF/HEIC image")
    if major == b"qt  ":
        return Sniffed(None, "a QuickTime video")
    if major in _VIDEO_BRANDS or major.startswith(b"3g"):
        return Sniffed(None, "an MP4 video")
    return Sniffed(None, f"an ISO media file (brand {major.decode('latin-1')!r})")


_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image (or a camera raw file)"),
    (b"MM\x00*", "a TIFF image (or a camera raw file)"),
    (b"IIRO", "an Olympus raw file"),
    (b"FUJIFILMCCD-RAW", "a Fujifilm raw file"),
    (b"BM", "a BMP image"),
    (b"8BPS", "a Photoshop document"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
    (b"\x00\x00\x01\x00", "an icon file"),
)


def _describe_other(head: bytes) -> str:
    for magic, description in _SIGNATURES:
        if head.startswith(magic):
            return description
    if head[:4] == b"RIFF":
        return "a RIFF container (audio or video)"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")):
        return "an SVG or XML document"
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if _looks_like_text(head):
        return "plain text"
    return "unrecognised binary data"


def _looks_like_text(head: bytes) -> bool:
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in decoded)
