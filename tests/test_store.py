"""The store, on SQLite and on PostgreSQL alike: migrations, compare-and-set status
changes, claims, append-only events, and every table the bot keeps across restarts.

Each test that takes ``backend`` runs twice: on a SQLite file in the data dir, and on
the machine's PostgreSQL in a fresh schema (tests/conftest.py).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.articles import Article
from bot.errors import NotFound, StoreError
from bot.models import AccountState, Role, SchedulerRecord, Status, StoryStatus
from bot.store import PostFilter, Store, database_url
from bot.store.migrations import MIGRATIONS, migrate

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


@pytest.fixture
def opened(backend: str, data_dir: Path) -> Iterator[Store]:
    """The store for this data dir on the test's backend (DATABASE_URL for PostgreSQL)."""
    store = Store.for_data_dir(data_dir)
    assert store.engine.dialect.name == backend
    yield store
    store.close()


def make_post(store: Store, key: str = "editorialkaltim.com#1", *, account: str = "ek",
              published: datetime | None = T0, priority: int = 0,
              status: Status = Status.QUEUED) -> int:
    article = Article(key=key, feed="utama", link=f"https://editorialkaltim.com/{key}/",
                      title=f"Judul {key}", published=published)
    with store.begin() as conn:
        article_id = store.insert_article(conn, article, T0)
        return store.create_post(conn, article_id=article_id, account=account, feed="utama",
                                 status=status, reason="new", slug="a", at=T0,
                                 actor="poller", priority=priority)


# -- schema ------------------------------------------------------------------------


def test_migrations_run_in_order_once(opened: Store) -> None:
    assert [name for name, _ in MIGRATIONS] == sorted(name for name, _ in MIGRATIONS)
    assert migrate(opened.engine) == []  # a second open applies nothing
    with opened.begin() as conn:
        applied = conn.execute(sa.text("SELECT name FROM _migrations ORDER BY name")).scalars()
        assert list(applied) == [name for name, _ in MIGRATIONS]
    tables = set(sa.inspect(opened.engine).get_table_names())
    assert {"feeds", "articles", "posts", "events", "accounts", "alerts",
            "schedulers"} <= tables


