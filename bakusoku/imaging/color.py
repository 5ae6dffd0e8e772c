"""Bring any decoded picture to 8-bit sRGB: colour profiles, CMYK, alpha and 16-bit samples."""

import io
from functools import lru_cache

from PIL import Image, ImageChops, ImageCms

# White in the two straight-alpha modes, which are flattened in place.
_WHITE: dict[str, tuple[int, ...]] = {"RGBA": (255, 255, 255, 255), "LA": (255, 255)}
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


@lru_cache(maxsize=1)
def srgb_profile() -> ImageCms.ImageCmsProfile:
    """The sRGB profile we convert to and embed in every rendition."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=1)
def srgb_icc_bytes() -> bytes:
    """The serialised sRGB profile (under 600 bytes) embedded in renditions."""
    return srgb_profile().tobytes()


def to_srgb(im: Image.Image) -> Image.Image:
    """Return an 8-bit RGB image in sRGB; transparent areas become white, as on paper.

    Takes the picture over: it may be changed in place or freed, so pass the only reference
    (``to_srgb(decoded())``) and at most two full-size pictures are alive at any step.
    """
    icc = im.info.get("icc_profile")
    if im.mode == "CMYK":
        transform = _transform(icc, "CMYK") if icc else None
        # Without a profile, Pillow's naive formula is the best guess we have.
        return transform.apply(im) if transform else im.convert("RGB")
    # Each step rebinds ``im``, so the step's input is freed as soon as its output exists.
    if im.mode.startswith("I;16") or im.mode == "I":
        # 16-bit samples: scale to 8 bits; a plain convert would clip everything above 255 to white.
        im = im.point(lambda v: v / 257 + 0.5, "L")
    elif im.mode == "F":
        im = im.convert("L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("RGB", "L", "1") and "transparency" in im.info:
        # A PNG colour key (tRNS): that one colour is transparent.
        im = im.convert("RGBA")
    if im.mode in _ALPHA_MODES:
        im = _flatten_on_white(im)
    elif im.mode != "RGB":
        im = im.convert("RGB")
    transform = _transform(icc, "RGB") if icc else None
    if transform is not None:
        transform.apply_in_place(im)
    return im


def _flatten_on_white(im: Image.Image) -> Image.Image:
    """Composite on white in place (no second full-size picture), then drop the alpha band."""
    if im.mode not in _WHITE:
        im = im.convert("RGBA")  # premultiplied or palette-with-alpha: straight RGBA first
    alpha = im.getchannel("A")
    if alpha.getextrema() != (255, 255):
        # White pasted through the inverted alpha: colour * a + white * (1 - a).
        im.paste(_WHITE[im.mode], mask=ImageChops.invert(alpha))
    del alpha
    return im.convert("RGB")


def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        return _cached_transform(bytes(icc), mode)
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        # A broken or mismatched embedded profile is ignored rather than failing the photo.
        return None


@lru_cache(maxsize=32)
def _cached_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    if mode == "RGB" and _is_srgb(source):
        return None
    # Perceptual intent maps out-of-gamut CMYK/P3 colours smoothly; matrix profiles fall back to
    # relative colorimetric automatically.
    return ImageCms.buildTransform(source, srgb_profile(), mode, "RGB", ImageCms.Intent.PERCEPTUAL)


def is_srgb_icc(icc: bytes) -> bool:
    """Whether an embedded ICC profile is sRGB (its pixels need no conversion)."""
    try:
        return _is_srgb(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return False


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    description = ImageCms.getProfileDescription(profile) or ""
    return "srgb" in description.lower() and "linear" not in description.lower()
