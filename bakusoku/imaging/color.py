"""Bring any decoded picture to 8-bit sRGB: colour profiles, CMYK, alpha and 16-bit samples."""

import io
from functools import lru_cache

from PIL import Image, ImageCms

_WHITE = (255, 255, 255)
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
    """Return an 8-bit RGB image in sRGB; transparent areas become white, as on paper."""
    icc = im.info.get("icc_profile")
    if im.mode == "CMYK":
        transform = _transform(icc, "CMYK") if icc else None
        # Without a profile, Pillow's naive formula is the best guess we have.
        return transform.apply(im) if transform else im.convert("RGB")
    rgb = _to_rgb(im)
    transform = _transform(icc, "RGB") if icc else None
    if transform is not None:
        transform.apply_in_place(rgb)
    return rgb


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB" and "transparency" not in im.info:
        return im
    if im.mode.startswith("I;16") or im.mode == "I":
        # 16-bit samples: scale to 8 bits; a plain convert would clip everything above 255 to white.
        return im.point(lambda v: v / 257 + 0.5, "L").convert("RGB")
    if im.mode == "F":
        return im.convert("L").convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("RGB", "L", "1") and "transparency" in im.info:
        # A PNG colour key (tRNS): that one colour is transparent.
        im = im.convert("RGBA")
    if im.mode in _ALPHA_MODES:
        return _flatten_on_white(im)
    return im.convert("RGB")


def _flatten_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema() == (255, 255):
        return rgba.convert("RGB")
    flat = Image.new("RGB", rgba.size, _WHITE)
    flat.paste(rgba, mask=alpha)
    return flat


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


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    description = ImageCms.getProfileDescription(profile) or ""
    return "srgb" in description.lower() and "linear" not in description.lower()
