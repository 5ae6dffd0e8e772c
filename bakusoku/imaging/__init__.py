"""Image decoding, orientation, print trim and renditions."""

from bakusoku.imaging.decode import DEFAULT_MAX_PIXELS, ImageInfo, open_photo, probe
from bakusoku.imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedImageError,
)
from bakusoku.imaging.faces import FaceDetector, load_face_detector
from bakusoku.imaging.placeholder import placeholder
from bakusoku.imaging.printable import require_printable
from bakusoku.imaging.renditions import (
    BROWSING_SPECS,
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
    print_spec,
    render_photo,
)
from bakusoku.imaging.trim import print_crop_box

__all__ = [
    "BROWSING_SPECS",
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
    "FaceDetector",
    "ImageError",
    "ImageInfo",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "PhotoResult",
    "Rendition",
    "RenditionSpec",
    "UnsupportedImageError",
    "load_face_detector",
    "open_photo",
    "placeholder",
    "print_crop_box",
    "print_spec",
    "probe",
    "render_photo",
    "require_printable",
]
