"""Photos for the cards: safe decoding of untrusted bytes, colour clean-up and cropping.

``decode_image`` is the one way photo bytes from the internet become pixels. It
refuses what is not a photo (HTML error pages, SVG, empty or truncated files), checks
the pixel count from the header before anything is decoded (its own limit, passed per
call, rather than Pillow's process-wide ``MAX_IMAGE_PIXELS``), decodes big JPEGs at a
reduced scale with ``draft``, honours the EXIF orientation, and hands back 8-bit sRGB.
"""

from __future__ import annotations

import io
import math
import struct
from functools import lru_cache
from typing import Final

from PIL import Image, ImageCms, ImageDraw, ImageFilter, UnidentifiedImageError

from bot.cards.colours import RGB
from bot.errors import RenderError

POST_SIZE: Final = (1080, 1350)
STORY_SIZE: Final = (1080, 1920)

MAX_PIXELS: Final = 40_000_000  # a 7300×5500 camera file; Pillow's own bomb limit is ~89 MP
MIN_SIDE: Final = 400  # a WordPress "medium" thumbnail (300 px) would be a blur at 1080
MAX_ASPECT: Final = 4.0  # a banner cropped to 4:5 would show a sliver
# Only web photo formats are even tried: fewer decoders, less attack surface. (Camera
# MPO files are opened by the JPEG plugin and come back with format "MPO".)
FORMATS: Final = ("JPEG", "PNG", "GIF", "WEBP", "AVIF")

# What Pillow raises on hostile input, across its plugins. Decoding bytes from the
# internet is a boundary: all of these mean "this photo cannot be used".
_DECODE_ERRORS: Final = (
    OSError, ValueError, TypeError, SyntaxError, EOFError, IndexError, KeyError,
    ZeroDivisionError, struct.error,
)
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_WHITE: Final = (255, 255, 255)


def _sniff(data: bytes) -> None:
    """Give a precise reason for the non-images that servers most often send."""
    if not data:
        raise RenderError("empty file (0 bytes)")
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        raise RenderError("SVG is a vector format; a card needs a photo (JPEG, PNG, WebP, …)")
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")):
        raise RenderError("not an image: the server sent an HTML page")


def check_photo_size(size: tuple[int, int], *, min_side: int = MIN_SIDE,
                     max_pixels: int = MAX_PIXELS) -> None:
    """Raise RenderError if a photo of ``size`` is too big, too small or too narrow."""
    width, height = size
    if width * height > max_pixels:
        raise RenderError(
            f"photo too large: {width}×{height} px ({width * height / 1e6:.0f} MP;"
            f" the limit is {max_pixels / 1e6:.0f} MP)"
        )
    if min(width, height) < min_side:
        raise RenderError(
            f"photo too small: {width}×{height} px (a card needs at least {min_side} px"
            " on the short side)"
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise RenderError(f"photo too narrow for a card: {width}×{height} px")


def decode_image(
    data: bytes,
    *,
    cover: tuple[int, int] = POST_SIZE,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> Image.Image:
    """Decode untrusted photo bytes to an 8-bit RGB image, upright and in sRGB.

    The result is at least large enough to cover ``cover`` (JPEGs are decoded at the
    smallest DCT scale that still does). Raises RenderError with a human-readable
    reason for anything that cannot become a card photo.
    """
    _sniff(data)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RenderError("photo too large to decode safely (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise RenderError(
            "not an image in a format cards accept (JPEG, PNG, GIF, WebP, AVIF)"
        ) from None
    except _DECODE_ERRORS as exc:
        raise RenderError(f"broken image file: {_short(exc)}") from None
    with image:
        check_photo_size(image.size, min_side=min_side, max_pixels=max_pixels)
        kind = image.format or "image"
        try:
            orientation = _orientation(image)
            if image.format in ("JPEG", "MPO"):
                _draft(image, cover, swapped=orientation in (5, 6, 7, 8))
            image.load()
            rgb = to_rgb(image)
        except _DECODE_ERRORS as exc:
            raise RenderError(f"broken {kind} file: {_short(exc)}") from None
    if orientation in _TRANSPOSE:
        rgb = rgb.transpose(_TRANSPOSE[orientation])
    return rgb


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:160]


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8); 1 when absent or nonsense."""
    try:
        value = image.getexif().get(0x0112, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _draft(image: Image.Image, cover: tuple[int, int], *, swapped: bool) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers the card."""
    target = (cover[1], cover[0]) if swapped else cover
    width, height = image.size
    scale = max(target[0] / width, target[1] / height)
    if scale < 0.5:
        image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow image as 8-bit sRGB RGB: 16-bit scaled, palettes expanded,
    transparency flattened onto white, CMYK and embedded ICC profiles converted."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _to_eight_bit(image)
    icc = image.info.get("icc_profile")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode not in ("RGB", "RGBA", "L", "CMYK"):
        image = image.convert("RGB")
    if icc and isinstance(icc, bytes):
        image = _to_srgb(image, icc)
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, _WHITE)
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _to_eight_bit(image: Image.Image) -> Image.Image:
    if image.mode != "I":
        image = image.convert("I")
    _, high = image.getextrema()
    if isinstance(high, (int, float)) and high > 255:
        image = image.point(lambda value: value * (1 / 256))
    return image.convert("L")


@lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert through the embedded profile (Display P3, Adobe RGB, CMYK press profiles).

    A profile that cannot be parsed or does not match the pixels is ignored: the
    colours are then slightly off, which beats refusing the photo.
    """
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _srgb(), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def cover(image: Image.Image, size: tuple[int, int], *,
          filtered_rows: int | None = None) -> Image.Image:
    """Centre-crop ``image`` to the aspect of ``size`` and scale it there in one resample.

    With ``filtered_rows``, only that many rows from the top get the proper filter; the
    rows below are sampled from the nearest photo pixel. A card passes the rows above
    its scrim's full strength: below it the photo shows through at under a fifth of
    its contrast, where the two cannot be told apart, and resampling it properly was
    a fifth of a large photo's render time (a DCT-scaled 4032×3024 photo is reduced
    from 1210×1512 to 1080×1350). The two parts sample the same grid, so there is no
    seam.
    """
    width, height = image.size
    target_w, target_h = size
    scale = max(target_w / width, target_h / height)
    crop_w, crop_h = min(width, target_w / scale), min(height, target_h / scale)
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    resample = resample_for(scale)
    if (filtered_rows is None or resample == Image.Resampling.NEAREST
            or not 0 < filtered_rows < target_h):
        return image.resize(size, resample, box=(left, top, left + crop_w, top + crop_h),
                            reducing_gap=2.0)
    seam = top + filtered_rows / scale
    upper = image.resize((target_w, filtered_rows), resample,
                         box=(left, top, left + crop_w, seam), reducing_gap=2.0)
    lower = image.resize((target_w, target_h - filtered_rows), Image.Resampling.NEAREST,
                         box=(left, seam, left + crop_w, top + crop_h))
    out = upper.crop((0, 0, target_w, target_h))  # the full size, the upper part copied
    out.paste(lower, (0, filtered_rows))
    return out


def resample_for(scale: float) -> Image.Resampling:
    """The cheapest filter that looks as good as any at this scale factor.

    - Up to 2 % larger (a 2000×1333 photo on a 1350 px card is 1.3 %): every card pixel
      is a photo pixel, one row or column in fifty shown twice, which is sharper than
      any interpolation and costs a tenth of bilinear.
    - Smaller (a DCT-scaled 4032×3024 photo, 0.89): box, the area average, which is
      the right low-pass for a reduction and about half the cost of bicubic.
    - Up to 10 % larger: bilinear. Beyond: bicubic keeps detail crisp.
    """
    if 1.0 <= scale <= 1.02:
        return Image.Resampling.NEAREST
    if scale < 1.0:
        return Image.Resampling.BOX
    if scale <= 1.1:
        return Image.Resampling.BILINEAR
    return Image.Resampling.BICUBIC


def release_image_caches() -> None:
    """Empty this module's caches of whole images (see CardRenderer.release_caches)."""
    for cached in (scrim, top_scrim, rounded_mask):
        cached.cache_clear()


def solid(size: tuple[int, int], colour: RGB) -> Image.Image:
    """A plain ``RGB`` image to paste through a mask: that costs 25 % less than pasting
    the colour itself (Pillow's image path is the faster loop).

    Not cached. Making one is 0.14 ms (1080×900), and the overlay's shade changes height
    with every headline, so a cache by size held up to eight of them (5.8 MB each)
    through a burst for almost no hits.
    """
    return Image.new("RGB", size, colour)


def backdrop(image: Image.Image, size: tuple[int, int], tint: RGB, amount: float) -> Image.Image:
    """A soft, darkened, full-bleed blur of ``image`` (a story card's background)."""
    return enlarge_backdrop(backdrop_thumbnail(image, size, tint, amount), size)


def backdrop_thumbnail(image: Image.Image, size: tuple[int, int], tint: RGB,
                       amount: float) -> Image.Image:
    """The blurred, tinted 1/24-size thumbnail that :func:`backdrop` enlarges."""
    small = cover(image, (max(1, size[0] // 24), max(1, size[1] // 24)))
    small = small.filter(ImageFilter.GaussianBlur(1.5))
    # Tinting the thumbnail, not the full-size result, is the same picture for 1/576
    # of the work.
    return Image.blend(small, Image.new("RGB", small.size, tint), amount)


def enlarge_backdrop(thumbnail: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A backdrop thumbnail at full size."""
    return thumbnail.resize(size, Image.Resampling.BICUBIC)


def _ease(t: float) -> float:
    """Smoothstep: no visible edge where a gradient starts or ends."""
    t = min(1.0, max(0.0, t))
    return t * t * (3 - 2 * t)


@lru_cache(maxsize=16)
def scrim(width: int, height: int, ramp: int, strength: float, floor: float) -> Image.Image:
    """An ``L`` mask ``height`` px tall: eases from 0 to ``strength`` over ``ramp`` px, then
    rises linearly to ``floor`` at the bottom. Cached; do not modify the result."""
    values = []
    for y in range(height):
        if y < ramp:
            alpha = strength * _ease(y / ramp)
        else:
            rest = height - ramp
            alpha = strength + (floor - strength) * ((y - ramp) / rest if rest else 1.0)
        values.append(round(255 * alpha))
    column = Image.frombytes("L", (1, height), bytes(values))
    return column.resize((width, height), Image.Resampling.NEAREST)


@lru_cache(maxsize=8)
def top_scrim(width: int, height: int, strength: float) -> Image.Image:
    """An ``L`` mask fading from ``strength`` at the top to 0 at ``height``. Cached."""
    values = [round(255 * strength * _ease(1 - y / height)) for y in range(height)]
    column = Image.frombytes("L", (1, height), bytes(values))
    return column.resize((width, height), Image.Resampling.NEAREST)


@lru_cache(maxsize=8)
def rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    """An antialiased rounded-rectangle ``L`` mask (drawn at 4× and reduced). Cached."""
    big = Image.new("L", (size[0] * 4, size[1] * 4), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, big.width - 1, big.height - 1), radius=radius * 4, fill=255
    )
    return big.reduce(4)
