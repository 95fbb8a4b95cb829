"""``bot preview``: render posts for articles straight from the live feed.

Nothing is posted and the store is not touched; files go to ``--out`` and are named as
in the outbox (through the outbox's own naming and metadata code), with ``preview``
for the post id.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path

from bot.articles import Article, normalise_link
from bot.config import Config, FeedConfig
from bot.errors import NotFound, PreflightError, RenderError
from bot.feeds import fetch_feed, fetch_page, parse_feed
from bot.files import private_dir, write_atomic
from bot.http import HttpClient
from bot.pipeline.publish import post_files
from bot.pipeline.render import Renderer
from bot.preflight import check_post
from bot.publishers.outbox import write_post_files


@dataclass(frozen=True)
class PreviewItem:
    """The files written for one article."""

    card: Path
    story: Path | None
    caption: Path
    alt_text: Path
    headline: str
    notes: str = ""


@dataclass
class PreviewResult:
    """Everything ``bot preview`` wrote."""

    items: list[PreviewItem] = field(default_factory=list)
    sheet: Path | None = None
    # Articles that would never become a post, or whose card cannot be made, with why.
    skipped: list[tuple[Article, str]] = field(default_factory=list)


def find_articles(http: HttpClient, feed: FeedConfig, *, url: str | None,
                  latest: int | None, tz: tzinfo = UTC) -> list[Article]:
    """The article at ``url``, or the ``latest`` newest, reading pages as needed."""
    fetched = fetch_feed(http, feed.url)
    articles = parse_feed(fetched.body, feed_name=feed.name, feed_url=feed.url,
                          tz=tz).articles
    wanted = normalise_link(url) if url else None
    page = 1
    while True:
        if wanted is not None:
            for article in articles:
                if wanted in (normalise_link(article.link), normalise_link(article.guid or "")):
                    return [article]
        elif latest is not None and len(articles) >= latest:
            return articles[:latest]
        page += 1
        body = fetch_page(http, feed.url, page) if page <= feed.max_pages else None
        more = (parse_feed(body, feed_name=feed.name, feed_url=feed.url, tz=tz).articles
                if body else [])
        known = {a.key for a in articles}
        fresh = [a for a in more if a.key not in known]
        if not fresh:
            break
        articles.extend(fresh)
    if wanted is not None:
        raise NotFound(f"{url} is not in feed {feed.name} (read {page - 1} page(s))")
    return articles


def preview_articles(
    config: Config,
    data_dir: Path,
    *,
    url: str | None,
    latest: int | None,
    feed: str | None,
    out_dir: Path,
    sheet: bool,
) -> PreviewResult:
    """Render previews into ``out_dir``; optionally a contact sheet of the cards."""
    feed_config = config.feed(feed) if feed else config.feeds[0]
    http = HttpClient(config.fetch)
    try:
        articles = find_articles(http, feed_config, url=url, latest=latest, tz=config.tz)
        renderer = Renderer(config, data_dir, http)
        result = PreviewResult()
        private_dir(out_dir)
        for article in articles:
            if article.refusal:
                result.skipped.append((article, article.refusal))
                continue
            basename = f"preview-{article.slug}"
            try:
                rendered = renderer.render(article, out_dir=out_dir, basename=basename,
                                           story=True, preflight=False)
            except RenderError as exc:
                result.skipped.append((article, f"render failed: {exc}"))
                continue
            notes = list(rendered.notes)
            try:
                check_post(rendered.caption.text, rendered.card, rendered.story,
                           alt_text=rendered.alt_text)
            except PreflightError as exc:
                notes.append(f"preflight would fail: {exc}")
            files = post_files(
                post_id="preview", basename=basename, article=article, card=rendered.card,
                story=rendered.story, caption=rendered.caption.text,
                alt_text=rendered.alt_text, utm=config.caption.utm, account=None,
                feed=feed_config.name)
            paths = write_post_files(out_dir, files, story=True,
                                     headline_on_card=rendered.headline, notes=notes)
            result.items.append(PreviewItem(
                card=rendered.card, story=rendered.story, caption=paths["caption"],
                alt_text=paths["alt"], headline=rendered.headline, notes="; ".join(notes)))
        if sheet and result.items:
            from bot.cards import contact_sheet

            sheet_path = out_dir / "preview-sheet.png"
            buffer = io.BytesIO()
            contact_sheet([item.card for item in result.items]).save(buffer, "PNG",
                                                                    optimize=True)
            write_atomic(sheet_path, buffer.getvalue())
            result.sheet = sheet_path
        return result
    finally:
        http.close()
