"""Polling and deciding: first run, identity, edits, gap recovery, several feeds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.articles import article_key, normalise_link
from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from bot.store import PostFilter
from tests.feedkit import FeedServer, Item, Route, make_items, rss
from tests.feedkit import write_config as _write_config

# The store under these steps is SQLite, then PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")


class Site:
    """A WordPress site on the feed server: publish posts, and the feed follows."""

    def __init__(self, server: FeedServer, path: str = "/feed/", per_page: int = 10,
                 ignore_paged: bool = False) -> None:
        self.server = server
        self.path = path
        self.per_page = per_page
        self.ignore_paged = ignore_paged
        self.items: list[Item] = []  # newest first

    def publish(self, *items: Item) -> None:
        for item in items:
            self.items.insert(0, item)
        self.items.sort(key=lambda i: i.published, reverse=True)
        self.refresh()

    def refresh(self) -> None:
        pages = [self.items[i:i + self.per_page]
                 for i in range(0, len(self.items), self.per_page)] or [[]]
        self.server.routes[self.path] = Route(
            body=rss(pages[0]), pages={n + 1: rss(p) for n, p in enumerate(pages) if n},
            ignore_paged=self.ignore_paged)


_OPEN: list[Bot] = []


@pytest.fixture(autouse=True)
def _close_bots() -> Iterator[None]:
    """Close the bots a test made: their pooled connections are not left to the GC."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def bot_for(tmp_path: Path, data_dir: Path, server: FeedServer, **kwargs: str) -> Bot:
    path = tmp_path / "bot.toml"
    _write_config(path, server.url("/feed/"), **kwargs)
    bot = Bot(load_config(path), data_dir=data_dir)
    _OPEN.append(bot)
    return bot


def statuses(bot: Bot) -> dict[str, str]:
    return {p.article_key: p.status.value for p in bot.posts(PostFilter(limit=None))}


NOW = datetime(2024, 10, 28, 6, 0, tzinfo=UTC)


def fresh(post_id: int, minutes: int = 0, **kwargs: object) -> Item:
    return Item(post_id=post_id, title=f"Artikel baru {post_id}", slug=f"artikel-baru-{post_id}",
                published=NOW + timedelta(minutes=minutes), **kwargs)  # type: ignore[arg-type]


def test_first_poll_records_seen_and_posts_nothing(tmp_path: Path, data_dir: Path,
                                                   server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(10))
    bot = bot_for(tmp_path, data_dir, server)
    report = bot.poll()[0]
    assert (report.new, report.queued) == (10, 0)
    assert set(statuses(bot).values()) == {"seen"}
    assert bot.publish() == []
    assert not (data_dir / "outbox").exists()
    # The walk never happens on a first poll, even though every entry is unknown.
    assert server.hits("/feed/?paged") == []


def test_backlog_queues_the_newest_only(tmp_path: Path, data_dir: Path,
                                        server: FeedServer) -> None:
    site = Site(server)
    items = make_items(10)
    site.publish(*items)
    bot = bot_for(tmp_path, data_dir, server, feeds_extra="backlog = 2")
    bot.poll()
    queued = {k for k, s in statuses(bot).items() if s == "queued"}
    assert queued == {f"editorialkaltim.com#{i.post_id}" for i in items[:2]}


def test_new_articles_are_queued_oldest_first(tmp_path: Path, data_dir: Path,
                                              server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(10))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    site.publish(fresh(50002, minutes=20), fresh(50001, minutes=10))
    report = bot.poll()[0]
    assert (report.new, report.queued) == (2, 2)
    outcomes = bot.publish()
    posted = [bot.post(o.post_id).article_key for o in outcomes]
    assert posted == ["editorialkaltim.com#50001", "editorialkaltim.com#50002"]
    outbox = sorted(p.name for p in (data_dir / "outbox").iterdir())
    assert any(name.endswith("-artikel-baru-50001.jpg") for name in outbox)
    assert any(name.endswith("-artikel-baru-50001.txt") for name in outbox)
    assert any(name.endswith("-artikel-baru-50001.json") for name in outbox)


def test_no_repost_across_restarts(tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(10))
    bot_for(tmp_path, data_dir, server).poll()
    site.publish(fresh(50001))
    first = bot_for(tmp_path, data_dir, server)
    first.poll()
    assert [o.status for o in first.publish()] == ["posted"]
    first.close()
    # A new process: a new Bot over the same SQLite file, and a feed that changed
    # its ETag (so it is parsed again) while still listing the posted article.
    site.publish(fresh(50002, minutes=5))
    second = bot_for(tmp_path, data_dir, server)
    second.poll()
    outcomes = second.publish()
    assert [second.post(o.post_id).article_key for o in outcomes] == [
        "editorialkaltim.com#50002"]
    keys = [p.article_key for p in second.posts(PostFilter(limit=None))]
    assert len(keys) == len(set(keys)) == 12