def test_an_older_store_is_brought_up_to_date(backend: str, data_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A store made by the first release, with a post in it, gets every later migration."""
    from bot.store import migrations

    url = database_url(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    first = [m for m in MIGRATIONS if m[0] == "m001_initial"]
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", first)
        assert migrate(engine) == ["m001_initial"]
        post_id = make_post(Store(engine))
    engine.dispose()
    store = Store.open(url)  # runs the rest
    try:
        with store.begin() as conn:
            names = conn.execute(sa.text("SELECT name FROM _migrations")).scalars().all()
        assert sorted(names) == [name for name, _ in MIGRATIONS]
        post = store.post(post_id)
        assert (post.status, post.title) == (Status.QUEUED, "Judul editorialkaltim.com#1")
    finally:
        store.close()


def test_sqlite_store_is_in_wal_mode(data_dir: Path) -> None:
    Store.for_data_dir(data_dir).close()
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrated_schema_matches_the_store_tables(opened: Store) -> None:
    """The query-side Table objects in store.py name only columns the migrations made."""
    from bot import store as store_module

    inspector = sa.inspect(opened.engine)
    for table in store_module.metadata.sorted_tables:
        real = {c["name"] for c in inspector.get_columns(table.name)}
        assert {c.name for c in table.columns} == real, table.name


# -- where the store is ---------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db:5432/bot", "postgresql+psycopg://u:p@db:5432/bot"),
    ("postgresql://u:p@db:5432/bot?sslmode=require",
     "postgresql+psycopg://u:p@db:5432/bot?sslmode=require"),
    ("postgresql+psycopg://u@db/bot", "postgresql+psycopg://u@db/bot"),
    ("  postgres://u@db/bot\n", "postgresql+psycopg://u@db/bot"),
])
def test_database_url_takes_heroku_and_plain_postgres_urls(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str, expected: str) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert database_url(tmp_path) == expected


def test_without_database_url_the_store_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert database_url(tmp_path) == f"sqlite:///{tmp_path / 'bot.sqlite3'}"


def test_unusable_sqlite_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.for_data_dir(blocker)


def test_unreachable_postgresql_is_a_store_error(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:9/bot")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.for_data_dir(tmp_path)


# -- posts ------------------------------------------------------------------------


def test_times_come_back_timezone_aware_utc(opened: Store) -> None:
    post = opened.post(make_post(opened))
    assert post.created_at == T0 and post.created_at.tzinfo == UTC
    assert post.published_at == T0


def test_naive_times_are_refused(opened: Store) -> None:
    post_id = make_post(opened)
    with pytest.raises(StoreError, match="naive datetime"):
        opened.update_post(post_id, next_attempt_at=datetime(2026, 11, 28, 9, 0))


def test_transition_is_compare_and_set(opened: Store) -> None:
    post_id = make_post(opened)
    assert opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                             actor="a", at=T0)
    # A second process that still thinks the post is queued changes nothing.
    assert not opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED],
                                 reason="up", actor="b", at=T0)
    events = opened.events(post_id=post_id)
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        (None, "queued", "poller"), ("queued", "publishing", "a")]


def test_a_guard_keeps_a_stale_check_from_settling_a_newer_attempt(opened: Store) -> None:
    """A post that left ``publishing`` and came back is not the one a check looked at."""
    post_id = make_post(opened)
    first = T0 + timedelta(minutes=1)
    opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                      actor="a", at=first, attempts=1, publishing_at=first)
    seen = opened.post(post_id)
    # Meanwhile another process settled it and claimed it again (attempt 2).
    opened.transition(post_id, Status.QUEUED, expect=[Status.PUBLISHING], reason="retry",
                      actor="b", at=first)
    second = first + timedelta(seconds=30)
    opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                      actor="b", at=second, attempts=2, publishing_at=second)
    stale = {"attempts": seen.attempts, "publishing_at": seen.publishing_at}
    assert not opened.transition(post_id, Status.QUEUED, expect=[Status.PUBLISHING],
                                 reason="late", actor="a", at=second, guard=stale)
    current = opened.post(post_id)
    assert (current.status, current.attempts) == (Status.PUBLISHING, 2)
    fresh = {"attempts": current.attempts, "publishing_at": current.publishing_at}
    assert opened.transition(post_id, Status.POSTED, expect=[Status.PUBLISHING],
                             reason="found", actor="a", at=second, guard=fresh)


def test_racing_claims_let_exactly_one_process_upload(opened: Store) -> None:
    """Eight threads claim the same queued posts at once; each post is claimed once."""
    ids = [make_post(opened, f"editorialkaltim.com#{n}") for n in range(1, 6)]
    wins: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def claimer(worker: int) -> None:
        start.wait()
        for post_id in ids:
            if opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED],
                                 reason=f"worker {worker}", actor=f"w{worker}", at=T0,
                                 claim=True):
                with lock:
                    wins.append((post_id, worker))

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(post_id for post_id, _ in wins) == ids
    for post_id in ids:
        claims = [e for e in opened.events(post_id=post_id) if e.to_status == "publishing"]
        assert len(claims) == 1


def test_a_claim_skips_a_row_another_transaction_is_claiming(postgres_url: str) -> None:
    """PostgreSQL: FOR UPDATE SKIP LOCKED answers at once instead of queueing behind.

    (SQLite has no row locks: it serialises writers, and the compare-and-set decides.)
    """
    opened = Store.open(postgres_url)
    post_id = make_post(opened)
    with opened.engine.connect() as other:
        holding = other.begin()
        other.execute(sa.text("SELECT id FROM posts WHERE id = :id FOR UPDATE"),
                      {"id": post_id})
        assert not opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED],
                                     reason="up", actor="b", at=T0, claim=True)
        holding.rollback()
    assert opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED],
                             reason="up", actor="b", at=T0, claim=True)
    opened.close()


def test_transition_of_a_missing_post_is_not_found(opened: Store) -> None:
    with pytest.raises(NotFound):
        opened.transition(42, Status.SKIPPED, expect=[Status.QUEUED], reason="x", actor="a",
                          at=T0)
    with pytest.raises(NotFound):
        opened.transition(42, Status.PUBLISHING, expect=[Status.QUEUED], reason="x",
                          actor="a", at=T0, claim=True)
    with pytest.raises(NotFound):
        opened.post(42)


def test_article_keys_are_unique(opened: Store) -> None:
    make_post(opened)
    with pytest.raises(StoreError, match=r"(?i)unique"):
        make_post(opened)


def test_one_post_per_article_and_account(opened: Store) -> None:
    post_id = make_post(opened)
    post = opened.post(post_id)
    with pytest.raises(StoreError, match=r"(?i)unique"), opened.begin() as conn:
        opened.create_post(conn, article_id=post.article_id, account="ek", feed="utama",
                           status=Status.QUEUED, reason="again", slug="a", at=T0,
                           actor="poller")
    with opened.begin() as conn:
        assert opened.post_ids(conn, post.article_id) == [post_id]


def test_the_queue_is_priority_then_oldest_article(opened: Store) -> None:
    old = make_post(opened, "k#1", published=T0 - timedelta(hours=3))
    new = make_post(opened, "k#2", published=T0 - timedelta(hours=1))
    urgent = make_post(opened, "k#3", published=T0, priority=10)
    undated = make_post(opened, "k#4", published=None)  # falls back to created_at (T0)
    make_post(opened, "k#5", account="other")
    assert [p.id for p in opened.queued_posts("ek")] == [urgent, old, new, undated]
    assert [p.id for p in opened.queued_posts("ek", limit=2)] == [urgent, old]


def test_post_log_filters_and_counts(opened: Store) -> None:
    a = make_post(opened, "k#1")
    b = make_post(opened, "k#2", account="other")
    make_post(opened, "k#3", status=Status.SEEN)
    at = T0 + timedelta(hours=1)
    opened.transition(a, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                      actor="a", at=at)
    opened.transition(a, Status.POSTED, expect=[Status.PUBLISHING], reason="ok", actor="a",
                      at=at, posted_at=at)
    assert {p.id for p in opened.posts(PostFilter(status=["queued"]))} == {b}
    assert {p.id for p in opened.posts(PostFilter(account="ek"))} == {a, a + 2}
    assert opened.posts(PostFilter(since=T0 + timedelta(days=1))) == []
    assert len(opened.posts(PostFilter(limit=None))) == 3
    assert opened.count_by_status() == {"posted": 1, "queued": 1, "seen": 1}
    assert opened.count_by_status("other") == {"queued": 1}
    assert opened.last_posted_at("ek") == at
    assert opened.last_posted_at("other") is None
    assert opened.posted_count("ek", T0, T0 + timedelta(hours=2)) == 1
    assert opened.posted_count("ek", at + timedelta(seconds=1)) == 0
    assert [p.id for p in opened.posts_with_status(Status.POSTED)] == [a]


def test_story_status_is_its_own_compare_and_set(opened: Store) -> None:
    post_id = make_post(opened)
    assert opened.story_transition(post_id, StoryStatus.PENDING, expect=[None], reason="r",
                                   actor="a", at=T0)
    assert not opened.story_transition(post_id, StoryStatus.PENDING, expect=[None],
                                       reason="r", actor="a", at=T0)
    assert opened.story_transition(post_id, StoryStatus.PUBLISHING,
                                   expect=[StoryStatus.PENDING], reason="up", actor="a", at=T0)
    opened.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                      actor="a", at=T0)
    opened.transition(post_id, Status.POSTED, expect=[Status.PUBLISHING], reason="ok",
                      actor="a", at=T0, posted_at=T0)
    assert [p.id for p in opened.posts_with_open_story()] == [post_id]
    assert opened.story_transition(post_id, StoryStatus.POSTED,
                                   expect=[StoryStatus.PUBLISHING], reason="ok", actor="a",
                                   at=T0, story_media_id="m1", story_posted_at=T0)
    assert opened.posts_with_open_story() == []
    assert opened.post(post_id).story_media_id == "m1"


def test_events_are_appended_in_order_with_their_data(opened: Store) -> None:
    post_id = make_post(opened)
    for n in range(5):
        opened.add_event(at=T0 + timedelta(seconds=n), actor="cli:ana", kind="note",
                         post_id=post_id, reason=f"catatan {n}", data={"n": n, "ok": True})
    notes = opened.events(kind="note")
    assert [e.reason for e in notes] == [f"catatan {n}" for n in range(5)]
    assert notes[2].data == {"n": 2, "ok": True}
    assert [e.reason for e in opened.events(kind="note", limit=2)] == ["catatan 3",
                                                                       "catatan 4"]


# -- what survives a restart -------------------------------------------------------------


def test_feed_validators_and_first_polls_survive_a_reopen(opened: Store,
                                                          data_dir: Path) -> None:
    opened.update_feed("utama", "https://editorialkaltim.com/feed/", etag='"abc"',
                       last_modified="Mon, 28 Oct 2024 06:00:00 GMT", body_sha256="f" * 64,
                       last_polled_at=T0, last_status="ok")
    opened.update_feed("utama", "https://editorialkaltim.com/feed/", last_status="304")
    opened.start_accounts("utama", ["ek", "other"], T0)
    opened.start_accounts("utama", ["ek"], T0)  # idempotent
    opened.close()
    again = Store.for_data_dir(data_dir)
    try:
        state = again.feed_state("utama")
        assert state is not None
        assert (state.etag, state.last_modified, state.body_sha256, state.last_status) == (
            '"abc"', "Mon, 28 Oct 2024 06:00:00 GMT", "f" * 64, "304")
        assert state.last_polled_at == T0 and state.consecutive_failures == 0
        assert again.started_accounts("utama") == {"ek", "other"}
        assert again.feed_state("kutim") is None
    finally:
        again.close()


def test_known_keys_reads_large_sets_in_chunks(opened: Store) -> None:
    with opened.begin() as conn:
        for n in range(1, 521):
            opened.insert_article(conn, Article(key=f"k#{n}", feed="utama",
                                                link=f"https://e.com/{n}/", title="t"), T0)
    wanted = [f"k#{n}" for n in range(10, 1100)]  # three chunks of 500
    assert opened.known_keys(wanted) == {f"k#{n}" for n in range(10, 521)}


def test_accounts_keep_their_state_and_session(opened: Store) -> None:
    assert opened.account("ek").state == AccountState.ACTIVE
    until = T0 + timedelta(hours=6)
    opened.set_account("ek", T0, state=AccountState.COOLDOWN, until=until, reason="429")
    opened.set_account("ek", T0, session="gAAAA-encrypted", session_updated_at=T0)
    record = opened.account("ek")
    assert (record.state, record.until, record.reason, record.session) == (
        AccountState.COOLDOWN, until, "429", "gAAAA-encrypted")


def test_alerts_open_once_per_incident(opened: Store) -> None:
    assert opened.open_alert("k", "broken", T0)
    assert not opened.open_alert("k", "broken", T0 + timedelta(minutes=1))
    assert [key for key, _, _ in opened.open_alerts()] == ["k"]
    assert opened.resolve_alert("k", T0 + timedelta(minutes=2))
    assert not opened.resolve_alert("k", T0 + timedelta(minutes=2))
    assert opened.open_alerts() == []
    assert opened.open_alert("k", "broken again", T0 + timedelta(minutes=3))


def test_scheduler_heartbeats_are_upserted_listed_and_pruned(opened: Store) -> None:
    def record(ident: str, role: Role, beat: datetime) -> SchedulerRecord:
        return SchedulerRecord(id=ident, host="web.1", pid=7, role=role, lock="lock",
                               started_at=T0, role_since=T0, heartbeat_at=beat)

    opened.beat(record("a", Role.STANDBY, T0))
    opened.beat(record("b", Role.LEADER, T0 + timedelta(seconds=5)))
    opened.beat(record("a", Role.STANDBY, T0 + timedelta(seconds=10)))
    rows = opened.schedulers()
    assert [(r.id, r.role, r.heartbeat_at) for r in rows] == [
        ("b", Role.LEADER, T0 + timedelta(seconds=5)),
        ("a", Role.STANDBY, T0 + timedelta(seconds=10))]
    assert opened.prune_schedulers(T0 + timedelta(seconds=6)) == 1
    opened.forget_scheduler("a")
    assert opened.schedulers() == []


def test_a_watch_started_meanwhile_by_another_process_is_no_error(tmp_path: Path) -> None:
    """Two starters race: the other process inserts the watch between this one's look and
    its insert. add_watch says "watched already", never fails (a failed poll, before)."""
    from bot.models import Watch

    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    store, other = Store.open(url), Store.open(url)
    try:
        post_id = make_post(store, key="editorialkaltim.com#78")
        watch = Watch(post_id=post_id, started_at=T0, until=T0 + timedelta(days=3),
                      next_check_at=T0, title="Judul", markers={}, in_feed=True,
                      last_check_at=None, last_check=None, archived_at=None, ended_at=None,
                      ended_reason=None)
        raced: list[bool] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT INTO followup_watches") and not raced:
                raced.append(other.add_watch(watch))

        sa.event.listen(store.engine, "before_cursor_execute", before)
        assert store.add_watch(watch) is False
        assert raced == [True]
        assert store.watch(post_id) == watch
    finally:
        store.close()
        other.close()


def test_a_status_event_names_the_status_the_post_really_left(tmp_path: Path) -> None:
    """Another process moves the post between this one's read and its update (two
    retries of one skipped post, in the concurrency test): the event says what the post
    left under the write lock, so the status events still chain."""
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    store, other = Store.open(url), Store.open(url)
    try:
        post_id = make_post(store, key="editorialkaltim.com#79")
        assert store.transition(post_id, Status.SKIPPED, expect=[Status.QUEUED], reason="x",
                                actor="a", at=T0)
        raced: list[bool] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("UPDATE posts") and not raced:
                raced.append(other.transition(post_id, Status.QUEUED, expect=[Status.SKIPPED],
                                              reason="retry by cli:b", actor="cli:b", at=T0))

        sa.event.listen(store.engine, "before_cursor_execute", before)
        assert store.transition(post_id, Status.QUEUED,
                                expect=[Status.FAILED, Status.QUEUED, Status.SKIPPED],
                                reason="retry by cli:a", actor="cli:a", at=T0)
        assert raced == [True]
        chain = [(e.from_status, e.to_status) for e in store.events(post_id=post_id)
                 if e.kind == "status"]
        assert chain[-2:] == [("skipped", "queued"), ("queued", "queued")]
    finally:
        store.close()
        other.close()


def _followups_round_trip(store: Store) -> None:
    from bot.models import ActionState, FollowupKind, FollowupState, Watch
    from bot.store import PostFilter

    post_id = make_post(store, key="editorialkaltim.com#77")
    store.transition(post_id, Status.POSTED, expect=[Status.QUEUED], reason="ok", actor="a",
                     at=T0, posted_at=T0)
    [unwatched] = store.unwatched_posts(T0 - timedelta(days=3))
    assert unwatched.id == post_id
    watch = Watch(post_id=post_id, started_at=T0, until=T0 + timedelta(days=3),
                  next_check_at=T0 + timedelta(minutes=7), title="Judul",
                  markers={"title": {}, "body": {"Ralat": 1}}, in_feed=True,
                  last_check_at=None, last_check=None, archived_at=None, ended_at=None,
                  ended_reason=None)
    assert store.add_watch(watch) and not store.add_watch(watch)
    assert store.unwatched_posts(T0 - timedelta(days=3)) == []
    [(found, post)] = store.watches(keys=["editorialkaltim.com#77"])
    assert found == watch and post.id == post_id and post.title == "Judul editorialkaltim.com#77"
    assert store.watches(due_at=T0) == []
    assert len(store.watches(due_at=T0 + timedelta(minutes=7))) == 1
    opened = store.open_followup(post_id=post_id, kind=FollowupKind.CORRECTION,
                                 incident="c1", at=T0, old_title="Judul", new_title="Baru",
                                 marker=None, reason="title changed", permalink="p",
                                 actor="followup", baseline={"title": "Baru"})
    assert opened is not None and opened.state == FollowupState.OPEN
    assert store.open_followup(post_id=post_id, kind=FollowupKind.CORRECTION, incident="c1",
                               at=T0, old_title="Judul", new_title="Baru", marker=None,
                               reason="again", permalink="p", actor="followup") is None
    assert store.watch(post_id).title == "Baru"  # type: ignore[union-attr]
    assert [p.id for p in store.posts(PostFilter(followup="open"))] == [post_id]
    assert store.set_followup(opened.id, expect={"action_state": None},
                              action_state=ActionState.PENDING)
    assert not store.set_followup(opened.id, expect={"action_state": None},
                                  action_state=ActionState.SENDING)
    assert store.end_watch(post_id, at=T0, reason="done", actor="a")
    assert not store.end_watch(post_id, at=T0, reason="done", actor="a")
    assert store.watches() == []


def test_followup_tables_round_trip(opened: Store) -> None:
    _followups_round_trip(opened)


def test_data_dir_database_wal_and_shm_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "var"
    old = os.umask(0o022)  # a typical umask: the modes must not depend on it
    try:
        store = Store.for_data_dir(data_dir)
        make_post(store)
        with store.engine.connect() as conn:  # WAL and SHM exist while a connection is open
            conn.execute(sa.text("SELECT 1"))
            modes = {p.name: p.stat().st_mode & 0o777 for p in data_dir.iterdir()}
        store.close()
    finally:
        os.umask(old)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "fresh").stat().st_mode & 0o777 == 0o700
    assert {"bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    Store.for_data_dir(data_dir).close()
    (data_dir / "bot.sqlite3").chmod(0o644)  # as an older version left it
    Store.for_data_dir(data_dir).close()
    assert (data_dir / "bot.sqlite3").stat().st_mode & 0o777 == 0o600


def test_a_post_left_publishing_before_m002_has_no_stage(tmp_path: Path) -> None:
    """Upgrading keeps an in-flight post safe: no stage reads as "configure may have left"."""
    from bot.store.migrations import applied

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = sa.create_engine(url)
    first_name, first = MIGRATIONS[0]
    with engine.begin() as conn:
        applied(conn)  # the _migrations table
        first(conn)
        conn.execute(sa.text("INSERT INTO _migrations (name, applied_at) VALUES (:n, :t)"),
                     {"n": first_name, "t": T0.replace(tzinfo=None)})
        conn.execute(sa.text(
            "INSERT INTO articles (id, key, feed, link, title, first_seen_at, last_seen_at, "
            "data) VALUES (1, 'k#1', 'utama', 'https://x/a/', 'Judul', :t, :t, '{}')"),
            {"t": T0.replace(tzinfo=None)})
        conn.execute(sa.text(
            "INSERT INTO posts (id, article_id, account, feed, status, reason, created_at, "
            "updated_at, publishing_at, attempts) VALUES (1, 1, 'ek', 'utama', 'publishing', "
            "'uploading', :t, :t, :t, 1)"), {"t": T0.replace(tzinfo=None)})
    engine.dispose()
    store = Store.open(url)
    post = store.post(1)
    assert post.status == Status.PUBLISHING
    assert post.upload_stage is None and post.stage_at is None and post.settle_checks == 0
    store.close()
