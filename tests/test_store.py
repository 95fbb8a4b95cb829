"""The store: migrations, WAL, compare-and-set status changes, append-only events."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.articles import Article
from bot.errors import NotFound, StoreError
from bot.models import Status
from bot.store import Store, database_url
from bot.store.migrations import MIGRATIONS, migrate

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def make_post(store: Store, key: str = "editorialkaltim.com#1") -> int:
    article = Article(key=key, feed="utama", link="https://editorialkaltim.com/a/",
                      title="Judul", published=T0)
    with store.begin() as conn:
        article_id = store.insert_article(conn, article, T0)
        return store.create_post(conn, article_id=article_id, account="ek", feed="utama",
                                 status=Status.QUEUED, reason="new", slug="a", at=T0,
                                 actor="poller")


def test_migrations_run_in_order_once(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    assert [name for name, _ in MIGRATIONS] == sorted(name for name, _ in MIGRATIONS)
    assert migrate(store.engine) == []  # a second open applies nothing
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        applied = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert applied == [name for name, _ in MIGRATIONS]
    assert {"feeds", "articles", "posts", "events", "accounts", "alerts"} <= tables


def test_times_come_back_timezone_aware_utc(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    post_id = make_post(store)
    post = store.post(post_id)
    assert post.created_at == T0 and post.created_at.tzinfo == UTC
    assert post.published_at == T0


def test_transition_is_compare_and_set(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    post_id = make_post(store)
    assert store.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                            actor="a", at=T0)
    # A second process that still thinks the post is queued changes nothing.
    assert not store.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED],
                                reason="up", actor="b", at=T0)
    events = store.events(post_id=post_id)
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        (None, "queued", "poller"), ("queued", "publishing", "a")]


def test_article_keys_are_unique(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    make_post(store)
    with pytest.raises(StoreError, match="UNIQUE"):
        make_post(store)


def test_alerts_open_once_per_incident(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    assert store.open_alert("k", "broken", T0)
    assert not store.open_alert("k", "broken", T0 + timedelta(minutes=1))
    assert store.resolve_alert("k", T0 + timedelta(minutes=2))
    assert store.open_alert("k", "broken again", T0 + timedelta(minutes=3))


def test_missing_post_is_not_found(data_dir: Path) -> None:
    with pytest.raises(NotFound):
        Store.for_data_dir(data_dir).post(42)


def test_unusable_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.for_data_dir(blocker)


def test_database_url_prefers_the_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    assert database_url(tmp_path) == f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/bot")
    assert database_url(tmp_path) == "postgresql+psycopg://u:p@db:5432/bot"


def test_migrated_schema_matches_the_store_tables(data_dir: Path) -> None:
    """The query-side Table objects in store.py name only columns the migrations made."""
    from bot import store as store_module

    store = Store.for_data_dir(data_dir)
    inspector = sa.inspect(store.engine)
    for table in store_module.metadata.sorted_tables:
        real = {c["name"] for c in inspector.get_columns(table.name)}
        assert {c.name for c in table.columns} == real, table.name


POSTGRES = os.environ.get("BOT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the machine's PostgreSQL (skipped where there is none)."""
    engine = sa.create_engine(POSTGRES)
    try:
        with engine.begin() as conn:
            schema = f"bot_test_{uuid.uuid4().hex[:10]}"
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {str(exc).splitlines()[0]}")
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def test_the_same_store_runs_on_postgresql(postgres_url: str, data_dir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    store = Store.for_data_dir(data_dir)
    assert store.engine.dialect.name == "postgresql"
    post_id = make_post(store)
    assert store.post(post_id).created_at == T0
    assert store.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], reason="up",
                            actor="a", at=T0)
    assert store.transition(post_id, Status.POSTED, expect=[Status.PUBLISHING], reason="ok",
                            actor="a", at=T0 + timedelta(minutes=1),
                            posted_at=T0 + timedelta(minutes=1))
    assert store.last_posted_at("ek") == T0 + timedelta(minutes=1)
    assert store.posted_count("ek", T0, T0 + timedelta(hours=1)) == 1
    with pytest.raises(StoreError):
        make_post(store)
    assert migrate(store.engine) == []
    store.close()


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
    assert found == watch and post.id == post_id and post.title == "Judul"
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


def test_followup_tables_round_trip_on_sqlite(store: Store) -> None:
    _followups_round_trip(store)


def test_followup_tables_round_trip_on_postgresql(postgres_url: str, data_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    store = Store.for_data_dir(data_dir)
    assert store.engine.dialect.name == "postgresql"
    try:
        _followups_round_trip(store)
    finally:
        store.close()
