"""Captions and alt text for one article, inside Instagram's limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from bot.articles import Article
from bot.captions.advertorial import advertorial_reason
from bot.captions.hashtags import build_hashtags, is_placeholder_category
from bot.captions.summary import Paragraph, paragraphs, strip_bylines, summarize
from bot.captions.text import cut_words, end_sentence, has_words, same_text, tidy
from bot.config import Config
from bot.dates import tanggal
from bot.errors import RenderError
from bot.limits import (
    HASHTAG_RE,
    MAX_ALT_TEXT_CHARS,
    MAX_CAPTION_CHARS,
    MAX_MENTIONS,
    MENTION_RE,
    count_hashtags,
    count_mentions,
    instagram_length,
)
from bot.templates import RESERVED, check_template


@dataclass(frozen=True)
class Caption:
    """A rendered caption and the parts it was built from."""

    text: str
    summary: str
    link: str
    hashtags: tuple[str, ...]
    advertorial: bool = False
    advertorial_reason: str | None = None


def link_with_utm(url: str, utm: Mapping[str, str]) -> str:
    """The article URL with the UTM parameters added, keeping its own query as written.

    A parameter the URL already has under a configured UTM name is replaced. The
    fragment is dropped: in a caption, ``#comments`` would count as a hashtag.
    """
    parts = urlsplit(url.strip())
    kept = [
        piece for piece in parts.query.split("&")
        if piece and unquote_plus(piece.split("=", 1)[0]) not in utm
    ]
    if utm:
        kept.append(urlencode(list(utm.items())))
    path = parts.path or ("/" if kept else "")
    return urlunsplit(parts._replace(path=path, query="&".join(kept), fragment=""))


# Fields of free text that may carry a stray "#tag" or "@name" from the article, in
# the order they give them up when a limit is reached.
_FREE_FIELDS = ("summary", "tags", "author", "category", "title", "site_name")
# Fields shortened, in this order, once the summary is gone and the caption is still
# too long. The headline is shortened (at a word boundary; a one-token headline is cut
# inside the token) before the site's name and domain, and none of the three goes
# below the room the template check reserves for it, which is what makes it fit.
_SHRINKABLE = ("tags", "author", "category", "title", "site_name", "site_domain")

_CREDIT_PAREN_RE = re.compile(
    r"\s*[(\[]\s*(?:foto|photo|dok|dokumentasi|sumber|ist|istimewa|kredit|credit)\b"
    r"[^()\[\]]*[)\]]",
    re.IGNORECASE,
)
_CREDIT_PREFIX_RE = re.compile(r"^(?:foto|photo)\s*:\s*", re.IGNORECASE)
_CREDIT_TAIL_RE = re.compile(
    r"(?:^|(?<=[.!?]))\s*(?:foto|photo|dok(?:umentasi)?\.?|sumber|kredit)\s*:\s*[^.!?]{0,80}$",
    re.IGNORECASE,
)
_FILENAME_RE = re.compile(
    r"^[\w\s.-]+\.(?:jpe?g|png|webp|gif|heic)$"
    r"|^(?:img|dsc|dscf|pxl|wa|whatsapp[\s_-]image|screenshot|screen[\s_-]shot)[\s_-]*\d",
    re.IGNORECASE,
)
_CREDIT_WORDS = frozenset({"foto", "photo", "ist", "istimewa", "dok", "dokumentasi", "sumber"})


def describe_photo(raw: str, *, title: str = "", headline: str = "") -> str:
    """What the photo shows, from its caption or alt text, without credits or file names."""
    text = tidy(raw)
    if not text or _FILENAME_RE.match(text):
        return ""
    text = _CREDIT_PAREN_RE.sub("", text).strip()
    prefix = _CREDIT_PREFIX_RE.match(text)
    if prefix is not None:
        rest = text[prefix.end():]
        # "Foto: Istimewa" credits the photo; "Foto: Bupati membuka acara…" describes it.
        text = rest if len(rest.split()) > 3 else ""
    text = strip_bylines(_CREDIT_TAIL_RE.sub("", text).strip()).strip()
    if (not has_words(text) or text.casefold().strip(".") in _CREDIT_WORDS
            or same_text(text, title) or same_text(text, headline)):
        return ""
    return cut_words(text, 400)


def _category(article: Article) -> str:
    """The primary category, unless it is WordPress's "Uncategorized"."""
    category = tidy(article.category or "")
    return "" if is_placeholder_category(category) else category


