"""Articles: what one feed entry means, and the key that identifies it across feeds.

An article's key is stable across title, slug and date edits:

1. the WordPress post ID from ``guid ?p=ID``, written ``editorialkaltim.com#40010``;
2. else the guid, written ``host|guid:<guid>``;
3. else the normalised link, written ``host|link:<url>``.

The host is the guid's (or link's) own host when it is a URL, else the feed's host,
without ``www.``. WordPress writes the site's canonical host into every guid, so the
same post seen through the main feed and a category feed gets the same key.
"""

from __future__ import annotations

import calendar
import html
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from bot.dates import parse_localized_date

_WP_ID_RE = re.compile(r"^\d{1,12}$")
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
_TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|igshid|ref)$", re.I)
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_BREAKS_TO_SPACE = str.maketrans(dict.fromkeys("\t\n\r\x0b\x0c\x85", " "))
# Terminal escape sequences (``ESC[31m``) whole, then every other C0 and C1 control.
_CONTROL_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# An entity reference left over once HTML's own entities are decoded: feedparser never
# expands the entities a feed declares in its DOCTYPE (the defence against billion
# laughs), it leaves them as text.
_ENTITY_REF_RE = re.compile(r"&([A-Za-z_][\w.-]{0,63});")
# Path segments that name a page type or a script, not the article: the outbox file
# name then comes from the title (…/rss, /url?q=…, /watch?v=…, /index.htm,
# /dispbbs.asp?id=…, /amp/).
_PAGE_EXTENSIONS = (".html", ".htm", ".shtml", ".php", ".asp", ".aspx", ".jsp", ".cfm",
                    ".cgi", ".pl")
_GENERIC_SEGMENTS = frozenset({
    "amp", "article", "articles", "berita", "detail", "default", "feed", "index", "item",
    "news", "page", "post", "print", "read", "rss", "story", "url", "view", "watch"})


@dataclass(frozen=True)
class ImageRef:
    """A candidate photo for the card, in the order the design tries them."""

    url: str
    source: str  # media_content, media_thumbnail, enclosure, content_img, og_image
    alt: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Article:
    """One news article as read from a feed entry. Text fields are plain text."""

    key: str
    feed: str
    link: str
    title: str
    guid: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    description_html: str = ""
    content_html: str = ""
    images: tuple[ImageRef, ...] = ()
    # What the bot noticed reading the entry (an unreadable date...): for the post's notes.
    notes: tuple[str, ...] = ()
    # Why this entry must never be posted (no usable link, unexpanded entities), or None.
    refusal: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def date(self) -> datetime | None:
        """When the article came out: its published time, else its updated time.

        Atom entries with only ``<updated>`` and RSS 1.0's ``dc:date`` (WordPress's
        ``/feed/atom/`` and ``/feed/rdf/``) have no published time. With neither, the
        store falls back to when the bot first saw the article.
        """
        return self.published or self.updated

    @property
    def category(self) -> str | None:
        """The primary category: WordPress lists the post's categories before its tags.

        WordPress's default category ("Uncategorized", "Tak Berkategori") says nothing
        to a reader, so it is passed over.
        """
        for term in self.categories:
            if not is_placeholder_category(term):
                return term
        return None

    @property
    def tags(self) -> tuple[str, ...]:
        """Every term after the primary category (other categories and tags)."""
        primary = self.category
        return tuple(t for t in self.categories
                     if t != primary and not is_placeholder_category(t))

    @property
    def slug(self) -> str:
        """A file-name-safe slug from the link's last path segment when that is a slug
        (``jelang-pilkada-2024``), else from the title."""
        return link_slug(self.link) or slugify(self.title)

    def to_json(self) -> str:
        """Serialise for the store."""
        data = asdict(self)
        for name in ("published", "updated"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value else None
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Article:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        for name in ("published", "updated"):
            if data.get(name):
                data[name] = datetime.fromisoformat(data[name])
        data["categories"] = tuple(data.get("categories") or ())
        data["notes"] = tuple(data.get("notes") or ())
        data["images"] = tuple(ImageRef(**img) for img in data.get("images") or ())
        return cls(**data)

    def with_feed(self, feed: str) -> Article:
        """The same article as seen through another feed."""
        return replace(self, feed=feed)


_PLACEHOLDER_CATEGORIES = frozenset(
    {"uncategorized", "uncategorised", "takberkategori", "tanpakategori"})


def is_placeholder_category(term: str) -> bool:
    """Whether ``term`` is WordPress's default category, which says nothing."""
    key = "".join(c for c in unicodedata.normalize("NFC", term).casefold() if c.isalnum())
    return key in _PLACEHOLDER_CATEGORIES


def slugify(text: str, max_length: int = 60) -> str:
    """Lower-case ASCII slug for file names (``jelang-pilkada-2024-pemkab-kutim``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SLUG_RE.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug or "artikel"


def _last_path_segment(url: str) -> str:
    try:
        path = unquote(urlsplit(url).path).rstrip("/")
    except ValueError:
        return ""
    return path.rsplit("/", 1)[-1] if path else ""


def link_slug(url: str) -> str | None:
    """The slug of an article link's last path segment, or None when it is not a slug.

    ``…/bupati-resmikan-jembatan/`` gives ``bupati-resmikan-jembatan``. ``rss``,
    ``url``, ``watch``, ``index.htm``, ``dispbbs.asp``, ``12345.html`` and
    ``2024-10-28`` are not slugs: a slug has at least two words, one of them with
    letters, and is not made of page-type words and numbers alone.
    """
    segment = _last_path_segment(url)
    lowered = segment.casefold()
    for extension in _PAGE_EXTENSIONS:
        if lowered.endswith(extension):
            segment = segment[: -len(extension)]
            break
    if not unicodedata.normalize("NFKD", segment).encode("ascii", "ignore").strip():
        return None
    slug = slugify(segment)
    words = slug.split("-")
    if len(words) < 2 or not any(any(c.isalpha() for c in w) for w in words):
        return None
    if all(w in _GENERIC_SEGMENTS or w.isdigit() for w in words):
        return None
    return slug


def strip_controls(text: str) -> str:
    """``text`` without control characters; those that break lines become spaces."""
    return _CONTROL_RE.sub("", text.translate(_BREAKS_TO_SPACE))


def plain_text(value: str | None) -> str:
    """HTML to one line of plain text: tags dropped, entities decoded, controls and
    extra space removed."""
    if not value:
        return ""
    text = _TAG_RE.sub(" ", value)
    text = html.unescape(html.unescape(text)) if "&amp;#" in text else html.unescape(text)
    return _SPACE_RE.sub(" ", strip_controls(text)).strip()


def unexpanded_entities(text: str | None) -> list[str]:
    """Entity references (``&lol9;``) left in ``text`` after HTML's entities are decoded."""
    if not text or "&" not in text:
        return []
    decoded = html.unescape(text)
    return list(dict.fromkeys(f"&{m.group(1)};" for m in _ENTITY_REF_RE.finditer(decoded)))


def absolute_link(raw: str | None, base: str | None) -> str | None:
    """``raw`` as an absolute http(s) URL, resolved against ``base``; None if it is not one.

    Relative (``/2024/10/28/x/``) and protocol-relative (``//host/x``) links are
    resolved; ``javascript:``, ``data:``, ``mailto:`` and other schemes are refused.
    """
    if not raw or not raw.strip():
        return None
    raw = strip_controls(raw).strip()
    try:
        # A link with its own scheme is taken as it is: "https://" must not become the base.
        resolved = urljoin(base, raw) if base and not urlsplit(raw).scheme else raw
        parts = urlsplit(resolved)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return resolved


def host_of(url: str | None) -> str | None:
    """Lower-case host without ``www.``, or None if ``url`` is not an absolute URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower().removeprefix("www.")


def normalise_link(url: str) -> str:
    """Canonical form of an article URL, for identity.

    Lower-cases scheme and host, drops ``www.``, the fragment, tracking parameters
    and a trailing slash, and sorts the query.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMS.match(k)
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme,
                       host, path, urlencode(query), ""))


