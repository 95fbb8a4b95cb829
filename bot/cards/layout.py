"""The card layouts: overlay (default), split, branded (no photo) and story.

Every layout is computed from the bottom up in fixed pixel units on a 1080 px wide
canvas, with all text kept inside a 72 px side margin, well within the central
1012 px band that survives Instagram's 3:4 profile-grid crop. The positions of
everything drawn are recorded as ``TextBox``es so tests (and curious humans) can check
the geometry without parsing pixels.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bot.articles import Article
from bot.cards.colours import RGB, WHITE, contrast, hex_to_rgb, mix, readable_on
from bot.cards.fonts import FontBook, Stamps, Typeface, is_rtl, needs_shaping, split_point
from bot.cards.images import (
    POST_SIZE,
    STORY_SIZE,
    backdrop_thumbnail,
    check_photo_size,
    cover,
    enlarge_backdrop,
    release_image_caches,
    rounded_mask,
    scrim,
    solid,
    to_rgb,
    top_scrim,
)
from bot.cards.text import Fit, fit_text
from bot.config import CardConfig, SiteConfig
from bot.dates import tanggal
from bot.errors import RenderError

Box = tuple[int, int, int, int]

MARGIN: Final = 72  # side margin: text spans x 72..1008, inside the 34..1046 grid band
TOP: Final = 64
BOTTOM: Final = 64
GRID_BAND: Final = (34, 1046)  # what the profile grid's 3:4 crop keeps of a 1080 px card
MAX_LINES: Final = 4
SHADE: Final = (6, 9, 16)  # the scrim colour: black with a little of the night in it
MAX_JPEG_BYTES: Final = 8_000_000
LABEL_HEIGHT: Final = 50
# (minimum, maximum) headline size in px per layout. The minimum is what still reads
# on a phone: 46 px on a 1080 px card is about 16 pt on a 375 pt wide screen.
HEADLINE_SIZES: Final = {
    "overlay": (50, 88),
    "split": (46, 76),
    "branded": (56, 100),
    "story": (46, 68),
    "story-branded": (52, 92),
}

# Instagram draws its own UI over the top ~250 px and bottom ~330 px of a story; the
# link sticker goes into this clear area, which the layout keeps free.
STORY_TOP: Final = 250
STORY_STICKER_BOX: Final = (240, 1450, 840, 1590)
STORY_FRAME: Final = (POST_SIZE[0] - 2 * MARGIN, 580)  # the story's framed photo


@dataclass(frozen=True)
class TextBox:
    """Where one piece of text (or the site mark) was drawn, in card pixels."""

    role: str  # headline, category, date, domain, mark, cta
    text: str
    box: Box


@dataclass
class Card:
    """A rendered card and the headline exactly as drawn on it (for the alt text)."""

    image: Image.Image
    headline: str
    quality: int = 88
    layout: str = "overlay"  # overlay, split, branded, story, story-branded
    headline_size: int = 0
    headline_lines: tuple[str, ...] = ()
    truncated: bool = False
    text_boxes: tuple[TextBox, ...] = ()
    sticker_box: Box | None = None  # story cards: where the link sticker goes
    note: str | None = None  # why the given photo was not used, if it was not

    def to_jpeg(self) -> bytes:
        """Baseline (not progressive) sRGB JPEG bytes at the card's exact size, under 8 MB."""
        image = self.image if self.image.mode == "RGB" else self.image.convert("RGB")
        quality = self.quality
        while True:
            buffer = io.BytesIO()
            # No ICC profile and no EXIF: untagged JPEG is read as sRGB everywhere.
            image.save(buffer, "JPEG", quality=quality, progressive=False, optimize=False)
            data = buffer.getvalue()
            if len(data) < MAX_JPEG_BYTES or quality <= 50:
                return data
            quality -= 10


@dataclass(frozen=True)
class StoryPhoto:
    """All a story card takes from its photo: the picture for its frame and the tinted
    thumbnail its blurred backdrop is enlarged from.

    Made while the photo is at hand (:meth:`CardRenderer.story_photo`), it lets the
    caller drop the photo (10.7 MB of pixels for a 2000×1333 JPEG) before the story's
    1080×1920 canvas is allocated; the two together were the daemon's memory peak.
    """

    frame: Image.Image
    backdrop: Image.Image


