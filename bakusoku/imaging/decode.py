"""Open untrusted photo bytes safely, orient them and bring them to sRGB."""

import io
import math
import struct
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageFile

from bakusoku.imaging.color import to_srgb
from bakusoku.imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageTooLargeError,
    UnsupportedImageError,
)
from bakusoku.imaging.metadata import ExifFacts, Exposure, GpsPosition, read_exif
from bakusoku.imaging.sniff import Kind, sniff, sniff_tiff

# Enough for 100 MP medium-format cameras; 100 MP of RGB is ~300 MB once decoded.
DEFAULT_MAX_PIXELS = 100_000_000

# Pillow plug-ins allowed for each sniffed kind; nothing else is ever tried on upload bytes.
_PILLOW_FORMATS: dict[Kind, tuple[str, ...]] = {
    # Pillow's JPEG opener itself hands back an MPO image for multi-picture (3D, burst) files.
    "JPEG": ("JPEG",),
    "PNG": ("PNG",),
    "WEBP": ("WEBP",),
    "HEIF": ("HEIF",),
    "TIFF": ("TIFF",),
}
_CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "TIFF": "image/tiff",
}
_ACCEPTED = "JPEG, PNG, WebP or HEIC"

_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# What Pillow and its codecs raise on bytes that start right but do not decode.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What we know about an upload; ``width``/``height`` are as displayed (orientation applied)."""

    format: str
    content_type: str
    width: int
    height: int
    orientation: int
    taken_at: str | None
    camera_make: str | None
    camera_model: str | None
    has_gps: bool
    byte_size: int
    lens: str | None = None
    exposure: Exposure = field(default_factory=Exposure)
    gps: GpsPosition | None = None

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000


@dataclass(frozen=True, slots=True)
class DecodePlan:
    """How a photo will be decoded, fixed from its header before any pixel is read."""

    # Stored width and height the decoder will produce: a JPEG may decode at 1/2, 1/4 or 1/8.
    size: tuple[int, int]
    scale: float

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1]


class SourcePhoto:
    """An opened (header-parsed, not yet decoded) upload; decode it at most once."""

    def __init__(
        self, data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, allow_tiff: bool = False
    ) -> None:
        im = _open(data, max_pixels, allow_tiff)
        # Until decode() hands the pixels over; afterwards this object keeps no pixel memory.
        self._im: ImageFile.ImageFile | None = im
        self._format = im.format
        self._plan: DecodePlan | None = None
        self._max_pixels = max_pixels
        self._byte_size = len(data)
        self._raw_size = im.size
        # EXIF lives in the JPEG/WebP/HEIF header; a PNG may keep it after the pixels, where reading
        # it would mean decoding: that waits for decode().
        if im.format == "PNG" and "exif" not in im.info:
            self._exif = ExifFacts()
        else:
            self._exif = read_exif(im)

    @property
    def info(self) -> ImageInfo:
        return _info(self._format, self._raw_size, self._exif, self._byte_size)

    @property
    def raw_size(self) -> tuple[int, int]:
        """Stored width and height, before orientation."""
        return self._raw_size

    def plan(self, min_scale: float = 1.0) -> DecodePlan:
        """Fix the decode scale from the header: the smallest at least ``min_scale`` of full size.

        Only JPEG scales (in the DCT, via ``Image.draft``); other formats decode at full size. A
        photo is planned once: :meth:`decode` and :meth:`verify` then follow that plan.
        """
        if self._plan is None:
            im = self._pixels()
            if min_scale < 1.0 and im.format in ("JPEG", "MPO"):
                width, height = im.size
                wanted = (
                    max(1, math.ceil(width * min_scale)),
                    max(1, math.ceil(height * min_scale)),
                )
                im.draft(im.mode, wanted)
            self._plan = DecodePlan(im.size, im.size[0] / self._raw_size[0])
        return self._plan

    def decode(self, min_scale: float = 1.0) -> Image.Image:
        """Decode every byte, orient and convert to 8-bit sRGB RGB; callable once.

        ``min_scale`` below 1 lets JPEG decode at 1/2, 1/4 or 1/8 size in the DCT (much cheaper) as
        long as the result stays at least that fraction of the full size. The pixels are handed
        over: this object keeps no reference, and each step (orientation, conversion) frees its
        input as soon as its output exists, so at most two full-size pictures are alive at once
        (:func:`bakusoku.imaging.memory.peak_bytes`).
        """
        # Arguments are evaluated in order: a PNG's EXIF orientation is known only once loaded.
        return to_srgb(_orient(self._take_pixels(min_scale), self._pending_orientation()))

    def verify(self) -> None:
        """Decode every byte (at 1/8 size for JPEG) to prove the file is complete, and discard."""
        # Reduced-scale decoding still reads every entropy-coded byte, so truncation shows.
        self._take_pixels(0.125)

    def _pending_orientation(self) -> int:
        return _pending_orientation(self._format, self._exif)

    def _pixels(self) -> ImageFile.ImageFile:
        if self._im is None:
            raise RuntimeError("a SourcePhoto decodes once; keep the image it returned")
        return self._im

    def _take_pixels(self, min_scale: float) -> ImageFile.ImageFile:
        self.plan(min_scale)
        im = self._pixels()
        self._im = None
        _load(im, self._max_pixels)
        if im.format == "PNG":
            # Now that every chunk has been read, EXIF stored after the image data is known too.
            self._exif = read_exif(im)
        return im