def _defuse_hashtags(text: str) -> str:
    return HASHTAG_RE.sub("", text)


def _defuse_mentions(text: str) -> str:
    return MENTION_RE.sub("", text)


class CaptionWriter:
    """Writes captions and alt text according to the ``[caption]`` template."""

    def __init__(self, config: Config) -> None:
        self.config = config
        cfg = config.caption
        self.template = check_template(
            cfg.template, max_hashtags=cfg.max_hashtags, label=cfg.advertorial_label
        )
        self._site_terms = (config.site.name, config.site.domain)

    def advertorial_reason(self, article: Article) -> str | None:
        """Why this article is an advertorial, or None (see :func:`advertorial_reason`)."""
        return advertorial_reason(article, self.config.caption.advertorial_markers)

    # -- captions --------------------------------------------------------------------

    def write(self, article: Article) -> Caption:
        """The caption for ``article``: headline, summary, link, hashtags, within limits."""
        cfg = self.config.caption
        reason = self.advertorial_reason(article)
        label = cfg.advertorial_label if reason else ""
        own_tags = count_hashtags(self.template.literal) + count_hashtags(label)
        hashtags: tuple[str, ...] = ()
        if "hashtags" in self.template.variables:
            hashtags = build_hashtags(cfg.hashtags, article.categories, cfg.category_hashtags,
                                      limit=max(0, cfg.max_hashtags - own_tags))
        link = self.link(article)
        parts = self._paragraphs(article)
        published = article.date
        values = {
            "title": tidy(article.title),
            "summary": self._summary(parts, cfg.summary_max_chars),
            "link": link,
            "category": _category(article),
            "tags": ", ".join(tidy(t) for t in article.tags if has_words(t)),
            "author": tidy(article.author or ""),
            "date": tanggal(published, self.config.tz) if published else "",
            "site_name": tidy(self.config.site.name),
            "site_domain": self.config.site.domain,
            "hashtags": " ".join(hashtags),
            "label": label,
        }
        text = self._fit(values, parts, tag_limit=cfg.max_hashtags)
        return Caption(text=text, summary=values["summary"], link=link, hashtags=hashtags,
                       advertorial=reason is not None, advertorial_reason=reason)

    def link(self, article: Article) -> str:
        """The link the caption carries: the article's absolute URL with the UTM parameters.

        The exactly-once check finds a post on the account by this link, so it is
        always the article's own: an absurd URL (longer than the room the template
        check reserves, or full of @) falls back to the bare URL, and when even that
        cannot go in, or the article has no http(s) link, RenderError says why. The
        site's home page never stands in for it.
        """
        utm = self.config.caption.utm
        own_mentions = count_mentions(self.template.literal)
        raw = article.link.strip()
        parts = urlsplit(raw) if raw else None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise RenderError(f"no article link: {raw[:80]!r} is not an absolute http(s) URL"
                              if raw else "no article link")
        candidates = [link_with_utm(raw, utm), link_with_utm(raw, {})]
        for link in candidates:
            if (instagram_length(link) <= RESERVED["link"]
                    and own_mentions + count_mentions(link) <= MAX_MENTIONS):
                return link
        raise RenderError(
            f"the article link cannot go in the caption: {instagram_length(candidates[1]):,} "
            f"characters and {count_mentions(candidates[1])} @ (room: {RESERVED['link']} "
            f"characters, {MAX_MENTIONS - own_mentions} @)")

    def _paragraphs(self, article: Article) -> list[Paragraph]:
        found = paragraphs(article.content_html, title=article.title,
                           site_terms=self._site_terms)
        if not found:
            found = paragraphs(article.description_html, title=article.title,
                               site_terms=self._site_terms, excerpt=True)
        return found

    def _summary(self, parts: list[Paragraph], budget: int) -> str:
        cfg = self.config.caption
        return summarize(parts, max_chars=min(budget, cfg.summary_max_chars),
                         max_sentences=cfg.summary_max_sentences)

    def _render(self, values: Mapping[str, str]) -> str:
        text = self.template.render(values)
        label = values.get("label", "")
        if label and "label" not in self.template.variables:
            text = f"{label} {text}"  # the label is never optional: put it before the headline
        return text

    def _fit(self, values: dict[str, str], parts: list[Paragraph], *, tag_limit: int) -> str:
        """Render, giving up stray hashtags and mentions, then summary length, to fit."""
        defused: dict[str, list[str]] = {"hashtags": [], "mentions": []}

        def clean(name: str, value: str) -> str:
            if name in defused["hashtags"]:
                value = _defuse_hashtags(value)
            if name in defused["mentions"]:
                value = _defuse_mentions(value)
            return value

        text = self._render(values)
        if count_hashtags(text) > tag_limit:
            defused["hashtags"].extend(_FREE_FIELDS)
            for name in _FREE_FIELDS:
                values[name] = clean(name, values[name])
            text = self._render(values)
        for name in _FREE_FIELDS:
            if count_mentions(text) <= MAX_MENTIONS:
                break
            defused["mentions"].append(name)
            values[name] = clean(name, values[name])
            text = self._render(values)

        over = instagram_length(text) - MAX_CAPTION_CHARS
        while over > 0 and values["summary"]:
            budget = instagram_length(values["summary"]) - over
            values["summary"] = clean("summary", self._summary(parts, budget))
            text = self._render(values)
            over = instagram_length(text) - MAX_CAPTION_CHARS
        for name in _SHRINKABLE:
            if over <= 0:
                break
            floor = RESERVED.get(name, 0)
            length = instagram_length(values[name])
            if length <= floor:
                continue
            budget = max(floor, length - over)
            values[name] = cut_words(values[name], budget, partial_word=name == "title")
            text = self._render(values)
            over = instagram_length(text) - MAX_CAPTION_CHARS
        if over > 0:
            raise RenderError(
                f"caption cannot fit in {MAX_CAPTION_CHARS} characters even without its "
                f"summary ({over} too many); shorten [caption] template"
            )
        return text

    # -- alt text --------------------------------------------------------------------

    def alt_text(self, article: Article, *, headline: str, photo_description: str = "") -> str:
        """Indonesian alt text: a news card from the site, its headline, category and photo."""
        kind = "Kartu advertorial" if self.advertorial_reason(article) else "Kartu berita"
        published = article.date
        date = ""
        if self.config.card.show_date and published is not None:
            date = tanggal(published, self.config.tz)
        category = _category(article)
        shown = tidy(headline) or tidy(article.title)
        photo = describe_photo(photo_description, title=article.title, headline=shown)

        def compose(category: str, date: str, photo: str, shown: str) -> str:
            intro = f"{kind} {tidy(self.config.site.name)}"
            if category:
                intro += f", kategori {category}"
            if date:
                intro += f", bertanggal {date}"
            sentences = [end_sentence(intro), f"Judul: {end_sentence(shown)}"]
            if photo:
                sentences.append(f"Foto latar: {end_sentence(photo)}")
            return " ".join(sentences)

        text = compose(category, date, photo, shown)
        over = instagram_length(text) - MAX_ALT_TEXT_CHARS
        if over > 0 and photo:
            photo = cut_words(photo, max(0, instagram_length(photo) - over))
            text = compose(category, date, photo, shown)
            over = instagram_length(text) - MAX_ALT_TEXT_CHARS
        if over > 0:
            category = cut_words(category, max(0, instagram_length(category) - over))
            text = compose(category, "", photo, shown)
            over = instagram_length(text) - MAX_ALT_TEXT_CHARS
        if over > 0:  # only a headline of absurd length gets here
            shown = cut_words(shown, max(0, instagram_length(shown) - over - 1))
            text = compose(category, "", photo, shown)
        return text
