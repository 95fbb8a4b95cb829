"""The caption's summary: the article's first sentences, cleaned as an editor would.

WordPress's ``content:encoded`` is parsed with the standard library's HTML parser into
paragraphs (``<p>``, ``<div>``, list items, headings, lines split by ``<br>``). Whole
containers that are never prose are skipped: figures and their captions (Gutenberg
``<figure>``/``<figcaption>``, classic ``div.wp-caption``), embeds, scripts, tables,
quotes, and related-post and share boxes (Jetpack, YARPP, Inline Related Posts, …).

The text that is left is then cleaned line by line and paragraph by paragraph:
related links ("Baca juga: …", the bare "Baca <judul>" lines), follow-us and share
boilerplate, "The post … appeared first on …", credits, the dateline that opens the lead
("SANGATTA, editorialkaltim.com –") and the byline that closes a paragraph
("(Roro/adv)"). The summary is the first one or two sentences that fit the budget; a
sentence that does not fit is cut after a whole word and ends in "…".
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from bot.captions.text import (
    cut_words,
    ends_sentence,
    has_words,
    same_text,
    split_sentences,
    tidy,
    word_set,
)
from bot.limits import instagram_length

# Containers whose whole content is never part of the story's prose.
_SKIP_TAGS = word_set(
    """
    script style noscript template figure figcaption iframe video audio object canvas svg
    map form button select textarea table blockquote aside nav footer header ins picture
    """
)
_SKIP_CLASSES = word_set(
    """
    wp-caption wp-caption-text gallery tiled-gallery wp-block-gallery wp-block-image
    wp-block-embed wp-block-video wp-block-audio wp-block-file wp-block-buttons
    wp-block-button wp-block-table wp-block-quote wp-block-pullquote wp-block-latest-posts
    wp-block-social-links wp-block-code more-link screen-reader-text jp-relatedposts
    sharedaddy sd-sharing-enabled sd-block yarpp yarpp-related crp_related
    rp4wp-related-posts addtoany_share_save_container a2a_kit ez-toc-container lwptoc
    post-views code-block instagram-media twitter-tweet tiktok-embed fb-post
    """
)
# Class or id fragments of related-post, sharing and newsletter widgets.
_SKIP_FRAGMENTS = ("related", "share", "sharing", "social", "subscribe", "newsletter")
_VOID_TAGS = word_set("area base br col embed hr img input link meta param source track wbr")
_BLOCK_TAGS = word_set(
    """
    p div section article main li ul ol dl dt dd h1 h2 h3 h4 h5 h6 pre address center
    details summary hr body html
    """
)
_ITALIC_TAGS = frozenset({"em", "i"})
# Paragraph kinds that never make a summary: headings, list items, definitions, code.
_NOT_PROSE = word_set("h1 h2 h3 h4 h5 h6 li dt dd pre summary")


@dataclass
class _Line:
    parts: list[str] = field(default_factory=list)
    link_chars: int = 0
    italic_chars: int = 0

    @property
    def text(self) -> str:
        return tidy("".join(self.parts))


@dataclass
class _Block:
    tag: str
    lines: list[_Line] = field(default_factory=list)
    has_image: bool = False


class _BodyParser(HTMLParser):
    """Collects the visible prose blocks of a WordPress post body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self._stack: list[str] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0
        self._link_depth = 0
        self._italic_depth = 0
        self._block: _Block | None = None
        self._line = _Line()

    # -- structure -------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag not in _VOID_TAGS and _is_skipped(tag, attrs):
            self._end_block()
            self._skip_tag, self._skip_depth = tag, 1
            return
        self._open(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is None:
            self._open(tag, self_closing=True)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        if tag in _BLOCK_TAGS:
            self._end_block()
            if tag in self._stack:
                while self._stack.pop() != tag:
                    pass
        elif tag == "a":
            self._link_depth = max(0, self._link_depth - 1)
        elif tag in _ITALIC_TAGS:
            self._italic_depth = max(0, self._italic_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_tag is not None or not data:
            return
        if self._block is None:
            self._block = _Block(tag=self._stack[-1] if self._stack else "")
        self._line.parts.append(data)
        visible = len("".join(data.split()))
        if self._link_depth:
            self._line.link_chars += visible
        if self._italic_depth:
            self._line.italic_chars += visible

    def close(self) -> None:
        super().close()
        self._end_block()

    def _open(self, tag: str, *, self_closing: bool = False) -> None:
        if tag == "br":
            self._end_line()
        elif tag == "img":
            if self._block is None:
                self._block = _Block(tag=self._stack[-1] if self._stack else "")
            self._block.has_image = True
            self._end_line()
        elif tag in _BLOCK_TAGS:
            self._end_block()
            if not self_closing and tag != "hr":
                self._stack.append(tag)
        elif tag == "a" and not self_closing:
            self._link_depth += 1
        elif tag in _ITALIC_TAGS and not self_closing:
            self._italic_depth += 1

    def _end_line(self) -> None:
        if self._block is not None and self._line.parts:
            self._block.lines.append(self._line)
        self._line = _Line()

    def _end_block(self) -> None:
        self._end_line()
        if self._block is not None and (self._block.lines or self._block.has_image):
            self.blocks.append(self._block)
        self._block = None


def _is_skipped(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag in _SKIP_TAGS:
        return True
    names: list[str] = []
    for name, value in attrs:
        if name in ("class", "id") and value:
            names.extend(value.lower().split())
    for name in names:
        if name in _SKIP_CLASSES or any(fragment in name for fragment in _SKIP_FRAGMENTS):
            return True
    return False


def _parse(markup: str) -> list[_Block]:
    parser = _BodyParser()
    parser.feed(markup)
    parser.close()
    return parser.blocks


# -- line rules ---------------------------------------------------------------------

_ENTITY_RE = re.compile(r"&(?:#\d{2,7}|#x[0-9a-fA-F]{2,6}|[a-zA-Z]{2,8});")
_RELATED_RE = re.compile(
    r"^(?:(?:baca|simak|lihat|cek|klik)\s+(?:juga|pula|lainnya|berita\s+lainnya)\b"
    r"|(?:berita|artikel|tulisan|postingan|video)\s+(?:terkait|lainnya|pilihan)\b"
    r"|(?:baca|simak|lihat)\s*:"
    r"|(?:read|see)\s+(?:also|more)\b"
    r"|related(?:\s+(?:articles?|posts?|news))?\s*:?\s*$"
    r"|baca\s+selengkapnya\b)",
    re.IGNORECASE,
)
_BARE_READ_RE = re.compile(r"^(?:baca|simak|lihat)\s+\S", re.IGNORECASE)
_BOILERPLATE_RE = re.compile(
    r"^(?:related\s+articles?|artikel\s+terkait|berita\s+terkait|back\s+to\s+top(?:\s+button)?"
    r"|kembali\s+ke\s+atas|share\s+this|bagikan(?:\s+(?:ini|artikel\s+ini|berita\s+ini))?"
    r"|like\s+this|suka\s+ini|menyukai\s+ini|(?:tags?|label|topik)"
    r"|advertorial|adv|iklan|pariwara|sponsored|konten\s+bersponsor)\s*[:.]?\s*$",
    re.IGNORECASE,
)
_TAG_LINE_RE = re.compile(r"^(?:tags?|topik|label)\s*:", re.IGNORECASE)
_FEED_FOOTER_RE = re.compile(
    r"^(?:the\s+post|pos|artikel|tulisan)\s+.+\s+(?:appeared\s+first\s+on"
    r"|muncul\s+pertama\s+kali\s+di|pertama\s+kali\s+muncul\s+di"
    r"|pertama\s+kali\s+tampil\s+di)\s+.+$",
    re.IGNORECASE,
)
# The same footer glued to an excerpt that WordPress did not wrap in a paragraph.
_FEED_FOOTER_TAIL_RE = re.compile(
    r"\s*\b(?:the\s+post|pos|artikel|tulisan)\s+.{1,300}?\s+(?:appeared\s+first\s+on"
    r"|muncul\s+pertama\s+kali\s+di|pertama\s+kali\s+muncul\s+di"
    r"|pertama\s+kali\s+tampil\s+di)\s+.{1,120}$",
    re.IGNORECASE,
)
_CREDIT_RE = re.compile(
    r"^(?:penulis|pewarta|reporter|wartawan|editor|redaktur|penyunting|sumber|foto|video"
    r"|oleh|writer|kontributor|caption|grafis)\s*:",
    re.IGNORECASE,
)
_PROMO_START_RE = re.compile(
    r"^(?:dapatkan|ikuti|follow|gabung|bergabung|join|subscribe|yuk|ayo|jangan\s+lupa"
    r"|simak\s+(?:berita|informasi|update)|untuk\s+mendapatkan|klik)\b",
    re.IGNORECASE,
)
_PROMO_PLATFORM_RE = re.compile(
    r"instagram|google\s+news|whats\s*app|telegram|facebook|twitter|tiktok|youtube"
    r"|channel|saluran|https?://|\bklik\b|\blink\b",
    re.IGNORECASE,
)


def _drop_line(line: _Line) -> bool:
    text = line.text
    if not has_words(text):
        return True
    visible = len("".join(text.split()))
    mostly_link = visible > 0 and line.link_chars * 2 >= visible
    if _RELATED_RE.match(text) or _BOILERPLATE_RE.match(text) or _TAG_LINE_RE.match(text):
        return True
    if _BARE_READ_RE.match(text) and (mostly_link or not ends_sentence(text)):
        return True  # "Baca  <judul berita lain>", as the Inline Related Posts plugin writes
    if mostly_link and not ends_sentence(text):
        return True  # a lone link: navigation, not prose
    if _FEED_FOOTER_RE.match(text):
        return True
    if _CREDIT_RE.match(text) and len(text) <= 160:
        return True
    return bool(_PROMO_START_RE.match(text) and _PROMO_PLATFORM_RE.search(text))


# -- paragraph rules ----------------------------------------------------------------

_DASH_RE = re.compile(r"\s*(?:[–—−|]|-{1,2})\s*")
_DOMAIN_RE = re.compile(
    r"\b[\w-]+(?:\.[\w-]+)*\.(?:com|co\.id|id|net|org|news|tv|info|go\.id)\b", re.IGNORECASE
)
_AGENCY_RE = re.compile(r"\((?:ANTARA|[A-Z][A-Za-z.]{1,15})\)")
_CAPS_PLACE_RE = re.compile(r"^[A-Z][A-Z.'’ -]{2,40}$")
_TITLE_PLACE_RE = re.compile(r"^[A-Z][a-z’']+(?:\s+[A-Z][a-z’']+){0,2}$")
_TRAILING_PAREN_RE = re.compile(r"\s*\(([^()]{1,60})\)\s*$")
_BYLINE_WORDS = word_set("adv advertorial red redaksi rls ant antara ist istimewa hms humas")
_MORE_MARKER_RE = re.compile(r"\s*\[\s*(?:…|\.{3}|&hellip;)\s*\]\s*$")
_EXCERPT_END_RE = re.compile(r"\s*(?:…|\.{3})$")


def strip_dateline(text: str, *, site_terms: Iterable[str] = ()) -> str:
    """The paragraph without its opening dateline ("SAMARINDA –", "Samarinda (ANTARA) -")."""
    for match in _DASH_RE.finditer(text, 0, 100):
        if match.start() == 0:
            return text
        head = text[:match.start()].strip()
        rest = text[match.end():].lstrip()
        if not rest or not (rest[0].isalnum() or rest[0] in "“\"'‘("):
            continue
        spaced = match.group(0) != match.group(0).strip()
        if _is_dateline(head, spaced=spaced, site_terms=site_terms):
            return rest
    return text


def _is_dateline(head: str, *, spaced: bool, site_terms: Iterable[str]) -> bool:
    place = head.split(",", 1)[0].strip()
    after_place = head[len(place):].lstrip(", ")
    folded = head.casefold()
    if len(head) <= 60 and (
        _DOMAIN_RE.search(head) or any(t and t.casefold() in folded for t in site_terms)
    ):
        return True  # "Editorialkaltim.com –", "SANGATTA, editorialkaltim.com –"
    # Four letters at least (five without spaces), so "KPU–Bawaslu" is not a place.
    if (sum(c.isalpha() for c in place) >= (4 if spaced else 5)
            and _CAPS_PLACE_RE.match(place) and len(after_place) <= 50):
        return True  # "SAMARINDA –", "SAMARINDA, Senin (28/10/2024) –"
    if not spaced:
        # An unspaced dash joins words ("Sangatta–Bengalon"); only the unmistakable
        # forms above may use one.
        return False
    if len(head) <= 50 and _AGENCY_RE.search(head):
        return True  # "Samarinda (ANTARA) -"
    return (bool(_TITLE_PLACE_RE.match(place)) and len(place) <= 30 and len(after_place) <= 40
            and (not after_place or any(c.isdigit() for c in after_place)))


def strip_bylines(text: str) -> str:
    """The paragraph without the bylines that close it: "(Roro/adv)", "(adv)", "(*)"."""
    while True:
        match = _TRAILING_PAREN_RE.search(text)
        if match is None:
            return text
        before = text[:match.start()].rstrip()
        inner = match.group(1).strip()
        is_byline = (
            not before
            or before[-1] in ".!?…\"”’'"
            or ("/" in inner and not any(c.isdigit() for c in inner))
            or inner.casefold() in _BYLINE_WORDS
            or inner.strip("*") == ""
        )
        if not is_byline:
            return text
        text = before


def _is_italic(line: _Line) -> bool:
    return line.italic_chars * 2 >= len("".join(line.text.split()))


@dataclass(frozen=True)
class Paragraph:
    """One cleaned paragraph of prose; ``complete`` is False when the excerpt cut it short."""

    text: str
    complete: bool = True


def paragraphs(
    markup: str, *, title: str = "", site_terms: Iterable[str] = (), excerpt: bool = False,
) -> list[Paragraph]:
    """The prose paragraphs of a post body (or, with ``excerpt``, of its RSS description)."""
    terms = tuple(site_terms)
    out: list[Paragraph] = []
    previous_had_image = False
    for block in _parse(markup):
        after_image = previous_had_image
        previous_had_image = block.has_image
        if block.tag in _NOT_PROSE:
            continue
        lines = [line for line in block.lines if not _drop_line(line)]
        if block.has_image:
            # A classic-editor photo caption: an italic line beside or under the photo.
            lines = [line for line in lines if not _is_italic(line)]
        elif after_image and all(_is_italic(line) for line in lines):
            continue
        if not lines:
            continue
        text = _FEED_FOOTER_TAIL_RE.sub("", _unescape(" ".join(line.text for line in lines)))
        if not out or _DOMAIN_RE.match(text):
            text = strip_dateline(text, site_terms=terms)
        complete = True
        marker = _MORE_MARKER_RE.search(text)
        if marker is not None or (excerpt and _EXCERPT_END_RE.search(text)):
            text = (_MORE_MARKER_RE.sub("", text) if marker else _EXCERPT_END_RE.sub("", text))
            text = text.rstrip()
            complete = ends_sentence(text)
        text = strip_bylines(text).strip()
        if not has_words(text) or same_text(text, title) or _drop_line(_Line([text])):
            continue
        if complete and not ends_sentence(text):
            if len(text.split()) < 8:
                continue  # a label or a sub-heading written as a paragraph
            text += "."
        out.append(Paragraph(text, complete))
    return out


def _unescape(text: str) -> str:
    # Feeds sometimes escape twice ("&amp;#8220;"); the parser undid the first layer.
    return tidy(html.unescape(text)) if _ENTITY_RE.search(text) else text


def visible_text(markup: str) -> str:
    """All text a reader sees in the body, minus figures, embeds and widgets."""
    return _unescape(
        " ".join(line.text for block in _parse(markup) for line in block.lines)
    )


def summarize(parts: list[Paragraph], *, max_chars: int, max_sentences: int = 2) -> str:
    """The first whole sentences that fit ``max_chars`` (at most ``max_sentences``).

    If the first sentence alone is too long, or the excerpt stops inside it, it is cut
    after a whole word and ends in "…".
    """
    if max_chars <= 0:
        return ""
    sentences: list[tuple[str, bool]] = []
    for part in parts:
        found = split_sentences(part.text)
        for i, sentence in enumerate(found):
            whole = part.complete or i < len(found) - 1
            sentences.append((sentence, whole))
        if len(sentences) > max_sentences:
            break
    chosen: list[str] = []
    for sentence, whole in sentences:
        if len(chosen) >= max_sentences or not whole:
            break
        if sentence.endswith(":"):
            if chosen:
                break
            continue  # "Berikut daftarnya:" leads into a list the caption does not carry
        candidate = " ".join([*chosen, sentence])
        if instagram_length(candidate) > max_chars:
            break
        chosen.append(sentence)
    if chosen:
        return " ".join(chosen)
    for sentence, whole in sentences:
        if not sentence.endswith(":"):
            return cut_words(sentence, max_chars, truncated=not whole)
    return ""