def test_title_slug_and_date_edits_never_make_a_second_post(
    tmp_path: Path, data_dir: Path, server: FeedServer
) -> None:
    site = Site(server)
    site.publish(*make_items(10))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    item = fresh(50001)
    site.publish(item)
    bot.poll()
    bot.publish()
    item.title = "Artikel baru 50001 (diperbarui)"
    item.slug = "artikel-baru-50001-diperbarui"
    item.published = item.published + timedelta(hours=1)
    site.refresh()
    report = bot.poll()[0]
    assert report.new == 0 and report.queued == 0
    posts = [p for p in bot.posts() if p.article_key == "editorialkaltim.com#50001"]
    assert len(posts) == 1 and posts[0].status == Status.POSTED
    edits = [e for e in bot.timeline(posts[0].id) if e.kind == "edit"]
    assert len(edits) == 1
    assert "title 'Artikel baru 50001' -> 'Artikel baru 50001 (diperbarui)'" in edits[0].reason
    assert "link" in edits[0].reason and "date" in edits[0].reason


def test_edit_of_a_queued_post_rerenders_it(tmp_path: Path, data_dir: Path,
                                            server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(3))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    item = fresh(50001)
    site.publish(item)
    bot.poll()
    item.title = "Judul yang sudah dikoreksi redaksi"
    site.refresh()
    bot.poll()
    post = next(p for p in bot.posts() if p.article_key == "editorialkaltim.com#50001")
    assert post.status == Status.QUEUED
    assert post.caption is not None and "Judul yang sudah dikoreksi redaksi" in post.caption


def test_gap_recovery_walks_pages_until_a_known_article(
    tmp_path: Path, data_dir: Path, server: FeedServer
) -> None:
    site = Site(server)
    site.publish(*make_items(10, start_id=40000))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    burst = [fresh(50000 + n, minutes=n) for n in range(1, 24)]  # 23 new: pages 1-3
    site.publish(*burst)
    report = bot.poll()[0]
    assert report.new == 23
    assert report.queued == 23
    assert report.pages == 3
    assert "gap recovered" in report.reason
    for request in server.hits("/feed/?paged"):
        assert "If-None-Match" not in request.headers
    queued = bot.store.queued_posts("editorialkaltim")
    assert [p.article_key for p in queued] == [
        f"editorialkaltim.com#{50000 + n}" for n in range(1, 24)]


def test_gap_walk_stops_at_the_bound_with_a_possible_gap_event(
    tmp_path: Path, data_dir: Path, server: FeedServer
) -> None:
    site = Site(server)
    site.publish(*make_items(10, start_id=40000))
    bot = bot_for(tmp_path, data_dir, server, feeds_extra="max_pages = 2")
    bot.poll()
    site.publish(*[fresh(50000 + n, minutes=n) for n in range(1, 31)])
    report = bot.poll()[0]
    assert report.new == 20 and report.pages == 2
    gaps = bot.store.events(kind="gap")
    assert len(gaps) == 1
    assert "possible gap: 20 new articles" in gaps[0].reason
    assert gaps[0].data == {"new": 20, "pages": 2}


def test_gap_walk_ends_on_404(tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(3, start_id=40000))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    # The site deleted the old posts: the feed is all new, and page 2 does not exist.
    site.items = []
    site.publish(*[fresh(50000 + n, minutes=n) for n in range(1, 6)])
    report = bot.poll()[0]
    assert report.new == 5 and report.pages == 1
    assert [r.path for r in server.hits("/feed/?paged")] == ["/feed/?paged=2"]
    assert "404" in bot.store.events(kind="gap")[0].reason


def test_site_that_ignores_paged_ends_the_walk_at_once(
    tmp_path: Path, data_dir: Path, server: FeedServer
) -> None:
    site = Site(server, ignore_paged=True)
    site.publish(*make_items(10, start_id=40000))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    site.publish(*[fresh(50000 + n, minutes=n) for n in range(1, 16)])
    report = bot.poll()[0]
    assert report.new == 10
    assert len(server.hits("/feed/?paged")) == 1
    assert "page 2 brought nothing new" in bot.store.events(kind="gap")[0].reason
    keys = [p.article_key for p in bot.posts(PostFilter(limit=None))]
    assert len(keys) == len(set(keys))


def test_article_in_two_feeds_is_posted_once(tmp_path: Path, data_dir: Path,
                                             server: FeedServer) -> None:
    main = Site(server, "/feed/")
    category = Site(server, "/category/kutim/feed/")
    main.publish(*make_items(5))
    category.publish(*make_items(5)[:2])
    path = tmp_path / "bot.toml"
    _write_config(path, server.url("/feed/"),
                  second_feed_url=server.url("/category/kutim/feed/"))
    bot = Bot(load_config(path), data_dir=data_dir)
    _OPEN.append(bot)
    bot.poll()
    shared = fresh(50001)
    category.publish(shared)
    main.publish(shared)
    reports = bot.poll()
    assert sum(r.new for r in reports) == 1
    assert sum(r.queued for r in reports) == 1
    assert [o.status for o in bot.publish()] == ["posted"]
    assert bot.publish() == []


