"""Read orientation, capture time and camera from a photo's EXIF, tolerating broken tags."""

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
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
_EXPOSURE_TIME = 0x829A
_F_NUMBER = 0x829D
_ISO = 0x8827
_FOCAL_LENGTH = 0x920A
_FOCAL_LENGTH_35MM = 0xA405
_EXPOSURE_BIAS = 0x9204
_LENS_MAKE = 0xA433
_LENS_MODEL = 0xA434
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Exposure:
    """How the picture was exposed; any field may be missing."""

    exposure_time: float | None = None  # seconds
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = None  # millimetres
    focal_length_35mm: int | None = None
    exposure_bias: float | None = None  # EV

    def as_dict(self) -> dict[str, float | int]:
        """The known fields only, for a JSON column."""
        fields = {
            "exposure_time": self.exposure_time,
            "f_number": self.f_number,
            "iso": self.iso,
            "focal_length": self.focal_length,
            "focal_length_35mm": self.focal_length_35mm,
            "exposure_bias": self.exposure_bias,
        }
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True)
class GpsPosition:
    """Decimal degrees (north and east positive) and metres above sea level."""

    latitude: float
    longitude: float
    altitude: float | None = None

    def as_dict(self) -> dict[str, float]:
        point = {"latitude": self.latitude, "longitude": self.longitude}
        if self.altitude is not None:
            point["altitude"] = self.altitude
        return point


@dataclass(frozen=True, slots=True)
class ExifFacts:
    """The few EXIF facts the product uses; everything else is dropped from renditions."""

    orientation: int = 1
    taken_at: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    has_gps: bool = False
    lens: str | None = None
    exposure: Exposure = field(default_factory=Exposure)
    gps: GpsPosition | None = None


def read_exif(im: Image.Image) -> ExifFacts:
    """Extract :class:`ExifFacts` from an opened image; malformed EXIF yields defaults."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about each damaged tag; we only want what survives.
            warnings.simplefilter("ignore")
            exif = im.getexif()
            exif_ifd = exif.get_ifd(_EXIF_IFD)
            gps_ifd = exif.get_ifd(_GPS_IFD) if _GPS_IFD in exif else {}
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
        has_gps=bool(gps_ifd),
        lens=_lens(exif_ifd),
        exposure=_exposure(exif_ifd),
        gps=_gps(gps_ifd),
    )


def _lens(exif_ifd: Mapping[int, object]) -> str | None:
    make, model = _text(exif_ifd.get(_LENS_MAKE)), _text(exif_ifd.get(_LENS_MODEL))
    if make and model and not model.lower().startswith(make.lower()):
        return f"{make} {model}"[:128]
    return (model or make or "")[:128] or None


def _exposure(exif_ifd: Mapping[int, object]) -> Exposure:
    iso = _number(exif_ifd.get(_ISO))
    focal_35 = _number(exif_ifd.get(_FOCAL_LENGTH_35MM))
    return Exposure(
        exposure_time=_rounded(exif_ifd.get(_EXPOSURE_TIME), 6),
        f_number=_rounded(exif_ifd.get(_F_NUMBER), 1),
        iso=int(iso) if iso else None,
        focal_length=_rounded(exif_ifd.get(_FOCAL_LENGTH), 1),
        focal_length_35mm=int(focal_35) if focal_35 else None,
        exposure_bias=_rounded(exif_ifd.get(_EXPOSURE_BIAS), 2, allow_zero=True),
    )


def _gps(gps_ifd: Mapping[int, object]) -> GpsPosition | None:
    latitude = _degrees(gps_ifd.get(_GPS_LAT), gps_ifd.get(_GPS_LAT_REF), "S")
    longitude = _degrees(gps_ifd.get(_GPS_LON), gps_ifd.get(_GPS_LON_REF), "W")
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    altitude = _number(gps_ifd.get(_GPS_ALT))
    if altitude is not None and gps_ifd.get(_GPS_ALT_REF) in (1, b"\x01"):
        altitude = -altitude
    return GpsPosition(
        round(latitude, 7), round(longitude, 7), None if altitude is None else round(altitude, 1)
    )


def _degrees(value: object, ref: object, negative: str) -> float | None:
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [_number(part) for part in value]
    if any(part is None for part in parts):
        return None
    degrees = sum(float(part or 0) / 60**i for i, part in enumerate(parts))
    return -degrees if _text(ref) == negative else degrees


def _number(value: object) -> float | None:
    """An EXIF number (int, float or Pillow's IFDRational); NaN and infinities count as missing."""
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _rounded(value: object, digits: int, *, allow_zero: bool = False) -> float | None:
    number = _number(value)
    if number is None or (number <= 0 and not allow_zero):
        return None
    return round(number, digits)


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
