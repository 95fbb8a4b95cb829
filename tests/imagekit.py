"""Test images: a photo-like landscape, and the hostile corpus the card pipeline must survive.

Everything is generated with Pillow (and hand-built bytes for the malformed cases), so
the tests need no binary fixtures and each case says exactly what it is.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageOps


def landscape(size: tuple[int, int] = (2000, 1333), seed: int = 7) -> Image.Image:
    """A photo-like scene: a golden-hour sky, a low sun, layered hills, a lake, grain.

    Drawn at a quarter of the size and scaled up, then grained at full size, so JPEG
    has the kind of detail a real photo gives it.
    """
    rng = random.Random(seed)
    width, height = size
    w, h = max(8, width // 4), max(8, height // 4)
    horizon = int(h * 0.60)
    sky_top, sky_low = (52, 112, 186), (255, 200, 128)
    column = bytes(
        channel
        for y in range(h)
        for channel in _lerp(sky_top, sky_low, min(1.0, (y / horizon) ** 1.6))
    )
    scene = Image.frombytes("RGB", (1, h), column).resize((w, h))
    glow = ImageOps.invert(Image.radial_gradient("L").resize((w, w)))
    glow = glow.point(lambda v: max(0, v - 100) * 2)
    scene.paste((255, 236, 190), (w // 2 - w // 2, horizon - w // 2 - h // 10), glow)
    draw = ImageDraw.Draw(scene)
    sun_r = max(2, w // 28)
    sun_x, sun_y = int(w * 0.5), horizon - h // 10
    draw.ellipse((sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r),
                 fill=(255, 246, 220))
    layers = [((120, 120, 150), 0.16), ((78, 110, 96), 0.11), ((46, 86, 52), 0.08),
              ((30, 62, 34), 0.05)]
    for depth, (colour, amplitude) in enumerate(layers):
        base = horizon - int(h * 0.08) + depth * int(h * 0.045)
        points = [(0, h)]
        y = base
        for x in range(0, w + 6, 6):
            y += rng.randint(-5, 5)
            y = max(base - int(h * amplitude), min(base + int(h * 0.04), y))
            points.append((x, y))
        points.append((w, h))
        draw.polygon(points, fill=colour)
    lake_top = horizon + int(h * 0.12)
    for y in range(lake_top, h):
        t = (y - lake_top) / max(1, h - lake_top)
        draw.line((0, y, w, y), fill=_lerp((236, 170, 110), (38, 70, 104), t ** 0.6))
    for _ in range(w // 8):  # glints on the water
        x, y = rng.randrange(w), rng.randrange(lake_top, h)
        draw.line((x, y, x + rng.randint(1, 4), y), fill=(250, 206, 150))
    scene = scene.filter(ImageFilter.GaussianBlur(0.7)).resize(size, Image.Resampling.BICUBIC)
    # Grain at the level of a real news photo: a 2000×1333 JPEG comes out at ~600 KB,
    # which is what makes decoding cost what it costs with real photos.
    grain = Image.effect_noise(size, 40).convert("RGB")
    return Image.blend(scene, grain, 0.12)


def _lerp(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t),
            round(a[2] + (b[2] - a[2]) * t))


def jpeg(image: Image.Image, **params: object) -> bytes:
    """``image`` as JPEG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """``image`` in any format Pillow writes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunks(width: int, height: int, bit_depth: int, colour_type: int, raw: bytes) -> bytes:
    """A PNG built by hand, for headers Pillow would not write (16-bit colour, bombs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw)
            + chunk(b"IEND", b""))