def test_crash_halfway_through_a_poll_loses_and_duplicates_nothing(
    tmp_path: Path, data_dir: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(server)
    site.publish(*make_items(10))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    site.publish(*[fresh(50000 + n, minutes=n) for n in range(1, 5)])

    class Crash(BaseException):
        """Stands in for the process dying (SIGKILL) mid-poll."""

    calls = {"n": 0}
    original = bot.rendering.render_post

    def dying_render(post_id: int, *, actor: str) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash
        return original(post_id, actor=actor)

    monkeypatch.setattr(bot.rendering, "render_post", dying_render)
    with pytest.raises(Crash):
        bot.poll()
    restarted = bot_for(tmp_path, data_dir, server)
    report = restarted.poll()[0]
    assert report.status == "ok"  # validators were not saved, so the feed is read again
    assert report.new == 1
    keys = [p.article_key for p in restarted.posts(PostFilter(limit=None))]
    assert len(keys) == len(set(keys)) == 14
    outcomes = restarted.publish()
    assert len(outcomes) == 4 and {o.status for o in outcomes} == {"posted"}


def test_filters_record_the_rule_that_matched(tmp_path: Path, data_dir: Path,
                                              server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(3))
    bot = bot_for(tmp_path, data_dir, server,
                  feeds_extra='exclude_categories = ["Opini"]\nexclude_keywords = ["lowongan"]')
    bot.poll()
    site.publish(fresh(50001, categories=("Opini",)),
                 Item(post_id=50002, title="Lowongan kerja CPNS Kutim dibuka",
                      slug="lowongan", published=NOW))
    bot.poll()
    posts = {p.article_key: p for p in bot.posts()}
    opini = posts["editorialkaltim.com#50001"]
    assert opini.status == Status.FILTERED
    assert opini.reason == "filtered by feeds[utama].exclude_categories 'Opini'"
    assert posts["editorialkaltim.com#50002"].reason == (
        "filtered by feeds[utama].exclude_keywords 'lowongan'")


@pytest.mark.parametrize(
    ("guid", "link", "key"),
    [
        ("https://editorialkaltim.com/?p=40010", "https://editorialkaltim.com/a/",
         "editorialkaltim.com#40010"),
        ("https://www.editorialkaltim.com/?p=40010&amp=1", "", "editorialkaltim.com#40010"),
        ("tag:example.org,2024:post-7", "https://example.org/post-7",
         "example.org|guid:tag:example.org,2024:post-7"),
        (None, "https://Example.org/Post-7/?utm_source=x#top",
         "example.org|link:https://example.org/Post-7"),
    ],
)
def test_article_key_prefers_wordpress_id_then_guid_then_normalised_link(
        guid: str | None, link: str, key: str) -> None:
    assert article_key(guid=guid, link=link, feed_url="https://example.org/feed/") == key


def test_normalised_link_drops_tracking_and_sorts_query() -> None:
    assert normalise_link("http://www.site.id/a/?b=2&utm_medium=x&a=1#frag") == (
        "https://site.id/a?a=1&b=2")


@pytest.mark.parametrize(
    ("terms", "category", "tags"),
    [
        (("Kutim", "Pilkada 2024"), "Kutim", ("Pilkada 2024",)),
        (("Uncategorized", "Kutim", "Bimtek"), "Kutim", ("Bimtek",)),
        (("Tak Berkategori",), None, ()),
        ((), None, ()),
    ],
)
def test_primary_category_skips_wordpress_placeholders(
    terms: tuple[str, ...], category: str | None, tags: tuple[str, ...]
) -> None:
    from bot.articles import Article

    article = Article(key="k", feed="f", link="https://x/", title="t", categories=terms)
    assert article.category == category
    assert article.tags == tags


def test_a_stopped_poll_resumes_where_it_left_off(tmp_path: Path, data_dir: Path,
                                                  server: FeedServer) -> None:
    site = Site(server)
    site.publish(*make_items(10))
    bot = bot_for(tmp_path, data_dir, server)
    bot.poll()
    burst = [fresh(50000 + n, minutes=n) for n in range(1, 5)]
    site.publish(*burst)
    new_keys = [f"editorialkaltim.com#{item.post_id}" for item in burst]
    # SIGTERM arrives once two of the four new articles are recorded.
    bot.poller.should_stop = lambda: len(bot.store.known_keys(new_keys)) >= 2
    report = bot.poll()[0]
    assert report.status == "interrupted" and report.new == 2
    bot.poller.should_stop = lambda: False
    again = bot.poll()[0]
    assert again.status == "ok" and again.new == 2  # the feed was read again, not 304
    keys = [p.article_key for p in bot.posts(PostFilter(limit=None))]
    assert len(keys) == len(set(keys)) == 14