def wordpress_post_id(url: str | None) -> str | None:
    """The ``p`` query parameter of a WordPress guid such as ``https://site/?p=40010``."""
    if not url:
        return None
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return None
    for name, value in parse_qsl(query):
        if name == "p" and _WP_ID_RE.match(value):
            return value
    return None


def article_key(*, guid: str | None, link: str | None, feed_url: str) -> str:
    """The article's global key (see the module docstring)."""
    feed_host = host_of(feed_url) or "feed"
    post_id = wordpress_post_id(guid)
    if post_id:
        return f"{host_of(guid) or feed_host}#{post_id}"
    if guid and guid.strip():
        return f"{host_of(guid) or host_of(link) or feed_host}|guid:{guid.strip()}"
    if link and link.strip():
        return f"{host_of(link) or feed_host}|link:{normalise_link(link)}"
    raise ValueError("entry has neither guid nor link")


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry_date(entry: Any, name: str, languages: tuple[str, ...], tz: tzinfo,
                notes: list[str]) -> datetime | None:
    """The entry's ``published`` or ``updated`` time; a date feedparser could not read is
    tried with localized month names, and noted when even that fails."""
    # dict.get: feedparser's own get() maps a missing "updated" to "published" with a
    # DeprecationWarning.
    parsed = _struct_to_datetime(dict.get(entry, f"{name}_parsed"))
    if parsed is not None:
        return parsed
    raw = dict.get(entry, name)
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = strip_controls(raw).strip()
    localized = parse_localized_date(raw, languages, tz)
    if localized is not None:
        return localized.astimezone(UTC)
    notes.append(f"{name} date {raw[:80]!r} could not be read")
    return None


