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
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_WP_ID_RE = re.compile(r"^\d{1,12}$")
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
_TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|igshid|ref)$", re.I)
_SLUG_RE = re.compile(r"[^a-z0-9]+")


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
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

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
        """A file-name-safe slug from the link's last path segment, else the title."""
        return slugify(_last_path_segment(self.link) or self.title)

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
    path = urlsplit(url).path.rstrip("/")
    segment = path.rsplit("/", 1)[-1] if path else ""
    return "" if segment.endswith((".php", ".html")) and "?" in url else segment


def plain_text(value: str | None) -> str:
    """HTML to one line of plain text: tags dropped, entities decoded, space folded."""
    if not value:
        return ""
    text = _TAG_RE.sub(" ", value)
    text = html.unescape(html.unescape(text)) if "&amp;#" in text else html.unescape(text)
    return _SPACE_RE.sub(" ", text).strip()


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


def article_from_entry(entry: Any, *, feed_name: str, feed_url: str) -> Article:
    """Build an Article from one feedparser entry; raises ValueError if it has no identity."""
    guid = entry.get("id") or entry.get("guid")
    link = (entry.get("link") or "").strip()
    key = article_key(guid=guid, link=link, feed_url=feed_url)
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
    title = plain_text(entry.get("title")) or plain_text(description_html)[:120] or link
    author = plain_text(entry.get("author")) or None
    return Article(
        key=key,
        feed=feed_name,
        link=link or (guid or ""),
        title=title,
        guid=guid,
        author=author,
        published=_struct_to_datetime(entry.get("published_parsed")),
        # dict.get: feedparser's own get() maps a missing "updated" to "published"
        # with a DeprecationWarning.
        updated=_struct_to_datetime(dict.get(entry, "updated_parsed")),
        categories=tuple(categories),
        description_html=description_html,
        content_html=content_html,
        images=tuple(_images_from_entry(entry, content_html)),
    )
