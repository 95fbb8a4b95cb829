"""The push trigger, worker side: due poll requests become polls.

The web process records a request (``POST /hooks/wordpress``); the worker's tick hands
the due ones here. Every feed is polled once per round however many requests name it.
A request that names a feed polls that feed; one that names an article URL polls the
feeds on that URL's host (every feed when none is); one that names nothing polls every
feed. A request naming an article is done once the article is in the store. While a
page cache still serves the feed without it, the feed is polled again after
``RETRY_AFTER`` (bounded); the regular schedule picks up whatever comes later still.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from bot.articles import host_of
from bot.config import Config, FeedConfig
from bot.models import PollRequest, RequestState
from bot.pipeline.poll import Poller, PollReport
from bot.store import Store
from bot.units import format_duration

log = logging.getLogger(__name__)

# Pauses before polling again for an article the feed did not show yet: a page cache
# in front of WordPress typically lives for seconds to a minute.
RETRY_AFTER = (timedelta(seconds=20), timedelta(seconds=60))


@dataclass
class PushRound:
    """What one round of poll requests did."""

    requests: list[PollRequest] = field(default_factory=list)
    reports: list[PollReport] = field(default_factory=list)


def link_variants(url: str) -> list[str]:
    """``url`` as a feed may spell it: with or without ``www.``, the trailing slash, TLS."""
    parts = urlsplit(url.strip())
    host = parts.netloc.removeprefix("www.")
    paths = {parts.path, parts.path.rstrip("/") or "/", parts.path.rstrip("/") + "/"}
    found = []
    for scheme in ("https", "http"):
        for netloc in (host, "www." + host):
            for path in sorted(paths):
                found.append(urlunsplit((scheme, netloc, path, parts.query, "")))
    return found


class PushPolls:
    """Turns due poll requests into polls and records what each one found."""

    def __init__(self, store: Store, *, config: Config, poller: Poller,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.config = config
        self.poller = poller
        self.clock = clock

    def feeds_for(self, request: PollRequest) -> list[FeedConfig]:
        """The feeds a request asks to poll (none when it names a feed that is gone)."""
        if request.feed is not None:
            return [f for f in self.config.feeds if f.name == request.feed]
        if request.url is not None:
            host = host_of(request.url)
            same_site = [f for f in self.config.feeds if host_of(f.url) == host]
            return same_site or list(self.config.feeds)
        return list(self.config.feeds)

    def handle_due(self) -> PushRound:
        """Poll what the due requests ask for (each feed once) and settle the requests."""
        now = self.clock()
        due = self.store.due_poll_requests(now)
        if not due:
            return PushRound()
        wanted = {r.id: self.feeds_for(r) for r in due}
        reports: dict[str, PollReport] = {}
        for feeds in wanted.values():
            for feed in feeds:
                if feed.name not in reports:
                    reports[feed.name] = self.poller.poll(feed)
        done = self.clock()
        for request in due:
            self._settle(request, [reports[f.name] for f in wanted[request.id]], done)
        return PushRound(requests=due, reports=list(reports.values()))

    def _settle(self, request: PollRequest, reports: list[PollReport], now: datetime) -> None:
        if not reports:
            self._finish(request, now, f"no feed named {request.feed!r} in the config")
            return
        if any(r.status == "interrupted" for r in reports):
            return  # the daemon is stopping: the request waits for the next start
        summary = "; ".join(_describe(r) for r in reports)
        if request.url is None or self.store.has_link(link_variants(request.url)):
            self._finish(request, now, summary)
            return
        if request.attempts < len(RETRY_AFTER):
            pause = RETRY_AFTER[request.attempts]
            again = now + pause
            result = (f"{summary}; the article is not in the feed yet, polling again in "
                      f"{format_duration(pause)}")
            self.store.update_poll_request(request.id, attempts=request.attempts + 1,
                                           next_attempt_at=again, result=result)
            log.info("poll request %d: %s", request.id, result)
            return
        self._finish(request, now, f"{summary}; the article was not in the feed after "
                                   f"{request.attempts + 1} polls (the schedule keeps polling)")

    def _finish(self, request: PollRequest, now: datetime, result: str) -> None:
        self.store.update_poll_request(request.id, state=RequestState.DONE, handled_at=now,
                                       attempts=request.attempts + 1, result=result)
        waited = (now - request.requested_at).total_seconds()
        log.info("poll request %d (%s) done %.1fs after it came: %s", request.id,
                 request.source, waited, result)


def _describe(report: PollReport) -> str:
    if report.status == "error":
        return f"{report.feed} failed: {report.reason}"
    return f"{report.feed}: {report.reason or report.status}"