def _images_from_entry(entry: Any, content_html: str) -> list[ImageRef]:
    images: list[ImageRef] = []
    for media in entry.get("media_content") or []:
        url = media.get("url")
        medium = (media.get("medium") or "").lower()
        mime = (media.get("type") or "").lower()
        if url and (medium in ("", "image") or mime.startswith("image/")):
            if medium == "" and mime and not mime.startswith("image/"):
                continue
            images.append(ImageRef(url=url, source="media_content"))
    for media in entry.get("media_thumbnail") or []:
        if media.get("url"):
            images.append(ImageRef(url=media["url"], source="media_thumbnail"))
    for link in entry.get("links") or []:
        is_image = (link.get("type") or "").startswith("image/")
        if link.get("rel") == "enclosure" and is_image and link.get("href"):
            images.append(ImageRef(url=link["href"], source="enclosure"))
    first = first_img(content_html)
    if first is not None:
        images.append(first)
    seen: set[str] = set()
    unique = []
    for image in images:
        if image.url not in seen:
            seen.add(image.url)
            unique.append(image)
    return unique


_IMG_RE = re.compile(r"<img\b[^>]*>", re.I | re.S)
_ATTR_RE = re.compile(r"""([a-zA-Z_:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")
_FIGCAPTION_RE = re.compile(r"<figcaption\b[^>]*>(.*?)</figcaption>", re.I | re.S)


def first_img(content_html: str) -> ImageRef | None:
    """The first ``<img>`` of the article body with its alt text and figure caption."""
    match = _IMG_RE.search(content_html or "")
    if not match:
        return None
    attrs = {k.lower(): html.unescape(v.strip("\"'")) for k, v in _ATTR_RE.findall(match.group(0))}
    url = attrs.get("src") or attrs.get("data-src") or attrs.get("data-lazy-src")
    if not url or url.startswith("data:"):
        return None
    caption_match = _FIGCAPTION_RE.search(content_html, match.end())
    caption = plain_text(caption_match.group(1)) if caption_match else ""
    if caption_match and "</figure>" in content_html[match.end():caption_match.start()]:
        caption = ""
    return ImageRef(url=url, source="content_img", alt=attrs.get("alt", "").strip(),
                    caption=caption)


def article_from_entry(
    entry: Any,
    *,
    feed_name: str,
    feed_url: str,
    base_url: str | None = None,
    languages: Iterable[str] = (),
    tz: tzinfo = UTC,
    declared_entities: Iterable[str] = (),
) -> Article:
    """Build an Article from one feedparser entry; raises ValueError if it has no identity.

    ``base_url`` (the channel's link, else the feed's URL) resolves relative links;
    ``languages`` (the feed's language) and ``tz`` read localized dates that carry no
    zone. An entry that must never be posted comes back with a ``refusal``.
    """
    guid = entry.get("id") or entry.get("guid")
    if isinstance(guid, str):
        guid = strip_controls(guid).strip() or None
    raw_link = (entry.get("link") or "").strip()
    link = absolute_link(raw_link, base_url or feed_url)
    key = article_key(guid=guid, link=link or raw_link, feed_url=feed_url)
    content_html = ""
    for content in entry.get("content") or []:
        if content.get("value"):
            content_html = content["value"]
            break
    description_html = entry.get("summary") or entry.get("description") or ""
    categories: list[str] = []
    for tag in entry.get("tags") or []:
        term = plain_text(tag.get("term") or tag.get("label") or "")
        if term and term.casefold() not in {c.casefold() for c in categories}:
            categories.append(term)
    raw_title = entry.get("title")
    title = plain_text(raw_title) or plain_text(description_html)[:120] or (link or "")
    author = plain_text(entry.get("author")) or None
    notes: list[str] = []
    langs = (*languages, "id")
    published = _entry_date(entry, "published", langs, tz, notes)
    updated = _entry_date(entry, "updated", langs, tz, notes)
    if published is None and updated is None and notes:
        notes.append("first-seen time used instead")
    refusal = _refusal(raw_link, link, raw_title, description_html, content_html,
                       frozenset(declared_entities))
    return Article(
        key=key,
        feed=feed_name,
        link=link or "",
        title=title,
        guid=guid,
        author=author,
        published=published,
        updated=updated,
        categories=tuple(categories),
        description_html=description_html,
        content_html=content_html,
        images=tuple(_images_from_entry(entry, content_html)),
        notes=tuple(notes),
        refusal=refusal,
    )


def _refusal(raw_link: str, link: str | None, raw_title: Any, description_html: str,
             content_html: str, declared: frozenset[str]) -> str | None:
    """Why an entry must never be posted, or None."""
    if link is None:
        if raw_link:
            return f"no article link: {raw_link[:80]!r} is not an http(s) address"
        return "no article link: the entry has none"
    title_refs = unexpanded_entities(raw_title if isinstance(raw_title, str) else "")
    body_refs = [ref for text in (description_html, content_html)
                 for ref in unexpanded_entities(text) if ref[1:-1] in declared]
    refs = list(dict.fromkeys(title_refs + body_refs))
    if not refs:
        return None
    shown = ", ".join(refs[:3]) + (" …" if len(refs) > 3 else "")
    if declared & {ref[1:-1] for ref in refs}:
        return (f"refused: the entry uses XML entities its feed declares ({shown}), as an "
                "entity-expansion attack (billion laughs, quadratic blow-up) does; they are "
                "never expanded")
    return f"refused: the headline holds undefined entity references ({shown})"
