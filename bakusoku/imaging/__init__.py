"""Image decoding, orientation, print trim and renditions."""

from bakusoku.imaging.decode import DEFAULT_MAX_PIXELS, ImageInfo, open_photo, probe
from bakusoku.imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    UnsupportedImageError,
)
from bakusoku.imaging.placeholder import placeholder
from bakusoku.imaging.renditions import (
    DEFAULT_SPECS,
    PREVIEW,
    PREVIEW_WEBP,
    PRINT,
    THUMB,
    THUMB_WEBP,
    WEBP_SPECS,
    PhotoResult,
    Rendition,
    RenditionSpec,
    render_photo,
)
from bakusoku.imaging.trim import print_crop_box

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_SPECS",
    "PREVIEW",
    "PREVIEW_WEBP",
    "PRINT",
    "THUMB",
    "THUMB_WEBP",
    "WEBP_SPECS",
    "CorruptImageError",
    "EmptyImageError",
    "ImageError",
    "ImageInfo",
    "ImageTooLargeError",
    "PhotoResult",
    "Rendition",
    "RenditionSpec",
    "UnsupportedImageError",
    "open_photo",
    "placeholder",
    "print_crop_box",
    "probe",
    "render_photo",
]