@dataclass(frozen=True)
class _Content:
    """The article's text as it goes on the card, cleaned for the fonts."""

    headline: str
    headline_face: Typeface
    category: str | None
    category_face: Typeface
    date: str | None
    domain: str
    accent: RGB
    notes: tuple[str, ...] = ()

    @property
    def rtl(self) -> bool:
        """Whether the headline runs right to left (Arabic): its lines are set flush right."""
        return is_rtl(self.headline)


@dataclass
class _Canvas:
    """An image being drawn on, recording where each text went."""

    image: Image.Image
    boxes: list[TextBox] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.image)

    def face_text(self, xy: tuple[float, float], text: str, face: Typeface, size: int,
                  fill: RGB, *, role: str, anchor: str = "ls", tracking: float = 0.0,
                  stamps: Stamps | None = None) -> Box:
        """Draw ``text`` in ``face`` with its punctuation fit (or letter-spaced by
        ``tracking`` px) and record its box. A text that repeats from card to card
        is drawn from ``stamps``."""
        if stamps is not None:
            origin, start = split_point(xy)
            stamp = stamps.get(face, text, size, anchor, start=start, tracking=tracking)
            box = stamp.draw(self.draw, origin, fill)
        else:
            box = face.draw(self.draw, xy, text, size, fill, anchor, tracking=tracking)
        self.boxes.append(TextBox(role, text, box))
        return box

    def paste(self, image: Image.Image, xy: tuple[int, int], *, role: str, text: str) -> None:
        """Paste an RGBA element (the site mark) and record its box."""
        self.image.paste(image, xy, image if image.mode == "RGBA" else None)
        self.boxes.append(TextBox(role, text, (xy[0], xy[1], xy[0] + image.width,
                                               xy[1] + image.height)))


def cap_height(font: ImageFont.FreeTypeFont) -> int:
    """The height of a capital above the baseline, in pixels."""
    return -int(font.getbbox("H", anchor="ls")[1])