def open_photo(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, allow_tiff: bool = False
) -> SourcePhoto:
    """Parse the header of an upload; raise an :class:`ImageError` subclass if it is unusable.

    TIFF is refused unless ``allow_tiff``: camera raw files are TIFF inside, and its decoders are
    a large attack surface for a format that phones and cameras do not deliver.
    """
    return SourcePhoto(data, max_pixels=max_pixels, allow_tiff=allow_tiff)


def probe(
    data: bytes,
    *,
    verify: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    allow_tiff: bool = False,
) -> ImageInfo:
    """Describe an upload from its header; ``verify`` also decodes it all (at 1/8 size for JPEG)."""
    photo = open_photo(data, max_pixels=max_pixels, allow_tiff=allow_tiff)
    if verify:
        photo.verify()
    return photo.info


def _open(data: bytes, max_pixels: int, allow_tiff: bool) -> ImageFile.ImageFile:
    if not data:
        raise EmptyImageError("The file is empty (0 bytes). Upload the photo again.")
    sniffed = sniff(data[:64])
    if sniffed.kind is None and allow_tiff:
        sniffed = sniff_tiff(data[:64]) or sniffed
    if sniffed.kind is None:
        raise UnsupportedImageError(
            f"The file is not a photo we accept: its content looks like {sniffed.description}. "
            f"Upload a {_ACCEPTED} file."
        )
    if sniffed.kind == "HEIF" and not _heif_available():
        raise UnsupportedImageError(
            "The file is a HEIF/HEIC photo, which this installation cannot read. "
            "Upload a JPEG instead (iPhone: Settings > Camera > Formats > Most Compatible)."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns about pixel counts (we apply our own limit below) and damaged EXIF
            # (read best-effort later): both are handled, so the warnings would only add noise.
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data), formats=list(_PILLOW_FORMATS[sniffed.kind]))
    except Image.DecompressionBombError as exc:
        raise _too_large(None, max_pixels) from exc
    except (Image.UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        # Pillow's "cannot identify" text only names the buffer object; the other reasons help.
        reason = "" if isinstance(exc, Image.UnidentifiedImageError) else f" ({exc})"
        raise CorruptImageError(
            f"The file starts like {sniffed.description} but its header is damaged{reason}. "
            "Export or copy the photo again from the camera or phone and upload it again."
        ) from exc
    width, height = im.size
    if width * height > max_pixels:
        raise _too_large((width, height), max_pixels)
    return im


def _load(im: ImageFile.ImageFile, max_pixels: int) -> None:
    # Truncated files must fail here, never come out half grey.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise _too_large(im.size, max_pixels) from exc
    except _DECODE_ERRORS as exc:
        raise CorruptImageError(
            f"The {im.format} file is damaged or incomplete and cannot be decoded ({exc}). "
            "It was probably cut off during copying or upload: upload the original file again."
        ) from exc


def _info(fmt: str | None, raw_size: tuple[int, int], exif: ExifFacts, byte_size: int) -> ImageInfo:
    width, height = raw_size
    if _pending_orientation(fmt, exif) >= 5:
        width, height = height, width
    fmt = fmt or "UNKNOWN"
    return ImageInfo(
        format=fmt,
        content_type=_CONTENT_TYPES.get(fmt, "application/octet-stream"),
        width=width,
        height=height,
        orientation=exif.orientation,
        taken_at=exif.taken_at,
        camera_make=exif.camera_make,
        camera_model=exif.camera_model,
        has_gps=exif.has_gps,
        byte_size=byte_size,
        lens=exif.lens,
        exposure=exif.exposure,
        gps=exif.gps,
    )


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    """The picture turned upright; the stored one is freed once the caller drops it."""
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _pending_orientation(fmt: str | None, exif: ExifFacts) -> int:
    """The EXIF orientation still to apply after decoding."""
    # HEIF decoders already apply the container's rotation and mirroring (irot/imir boxes, which
    # the format defines as authoritative); the EXIF value is only informative there.
    return 1 if fmt == "HEIF" else exif.orientation


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> ImageTooLargeError:
    limit = f"{max_pixels / 1_000_000:.0f} megapixels"
    if size is None:
        what = "The image declares far more pixels than we can decode"
    else:
        what = f"The image is {size[0]} x {size[1]} pixels ({size[0] * size[1] / 1e6:.0f} MP)"
    return ImageTooLargeError(
        f"{what}; the limit is {limit}. Export it at a smaller size (at most ~10,000 pixels on the "
        "long edge) and upload it again."
    )


@lru_cache(maxsize=1)
def _heif_available() -> bool:
    """Register a HEIF decoder if one is installed; ``pi-heif`` is decode-only and permissive."""
    for module in ("pi_heif", "pillow_heif"):
        try:
            plugin = __import__(module)
        except ImportError:
            continue
        plugin.register_heif_opener()
        return True
    return False
