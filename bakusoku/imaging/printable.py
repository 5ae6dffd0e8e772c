"""Refuse photos too small to print well, before any pixel is decoded."""

from bakusoku.imaging.decode import ImageInfo
from bakusoku.imaging.errors import ImageTooSmallError

# The short side of an L print (89 mm) in inches, to quote the resolution a photo would print at.
_L_PRINT_SHORT_INCHES = 89 / 25.4


def require_printable(info: ImageInfo, min_short_edge: int) -> None:
    """Raise :class:`ImageTooSmallError` when the displayed short side is under ``min_short_edge``.

    ``min_short_edge`` 0 turns the check off.
    """
    short = min(info.width, info.height)
    if min_short_edge <= 0 or short >= min_short_edge:
        return
    dpi = short / _L_PRINT_SHORT_INCHES
    raise ImageTooSmallError(
        f"The photo is only {info.width} x {info.height} pixels: an L print would come out at "
        f"{dpi:.0f} dpi, blurred and blocky. A print needs at least {min_short_edge} pixels on the "
        "short side. Upload the original photo from the camera or phone, not a thumbnail, "
        "screenshot or a copy sent through a messenger app."
    )
