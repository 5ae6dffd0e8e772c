"""Typed errors for image decoding; each class name is also the workflow's error type."""

from bakusoku.errors import BakusokuError


class ImageError(BakusokuError):
    """An uploaded file that cannot become a photo; retrying the same bytes never helps."""

    code = "image.invalid"


class EmptyImageError(ImageError):
    """The upload has zero bytes."""

    code = "image.empty"


class UnsupportedImageError(ImageError):
    """The bytes are not one of the accepted image formats."""

    code = "image.unsupported_format"


class CorruptImageError(ImageError):
    """The bytes start like an accepted format but do not decode completely."""

    code = "image.corrupt"


class ImageTooLargeError(ImageError):
    """The image declares more pixels than we agree to decode."""

    code = "image.too_large"


class ImageTooSmallError(ImageError):
    """The image has too few pixels to make a print of acceptable quality."""

    code = "image.too_small"
