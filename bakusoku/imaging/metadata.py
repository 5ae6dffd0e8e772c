"""Read orientation, capture time and camera from a photo's EXIF, tolerating broken tags."""

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image

_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_TIME_DIGITIZED = 0x9012
_SUBSEC_TIME_ORIGINAL = 0x9291
_SUBSEC_TIME_DIGITIZED = 0x9292

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class ExifFacts:
    """The few EXIF facts the product uses; everything else is dropped from renditions."""

    orientation: int = 1
    taken_at: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    has_gps: bool = False


def read_exif(im: Image.Image) -> ExifFacts:
    """Extract :class:`ExifFacts` from an opened image; malformed EXIF yields defaults."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about each damaged tag; we only want what survives.
            warnings.simplefilter("ignore")
            exif = im.getexif()
            exif_ifd = exif.get_ifd(_EXIF_IFD)
            has_gps = bool(exif.get_ifd(_GPS_IFD)) if _GPS_IFD in exif else False
    except Exception:
        # EXIF written by odd phone apps or editors is often broken; metadata never fails a photo.
        return ExifFacts()
    # HEIF decoders apply the container's rotation themselves and keep the EXIF value aside.
    orientation = (
        _as_int(im.info.get("original_orientation")) or _as_int(exif.get(_ORIENTATION)) or 1
    )
    taken_at = _taken_at(
        exif_ifd.get(_DATETIME_ORIGINAL),
        exif_ifd.get(_SUBSEC_TIME_ORIGINAL),
        exif_ifd.get(_OFFSET_TIME_ORIGINAL),
    ) or _taken_at(
        exif_ifd.get(_DATETIME_DIGITIZED),
        exif_ifd.get(_SUBSEC_TIME_DIGITIZED),
        exif_ifd.get(_OFFSET_TIME_DIGITIZED),
    )
    return ExifFacts(
        orientation=orientation if orientation in range(1, 9) else 1,
        taken_at=taken_at,
        camera_make=_text(exif.get(_MAKE)),
        camera_model=_text(exif.get(_MODEL)),
        has_gps=has_gps,
    )


def _as_int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, tuple | list) and value and isinstance(value[0], int):
        return value[0]
    return None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


def _taken_at(stamp: object, subsec: object, offset: object) -> str | None:
    """Format EXIF ``YYYY:MM:DD HH:MM:SS`` (+ sub-seconds, + offset) as ISO 8601."""
    text = _text(stamp)
    if text is None:
        return None
    try:
        when = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        # Cameras without a set clock write "0000:00:00 00:00:00" or blanks.
        return None
    fraction = _text(subsec)
    if fraction and fraction.isdigit():
        # SubSecTime is the decimal fraction's digits: "5" is 0.5 s, "050" is 0.05 s.
        when = when.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    match = _OFFSET.match(_text(offset) or "")
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        when = when.replace(tzinfo=timezone(-delta if sign == "-" else delta))
    return when.isoformat(timespec="milliseconds" if when.microsecond else "seconds")