class CardRenderer:
    """Renders cards for articles according to the ``[card]`` template.

    One renderer can be shared by threads: rendering holds a lock, because FreeType
    faces are not safe to use from two threads at once.
    """

    def __init__(self, config: CardConfig, site: SiteConfig, tz: ZoneInfo) -> None:
        self.config = config
        self.site = site
        self.tz = tz
        self.fonts = FontBook(config.fonts)
        self.accent = hex_to_rgb(config.accent)
        self.background = hex_to_rgb(config.background)
        self.logo = _load_logo(config) if config.logo else None
        self._lock = threading.Lock()
        self._marks: dict[tuple[int, RGB, bool], Image.Image] = {}
        self._backgrounds: dict[tuple[int, int], Image.Image] = {}
        self._stamps = Stamps()

    def release_caches(self) -> None:
        """Drop the canvases, masks, backgrounds and text stamps kept between renders.

        They make a burst of cards fast (a 1080×1350 no-photo background is 5.8 MB,
        a story's 8.3 MB, each made once instead of per card), but a daemon renders
        a burst and then waits for minutes or hours: holding them meanwhile was a
        third of its resident memory. The font faces opened for the burst go too
        (2.7 MiB for the three typefaces and the fallbacks). The daemon calls this
        when a poll's cards are done; the next card makes what it needs again (a few
        milliseconds).
        """
        with self._lock:
            self._marks.clear()
            self._stamps.clear()
            self._backgrounds.clear()
            self.fonts.release()
            release_image_caches()

    # ----------------------------------------------------------------- entry point

    def render(self, article: Article, photo: Image.Image | StoryPhoto | None, *,
               story: bool = False) -> Card:
        """Render the feed card (or the story card with ``story=True``).

        A story may be given its :class:`StoryPhoto` instead of the photo.
        """
        with self._lock:
            note = None
            parts = photo if isinstance(photo, StoryPhoto) else None
            image = None if isinstance(photo, StoryPhoto) else photo
            if parts is not None and not story:
                raise ValueError("a StoryPhoto makes story cards only")
            if image is not None:
                try:
                    image = self._usable(image)
                except RenderError as exc:
                    note = str(exc)
                    image = None
            content = self._content(article)
            notes = [n for n in (note, *content.notes) if n]
            note = "; ".join(notes) or None
            if story:
                card = self._story(content, parts or (_story_photo(image) if image else None))
            elif image is None:
                card = self._branded(content)
            elif self.config.layout == "split":
                card = self._split(content, image)
            else:
                card = self._overlay(content, image)
            card.note = note
            card.quality = self.config.quality
            return card

    def story_photo(self, photo: Image.Image | None) -> StoryPhoto | None:
        """What a story card needs of ``photo`` (None if the photo is not usable)."""
        if photo is None:
            return None
        try:
            usable = self._usable(photo)
        except RenderError:
            return None
        return _story_photo(usable)

    def _usable(self, photo: Image.Image) -> Image.Image:
        check_photo_size(photo.size)
        try:
            return to_rgb(photo)
        except (OSError, ValueError) as exc:
            raise RenderError(f"photo cannot be converted to RGB: {exc}") from None

    def _content(self, article: Article) -> _Content:
        fonts = self.fonts
        notes: list[str] = []
        title = article.title if article.title.strip() else self.site.name
        face = fonts.face_for(title, fonts.headline)
        cleaned = face.clean(title)
        headline = cleaned.text or self.site.name
        if face is not fonts.headline:
            notes.append(f"headline set in {face.family}: {fonts.headline.family} lacks "
                         "its script")
        if cleaned.removed:
            notes.append(f"left off the card, no glyph in {face.family}: "
                         f"{' '.join(dict.fromkeys(cleaned.removed))} (the caption keeps it)")
        category = None
        label_face = fonts.label
        if self.config.show_category and article.category:
            label_face = fonts.face_for(article.category, fonts.label, what="category")
            category = label_face.clean(article.category.upper()).text or None
        date = None
        if self.config.show_date:
            moment = article.published or article.updated or datetime.now(UTC)
            date = self.fonts.body.clean(tanggal(moment, self.tz)).text
        accent = hex_to_rgb(self.config.accent_for(article.category))
        return _Content(headline, face, category, label_face, date, self.site.domain, accent,
                        tuple(notes))

    # ------------------------------------------------------------------ layouts

    def _overlay(self, content: _Content, photo: Image.Image) -> Card:
        width, height = POST_SIZE
        fit = self._fit(content, "overlay")
        font = content.headline_face.at(fit.size)
        leading = round(fit.size * 1.12)
        footer = height - BOTTOM
        rule_y = footer - 56
        last_baseline = rule_y - 48
        first_baseline = last_baseline - leading * (fit.line_count - 1)
        text_top = first_baseline - cap_height(font)
        label_bottom = text_top - 30
        block_top = label_bottom - (LABEL_HEIGHT if content.category else 0)

        # The scrim reaches full strength just above the category label and darkens
        # further below, whatever the photo: that is what keeps white text at WCAG AA
        # contrast even on a white photo.
        ramp = 380
        y0 = max(0, block_top - 40 - ramp)
        canvas = _Canvas(cover(photo, POST_SIZE, filtered_rows=y0 + ramp))
        canvas.image.paste(solid((width, height - y0), SHADE), (0, y0),
                           self._scrim(height - y0, ramp))
        canvas.image.paste(solid((width, 280), SHADE), (0, 0), top_scrim(width, 280, 0.55))

        self._mark(canvas, (MARGIN, TOP), 34, WHITE, shadow=True)
        if content.category:
            self._label(canvas, content, MARGIN, label_bottom)
        self._headline(canvas, content, fit, first_baseline, leading, WHITE)
        canvas.image.paste(WHITE, (MARGIN, rule_y, width - MARGIN, rule_y + 2),
                           Image.new("L", (width - 2 * MARGIN, 2), 70))
        self._footer(canvas, content, footer, (214, 219, 227), WHITE)
        return self._card(canvas, fit, "overlay")

    def _split(self, content: _Content, photo: Image.Image) -> Card:
        width, height = POST_SIZE
        footer = height - BOTTOM
        rule_y = footer - 56
        label_h = LABEL_HEIGHT
        fit = self._fit(content, "split")
        font = content.headline_face.at(fit.size)
        leading = round(fit.size * 1.14)
        # The panel is as tall as the headline needs; the photo takes the rest (within
        # limits), so a short headline does not sit above an empty slab of colour.
        text_h = label_h // 2 + 40 + cap_height(font) + leading * (fit.line_count - 1)
        photo_height = max(700, min(920, rule_y - 64 - text_h))
        canvas = _Canvas(Image.new("RGB", POST_SIZE, self.background))
        canvas.image.paste(cover(photo, (width, photo_height)), (0, 0))
        ink, muted = self._inks(self.background)

        self._mark_chip(canvas, (MARGIN, TOP), 30)
        if content.category:
            self._label(canvas, content, MARGIN, photo_height + label_h // 2)
        first_baseline = photo_height + label_h // 2 + 40 + cap_height(font)
        self._headline(canvas, content, fit, first_baseline, leading, ink)
        canvas.draw.rectangle((MARGIN, rule_y, width - MARGIN, rule_y + 1),
                              fill=mix(self.background, ink, 0.25))
        self._footer(canvas, content, footer, muted, ink)
        return self._card(canvas, fit, "split")

    def _branded(self, content: _Content) -> Card:
        width, height = POST_SIZE
        canvas = _Canvas(self._branded_background(POST_SIZE).copy())
        ink, muted = self._inks(self.background)
        self._mark(canvas, (MARGIN, TOP), 40, ink)

        fit = self._fit(content, "branded")
        font = content.headline_face.at(fit.size)
        leading = round(fit.size * 1.1)
        label_h = LABEL_HEIGHT if content.category else 0
        # Centre the label-and-headline block optically, a little above the middle.
        block_h = label_h + (34 if label_h else 0) + cap_height(font) + leading * (
            fit.line_count - 1)
        top = max(220, round((height - block_h) / 2 - 40))
        if content.category:
            self._label(canvas, content, MARGIN, top + label_h)
        first_baseline = top + label_h + (34 if label_h else 0) + cap_height(font)
        self._headline(canvas, content, fit, first_baseline, leading, ink)

        footer = height - BOTTOM
        rule_y = footer - 56
        canvas.draw.rectangle((MARGIN, rule_y, width - MARGIN, rule_y + 1),
                              fill=mix(self.background, ink, 0.25))
        self._footer(canvas, content, footer, muted, ink)
        return self._card(canvas, fit, "branded")

    def _story(self, content: _Content, photo: StoryPhoto | None) -> Card:
        width = STORY_SIZE[0]
        if photo is not None:
            canvas = _Canvas(enlarge_backdrop(photo.backdrop, STORY_SIZE))
            ink, muted = WHITE, (214, 219, 227)
        else:
            canvas = _Canvas(self._branded_background(STORY_SIZE).copy())
            ink, muted = self._inks(self.background)
        self._mark(canvas, (MARGIN, STORY_TOP), 36, ink, shadow=photo is not None)

        label_h = LABEL_HEIGHT
        if photo is not None:
            frame = STORY_FRAME
            frame_top = STORY_TOP + 90
            canvas.image.paste(photo.frame, (MARGIN, frame_top), rounded_mask(frame, 28))
            label_bottom = frame_top + frame[1] + label_h // 2
            fit = self._fit(content, "story")
        else:
            label_bottom = 560
            fit = self._fit(content, "story-branded")
        if content.category:
            self._label(canvas, content, MARGIN, label_bottom)
        font = content.headline_face.at(fit.size)
        leading = round(fit.size * 1.12)
        first_baseline = label_bottom + 44 + cap_height(font)
        self._headline(canvas, content, fit, first_baseline, leading, ink)
        last_baseline = first_baseline + leading * (fit.line_count - 1)
        self._footer(canvas, content, last_baseline + 76, muted, ink)

        sticker = STORY_STICKER_BOX
        cta = self.fonts.label.clean(f"{self.config.story_cta.upper()} ↓").text
        canvas.face_text((width // 2, sticker[1] - 34), cta, self.fonts.label, 26, ink,
                         role="cta", anchor="ms", tracking=3, stamps=self._stamps)
        card = self._card(canvas, fit, "story" if photo is not None else "story-branded")
        card.sticker_box = sticker
        return card

    # ------------------------------------------------------------------ pieces

    def _fit(self, content: _Content, layout: str) -> Fit:
        min_size, max_size = HEADLINE_SIZES[layout]
        return fit_text(content.headline, content.headline_face,
                        width=POST_SIZE[0] - 2 * MARGIN, max_lines=MAX_LINES,
                        min_size=min_size, max_size=max_size)

    @staticmethod
    def _scrim(height: int, ramp: int) -> Image.Image:
        # One tall mask (cached), cropped to the height needed for each card (0.1 ms).
        # The crops are not kept: the height follows the headline's size and line
        # count, so a burst of cards made a new one for most cards, 1 MB each, kept
        # until the burst ended.
        return scrim(POST_SIZE[0], POST_SIZE[1], ramp, 0.82, 0.94).crop(
            (0, 0, POST_SIZE[0], height))

    def _inks(self, background: RGB) -> tuple[RGB, RGB]:
        """(text colour, secondary text colour) that read well on ``background``."""
        ink = readable_on(background)
        muted = mix(ink, background, 0.28)
        if contrast(muted, background) < 4.5:
            muted = ink
        return ink, muted

    def _headline(self, canvas: _Canvas, content: _Content, fit: Fit, first_baseline: int,
                  leading: int, fill: RGB) -> None:
        face = content.headline_face
        # Arabic (and any right-to-left headline) is set flush right, as its readers read.
        x, anchor = (POST_SIZE[0] - MARGIN, "rs") if content.rtl else (MARGIN, "ls")
        for i, line in enumerate(fit.lines):
            canvas.face_text((x, first_baseline + i * leading), line, face, fit.size, fill,
                             role="headline", anchor=anchor)

    def _label(self, canvas: _Canvas, content: _Content, x: int, bottom: int) -> None:
        """The category in a solid accent box, letter-spaced capitals."""
        assert content.category is not None
        text, accent, face = content.category, content.accent, content.category_face
        font = face.at(24)
        # Letter-spacing draws letter by letter, which would break joined scripts.
        tracking = 0.0 if needs_shaping(text) else 2.4
        pad = 18
        max_width = POST_SIZE[0] - 2 * MARGIN - 2 * pad
        while len(text) > 1 and face.length(text, 24, tracking=tracking) > max_width:
            text = text[:-2].rstrip() + face.ellipsis
        width = round(face.length(text, 24, tracking=tracking)) + 2 * pad
        if content.rtl:  # flush right, above a right-aligned headline
            x = POST_SIZE[0] - MARGIN - width
        height = LABEL_HEIGHT
        top = bottom - height
        canvas.draw.rectangle((x, top, x + width - 1, bottom - 1), fill=accent)
        baseline = top + (height + cap_height(font)) // 2
        canvas.face_text((x + pad, baseline), text, face, 24, readable_on(accent),
                         role="category", tracking=tracking, stamps=self._stamps)

    def _footer(self, canvas: _Canvas, content: _Content, baseline: int, muted: RGB,
                ink: RGB) -> None:
        width = POST_SIZE[0]
        if content.date:
            canvas.face_text((MARGIN, baseline), content.date, self.fonts.body, 26, muted,
                             role="date", stamps=self._stamps)
        canvas.face_text((width - MARGIN, baseline), content.domain, self.fonts.label, 26,
                         ink, role="domain", anchor="rs", stamps=self._stamps)

    def _mark(self, canvas: _Canvas, xy: tuple[int, int], height: int, colour: RGB,
              *, shadow: bool = False) -> None:
        """The site's logo, or a wordmark built from its name, ``height`` px tall.

        Over a photo it gets a soft shadow, which keeps it readable on a bright sky.
        """
        key = (height, colour, shadow)
        mark = self._marks.get(key)
        if mark is None:
            mark = self._scaled_logo(height) if self.logo else self._wordmark(height, colour)
            if shadow:
                mark = _with_shadow(mark)
            self._marks[key] = mark
        x, y = xy
        if shadow:
            x, y = x - _SHADOW_PAD, y - _SHADOW_PAD
        canvas.paste(mark, (x, y), role="mark", text=self.site.name)
        if shadow:  # record the mark itself, not its shadow's padding
            box = canvas.boxes[-1].box
            canvas.boxes[-1] = TextBox("mark", self.site.name,
                                       (box[0] + _SHADOW_PAD, box[1] + _SHADOW_PAD,
                                        box[2] - _SHADOW_PAD, box[3] - _SHADOW_PAD))

    def _mark_chip(self, canvas: _Canvas, xy: tuple[int, int], height: int) -> None:
        """The mark on a small panel-coloured plate, for layouts where it sits on a photo
        without a scrim."""
        ink, _ = self._inks(self.background)
        pad_x, pad_y = 20, 16
        key = (height, ink, False)
        mark = self._marks.get(key)
        if mark is None:
            mark = self._scaled_logo(height) if self.logo else self._wordmark(height, ink)
            self._marks[key] = mark
        x, y = xy
        canvas.draw.rectangle((x - pad_x, y - pad_y, x + mark.width + pad_x - 1,
                               y + mark.height + pad_y - 1), fill=self.background)
        canvas.paste(mark, (x, y), role="mark", text=self.site.name)

    def _scaled_logo(self, height: int) -> Image.Image:
        assert self.logo is not None
        box = (POST_SIZE[0] // 2 - MARGIN, round(height * 1.8))
        scale = min(box[0] / self.logo.width, box[1] / self.logo.height)
        size = (max(1, round(self.logo.width * scale)), max(1, round(self.logo.height * scale)))
        return self.logo.resize(size, Image.Resampling.LANCZOS)

    def _wordmark(self, height: int, colour: RGB) -> Image.Image:
        """``▌EDITORIAL KALTIM``: the name in heavy capitals after an accent bar."""
        face: Typeface = self.fonts.headline
        name = face.clean(self.site.name.upper()).text or self.site.domain.upper()
        # Size the capitals so they fill ``height``; the bar matches the cap height.
        probe = face.at(100)
        size = max(8, round(100 * height / max(1, cap_height(probe))))
        font = face.at(size)
        tracking = size * 0.05
        cap = cap_height(font)
        bar = max(6, round(cap * 0.32))
        gap = round(cap * 0.5)
        text_w = round(face.length(name, size, tracking=tracking))
        image = Image.new("RGBA", (bar + gap + text_w + 4, cap), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, bar - 1, cap - 1), fill=self.accent)
        face.draw(draw, (bar + gap, cap), name, size, colour, tracking=tracking)
        return image

    def _branded_background(self, size: tuple[int, int]) -> Image.Image:
        """The no-photo background: the brand colour, lit from the top left, with the
        site's initials set huge and faint. Cached per size; copy before drawing."""
        cached = self._backgrounds.get(size)
        if cached is not None:
            return cached
        width, height = size
        base = self.background
        light = mix(base, WHITE, 0.07)
        dark = mix(base, (0, 0, 0), 0.35)
        # A soft light from the top left: a radial gradient centred there, 0 at the centre.
        glow = Image.radial_gradient("L").resize((width * 3, height * 3))
        cx, cy = round(width * 0.15), round(height * 0.05)
        left, top = glow.width // 2 - cx, glow.height // 2 - cy
        gradient = glow.crop((left, top, left + width, top + height))
        image = Image.composite(Image.new("RGB", size, dark), Image.new("RGB", size, light),
                                gradient)
        initials = "".join(word[0] for word in self.site.name.split()[:2]).upper() or "N"
        face = self.fonts.headline
        if face.covers(initials):
            font = face.at(round(min(height * 0.62, width * 0.8)))
            layer = Image.new("L", size, 0)
            ImageDraw.Draw(layer).text((width + 40, height + 90), initials, font=font,
                                       fill=18, anchor="rd")
            image.paste(readable_on(base), (0, 0), layer)
        # A thin accent rule down the left edge carries the brand colour into the card.
        ImageDraw.Draw(image).rectangle((0, 0, 11, height), fill=self.accent)
        self._backgrounds[size] = image
        return image

    def _card(self, canvas: _Canvas, fit: Fit, layout: str) -> Card:
        return Card(
            image=canvas.image,
            headline=fit.text,
            layout=layout,
            headline_size=fit.size,
            headline_lines=fit.lines,
            truncated=fit.truncated,
            text_boxes=tuple(canvas.boxes),
        )


_SHADOW_PAD: Final = 16


def _story_photo(photo: Image.Image) -> StoryPhoto:
    return StoryPhoto(frame=cover(photo, STORY_FRAME),
                      backdrop=backdrop_thumbnail(photo, STORY_SIZE, SHADE, 0.7))


def _with_shadow(mark: Image.Image) -> Image.Image:
    """``mark`` on a transparent canvas with a soft dark shadow under it."""
    pad = _SHADOW_PAD
    size = (mark.width + 2 * pad, mark.height + 2 * pad)
    alpha = Image.new("L", size, 0)
    alpha.paste(mark.getchannel("A"), (pad, pad + 2))
    alpha = alpha.filter(ImageFilter.GaussianBlur(7)).point(lambda v: min(255, v * 1.1))
    out = Image.new("RGBA", size, (*SHADE, 0))
    out.putalpha(alpha)
    out.alpha_composite(mark, (pad, pad))
    return out


def _load_logo(config: CardConfig) -> Image.Image:
    assert config.logo is not None
    try:
        with Image.open(config.logo, formats=("PNG", "WEBP", "JPEG")) as image:
            image.load()
            return image.convert("RGBA")
    except (OSError, ValueError, SyntaxError) as exc:
        raise RenderError(f"cannot read the logo {config.logo}: {exc}") from None
