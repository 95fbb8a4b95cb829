"""Deciding what becomes of an article: pure functions over records.

Nothing here touches the store, the network or the clock; the poll step hands in the
article, the feed's config and what it knows, and records the answer. Decisions, per
article and account:

- the account's first poll of this feed: ``seen`` (or ``queued`` for the ``backlog``
  newest);
- an entry that must never be posted (no usable link, unexpanded XML entities):
  ``skipped``, with the reason;
- a feed filter matches: ``filtered``, with the rule;
- an advertorial with ``[caption] advertorial = "skip"``: ``skipped``;
- an approval rule matches: ``pending_approval``;
- otherwise ``queued``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.articles import Article
from bot.captions.advertorial import advertorial_reason
from bot.config import Config, FeedConfig
from bot.models import Status
from bot.rules import approval_match, filter_match

# How a post queued by ``backlog`` says so; the publish step reads it back on expiry.
BACKLOG_REASON = "backlog:"


def decide(article: Article, feed: FeedConfig, config: Config, *, first_run: bool,
           in_backlog: bool) -> tuple[Status, str]:
    """The new post's status and the reason for it."""
    if first_run and not in_backlog:
        return Status.SEEN, (f"already in feed {feed.name} at its first poll"
                             " (recorded, not posted)")
    if article.refusal:
        return Status.SKIPPED, article.refusal
    if match := filter_match(article, feed):
        return Status.FILTERED, f"filtered by {match}"
    advertorial = advertorial_reason(article, config.caption.advertorial_markers)
    if advertorial and config.caption.advertorial == "skip":
        return Status.SKIPPED, f"advertorial ({advertorial}); [caption] advertorial = skip"
    if match := approval_match(article, config.schedule.approval):
        return Status.PENDING_APPROVAL, f"needs approval: matches {match}"
    if first_run:
        return Status.QUEUED, (f"{BACKLOG_REASON} one of the {feed.backlog} newest at the "
                               "first poll")
    return Status.QUEUED, f"new in feed {feed.name}"


def edits(old: Article, new: Article) -> list[str]:
    """What changed in a known article (title, link, date), as readable phrases."""
    changes = []
    if old.title != new.title:
        changes.append(f"title {old.title!r} -> {new.title!r}")
    if old.link != new.link:
        changes.append(f"link {old.link} -> {new.link}")
    if old.date != new.date:
        changes.append(f"date {_iso(old.date)} -> {_iso(new.date)}")
    return changes


def newest(articles: list[Article], n: int) -> list[Article]:
    """The ``n`` newest articles by date (published, else updated), feed order breaking ties."""
    if n <= 0:
        return []
    indexed = list(enumerate(articles))
    # Feed order is newest first; the date breaks ties and fixes feeds that are not.
    indexed.sort(key=lambda pair: (pair[1].date is not None,
                                   pair[1].date or _EPOCH, -pair[0]), reverse=True)
    return [a for _, a in indexed[:n]]


def oldest_first(articles: list[Article]) -> list[Article]:
    """The articles in publication order (published, else updated), so posts queue (and
    events read) that way; undated ones last, in feed order reversed."""
    indexed = list(enumerate(articles))
    indexed.sort(key=lambda pair: (pair[1].date is None,
                                   pair[1].date or _EPOCH, -pair[0]))
    return [a for _, a in indexed]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # aware, so it compares with feed dates


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "none"