@lru_cache(maxsize=2)
def png_bomb(side: int = 30000) -> bytes:
    """A real decompression bomb: a ``side``×``side`` 1-bit PNG of zeros (~110 KB)."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row * 1000) for _ in range(side // 1000)]
    parts.append(compressor.compress(row * (side % 1000)))
    parts.append(compressor.flush())
    return png_chunks(side, side, 1, 0, b"".join(parts))


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """JPEG bytes whose SOF header claims another size (a header-only bomb)."""
    out = bytearray(data)
    i = 2
    while i < len(out) - 9:
        marker = out[i + 1]
        length = struct.unpack(">H", out[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            out[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(out)
        i += 2 + length
    raise ValueError("no SOF marker")


def oriented(orientation: int, size: tuple[int, int] = (800, 600)) -> tuple[bytes, Image.Image]:
    """A JPEG stored so that EXIF ``orientation`` puts a red block at the top left.

    Returns the bytes and the upright image a viewer would show.
    """
    upright = Image.new("RGB", size, (40, 120, 200))
    ImageDraw.Draw(upright).rectangle((0, 0, size[0] // 3, size[1] // 3), fill=(220, 20, 20))
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright if inverse is None else upright.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg(stored, exif=exif.tobytes()), upright


def gif_with_size(width: int, height: int) -> bytes:
    """A small GIF whose logical screen claims ``width``×``height`` (a header bomb)."""
    data = bytearray(encode(Image.new("P", (64, 64)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


@dataclass(frozen=True)
class Hostile:
    """One hostile input: its bytes, the content type a server would claim, and whether a
    photo card (True) or the branded card with a reason (False) is the right outcome."""

    name: str
    make: Callable[[], bytes]
    content_type: str
    usable: bool


def _photo(size: tuple[int, int] = (1200, 900)) -> Image.Image:
    return landscape(size, seed=3)


def _cmyk_jpeg() -> bytes:
    return jpeg(_photo().convert("CMYK"))


def _png16_rgb() -> bytes:
    width, height = 640, 480
    row = b"\x00" + struct.pack(">HHH", 60000, 30000, 1000) * width
    return png_chunks(width, height, 16, 2, zlib.compress(row * height))


def _png16_grey() -> bytes:
    return encode(Image.new("I;16", (640, 480), 40000), "PNG")


def _palette_transparent() -> bytes:
    image = _photo((640, 480)).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    return encode(image, "PNG", transparency=0)


def _la() -> bytes:
    grey = _photo((640, 480)).convert("L")
    alpha = Image.linear_gradient("L").resize((640, 480))
    return encode(Image.merge("LA", (grey, alpha)), "PNG")


def _rgba() -> bytes:
    image = _photo((640, 480)).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize((640, 480)))
    return encode(image, "PNG")


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (640, 480), colour) for colour in ((200, 30, 30), (30, 200, 30))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _truncated() -> bytes:
    data = jpeg(_photo())
    return data[: len(data) // 3]


HOSTILE: tuple[Hostile, ...] = (
    Hostile("zero-byte", lambda: b"", "image/jpeg", False),
    Hostile("truncated-jpeg", _truncated, "image/jpeg", False),
    Hostile("truncated-header", lambda: jpeg(_photo())[:200], "image/jpeg", False),
    Hostile("html-as-jpeg", lambda: b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
            "image/jpeg", False),
    Hostile("svg", lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
            b'width="800" height="600"><rect width="800" height="600"/></svg>',
            "image/svg+xml", False),
    Hostile("text-garbage", lambda: b"\x00\x01 not an image at all " * 40, "image/png", False),
    Hostile("cmyk-jpeg", _cmyk_jpeg, "image/jpeg", True),
    Hostile("png-16bit-rgb", _png16_rgb, "image/png", True),
    Hostile("png-16bit-grey", _png16_grey, "image/png", True),
    Hostile("palette-transparent", _palette_transparent, "image/png", True),
    Hostile("la-png", _la, "image/png", True),
    Hostile("rgba-png", _rgba, "image/png", True),
    Hostile("animated-gif", _animated_gif, "image/gif", True),
    Hostile("webp", lambda: encode(_photo(), "WEBP", quality=80), "image/webp", True),
    Hostile("avif", lambda: encode(_photo((640, 480)), "AVIF", quality=60), "image/avif", True),
    Hostile("one-pixel", lambda: encode(Image.new("RGB", (1, 1), "red"), "PNG"), "image/png",
            False),
    Hostile("banner", lambda: jpeg(_photo((3200, 500))), "image/jpeg", False),
    Hostile("png-bomb-30000", png_bomb, "image/png", False),
    Hostile("jpeg-header-30000", lambda: jpeg_with_size(jpeg(_photo((640, 480))), 30000, 30000),
            "image/jpeg", False),
    Hostile("gif-header-30000", lambda: gif_with_size(30000, 30000), "image/gif", False),
    Hostile("jpeg-header-12000x10000", lambda: jpeg_with_size(jpeg(_photo((640, 480))), 12000,
                                                              10000), "image/jpeg", False),
    Hostile("jpeg-header-8000x8000", lambda: jpeg_with_size(jpeg(_photo((640, 480))), 8000,
                                                            8000), "image/jpeg", False),
)
