"""The store: SQLAlchemy Core over SQLite (WAL) by default, PostgreSQL via ``DATABASE_URL``.

Every status change of a post is written together with its event, in one transaction,
and guarded by the status it expects (compare-and-set), so the daemon, the CLI and the
web page can act on the same post without stepping on each other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from bot.articles import Article
from bot.errors import NotFound, StoreError
from bot.files import private_file
from bot.models import (
    AccountRecord,
    AccountState,
    ActionState,
    Event,
    FeedState,
    Followup,
    FollowupAction,
    FollowupKind,
    FollowupState,
    PollRequest,
    Post,
    RequestState,
    Role,
    SchedulerRecord,
    Status,
    StoryStatus,
    UploadStage,
    Watch,
)
from bot.store.lock import SchedulerLock, lock_for
from bot.store.migrations import migrate
from bot.store.types import UTCDateTime

# A story that ended because its feed post did (rather than on its own) says so first.
STORY_FOLLOWED_POST = "not posted: the feed post is"
_STORY_ENDS = frozenset({Status.FAILED, Status.SKIPPED, Status.EXPIRED, Status.FILTERED,
                         Status.SEEN})

# The query side of the schema. The migrations build the tables with their own frozen
# definitions (a shipped migration never changes); these mirror the current result,
# and tests/test_store.py checks that the two agree column for column.
metadata = sa.MetaData()

feeds = sa.Table(
    "feeds", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_sha256", sa.String(64)),
    sa.Column("first_polled_at", UTCDateTime()),
    sa.Column("last_polled_at", UTCDateTime()),
    sa.Column("last_status", sa.String(32)),
    sa.Column("last_reason", sa.Text),
    sa.Column("last_success_at", UTCDateTime()),
    sa.Column("last_new_article_at", UTCDateTime()),
    sa.Column("failing_since", UTCDateTime()),
    sa.Column("consecutive_failures", sa.Integer),
)
feed_accounts = sa.Table(
    "feed_accounts", metadata,
    sa.Column("feed", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(64), primary_key=True),
    sa.Column("started_at", UTCDateTime()),
)
articles = sa.Table(
    "articles", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(512)),
    sa.Column("feed", sa.String(64)),
    sa.Column("guid", sa.Text),
    sa.Column("link", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("published_at", UTCDateTime()),
    sa.Column("first_seen_at", UTCDateTime()),
    sa.Column("last_seen_at", UTCDateTime()),
    sa.Column("data", sa.Text),
)
article_feeds = sa.Table(
    "article_feeds", metadata,
    sa.Column("article_id", sa.Integer, primary_key=True),
    sa.Column("feed", sa.String(64), primary_key=True),
    sa.Column("first_seen_at", UTCDateTime()),
)
posts = sa.Table(
    "posts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.Integer),
    sa.Column("account", sa.String(64)),
    sa.Column("feed", sa.String(64)),
    sa.Column("status", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("priority", sa.Integer),
    sa.Column("attempts", sa.Integer),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("queued_at", UTCDateTime()),
    sa.Column("publishing_at", UTCDateTime()),
    sa.Column("publishing_by", sa.String(128)),
    sa.Column("posted_at", UTCDateTime()),
    sa.Column("publisher", sa.String(32)),
    sa.Column("media_id", sa.Text),
    sa.Column("shortcode", sa.Text),
    sa.Column("permalink", sa.Text),
    sa.Column("slug", sa.Text),
    sa.Column("card_path", sa.Text),
    sa.Column("story_path", sa.Text),
    sa.Column("caption", sa.Text),
    sa.Column("alt_text", sa.Text),
    sa.Column("render_notes", sa.Text),
    sa.Column("story_status", sa.String(32)),
    sa.Column("story_reason", sa.Text),
    sa.Column("story_media_id", sa.Text),
    sa.Column("story_posted_at", UTCDateTime()),
    sa.Column("post_now_at", UTCDateTime()),  # m005: a human asked for it to go out now
    sa.Column("edits", sa.Text),  # m005: JSON of the admins' headline/caption/alt text
    sa.Column("upload_stage", sa.String(32)),
    sa.Column("stage_at", UTCDateTime()),
    sa.Column("settle_checks", sa.Integer),
)
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime()),
    sa.Column("post_id", sa.Integer),
    sa.Column("feed", sa.String(64)),
    sa.Column("account", sa.String(64)),
    sa.Column("actor", sa.String(128)),
    sa.Column("kind", sa.String(32)),
    sa.Column("from_status", sa.String(32)),
    sa.Column("to_status", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("data", sa.Text),
)
accounts = sa.Table(
    "accounts", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16)),
    sa.Column("until", UTCDateTime()),
    sa.Column("reason", sa.Text),
    sa.Column("session", sa.Text),
    sa.Column("session_updated_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime()),
)
alerts = sa.Table(
    "alerts", metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("opened_at", UTCDateTime()),
    sa.Column("last_seen_at", UTCDateTime()),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("message", sa.Text),
)
followup_watches = sa.Table(
    "followup_watches", metadata,
    sa.Column("post_id", sa.Integer, primary_key=True),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("until", UTCDateTime()),
    sa.Column("next_check_at", UTCDateTime()),
    sa.Column("title", sa.Text),
    sa.Column("markers", sa.Text),
    sa.Column("in_feed", sa.Boolean),
    sa.Column("last_check_at", UTCDateTime()),
    sa.Column("last_check", sa.Text),
    sa.Column("archived_at", UTCDateTime()),
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("ended_reason", sa.Text),
)
followups = sa.Table(
    "followups", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("post_id", sa.Integer),
    sa.Column("kind", sa.String(16)),
    sa.Column("state", sa.String(16)),
    sa.Column("incident", sa.String(255)),
    sa.Column("opened_at", UTCDateTime()),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("old_title", sa.Text),
    sa.Column("new_title", sa.Text),
    sa.Column("marker", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("permalink", sa.Text),
    sa.Column("action", sa.String(32)),
    sa.Column("action_state", sa.String(16)),
    sa.Column("action_caption", sa.Text),
    sa.Column("action_actor", sa.String(128)),
    sa.Column("action_attempts", sa.Integer),
    sa.Column("action_at", UTCDateTime()),
    sa.Column("action_next_at", UTCDateTime()),
    sa.Column("action_reason", sa.Text),
)

telegram_messages = sa.Table(
    "telegram_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.BigInteger),
    sa.Column("kind", sa.String(32)),
    sa.Column("event_id", sa.Integer),
    sa.Column("post_id", sa.Integer),
    sa.Column("text", sa.Text),
    sa.Column("status", sa.String(16)),
    sa.Column("attempts", sa.Integer),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("sent_at", UTCDateTime()),
    sa.Column("message_id", sa.BigInteger),
    sa.Column("has_photo", sa.Boolean),
    sa.Column("last_error", sa.Text),
    sa.Column("decided_at", UTCDateTime()),
)
telegram_state = sa.Table(
    "telegram_state", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("updated_at", UTCDateTime()),
)
schedulers = sa.Table(
    "schedulers", metadata,
    sa.Column("id", sa.String(160), primary_key=True),
    sa.Column("host", sa.String(128)),
    sa.Column("pid", sa.Integer),
    sa.Column("role", sa.String(16)),
    sa.Column("lock", sa.Text),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("role_since", UTCDateTime()),
    sa.Column("heartbeat_at", UTCDateTime()),
)
poll_requests = sa.Table(
    "poll_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("requested_at", UTCDateTime()),
    sa.Column("source", sa.String(32)),
    sa.Column("client", sa.String(128)),
    sa.Column("feed", sa.String(64)),
    sa.Column("url", sa.Text),
    sa.Column("state", sa.String(16)),
    sa.Column("attempts", sa.Integer),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("handled_at", UTCDateTime()),
    sa.Column("result", sa.Text),
)

_POST_COLUMNS: tuple[Any, ...] = (
    posts,
    articles.c.key.label("article_key"),
    articles.c.title.label("title"),
    articles.c.link.label("link"),
    articles.c.published_at.label("published_at"),
)


def database_url(data_dir: Path) -> str:
    """``DATABASE_URL`` if set (``postgres://`` is accepted), else SQLite in the data dir."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        # Heroku-style hosts hand out postgres://, which SQLAlchemy 2 no longer accepts;
        # without a driver named, use psycopg 3 (the `postgres` extra).
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix):]
        return url
    return f"sqlite:///{data_dir / 'bot.sqlite3'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass(frozen=True)
class PostFilter:
    """Filters for ``bot log`` and the web page's post list."""

    status: Sequence[str] = ()
    feed: str | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None  # words that must all appear in the title (case-insensitive)
    limit: int | None = 50
    followup: str | None = None  # "open": only posts with an open follow-up
    offset: int = 0
    newest: Literal["created", "posted"] = "created"  # what "newest first" sorts by


class Store:
    """Typed access to the bot's tables."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating and migrating if needed) the store at a SQLAlchemy URL."""
        try:
            if url.startswith("sqlite:///"):
                # 0600 before SQLite opens it: its WAL and SHM files copy the mode.
                private_file(Path(url.removeprefix("sqlite:///")))
                engine = sa.create_engine(url, connect_args={"timeout": 30})
                sa_event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            migrate(engine)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open the store: {_describe(exc)}") from exc
        return cls(engine)

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Store:
        """The store for this data dir (or ``DATABASE_URL``)."""
        return cls.open(database_url(data_dir))

    def close(self) -> None:
        """Dispose of pooled connections."""
        self.engine.dispose()

    @property
    def is_postgresql(self) -> bool:
        """Whether the store is on PostgreSQL (else SQLite)."""
        return self.engine.dialect.name == "postgresql"

    def scheduler_lock(self) -> SchedulerLock:
        """The lock that lets one ``bot run`` per store schedule (see bot.store.lock)."""
        return lock_for(self.engine)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A transaction; StoreError on database failure."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"store error: {_describe(exc)}") from exc

    # -- feeds -------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState | None:
        """What the store remembers about feed ``name``, or None if never polled."""
        with self.begin() as conn:
            row = conn.execute(_FEED_STATE, {"feed_name": name}).first()
        return _feed_state_from_row(row) if row is not None else None

    def feed_states(self) -> dict[str, FeedState]:
        """Every feed the store remembers, by name (one query, for the health check)."""
        with self.begin() as conn:
            return {row.name: _feed_state_from_row(row)
                    for row in conn.execute(sa.select(feeds))}

    def update_feed(self, name: str, url: str, **values: Any) -> None:
        """Upsert the feed's row with ``values``."""
        # Every poll writes this row, so its statement is built once per set of columns
        # and reused: building and keying a fresh one costs more than SQLite's write.
        values["url"] = url
        with self.begin() as conn:
            params = {f"set_{column}": value for column, value in values.items()}
            updated = conn.execute(_feed_update(tuple(sorted(values))),
                                   {**params, "feed_name": name}).rowcount
            if not updated:
                values.setdefault("consecutive_failures", 0)
                conn.execute(feeds.insert().values(name=name, **values))

    def started_accounts(self, feed: str) -> set[str]:
        """Accounts whose first poll of ``feed`` is done."""
        with self.begin() as conn:
            rows = conn.execute(
                sa.select(feed_accounts.c.account).where(feed_accounts.c.feed == feed))
            return {r[0] for r in rows}

    def start_accounts(self, feed: str, names: Iterable[str], at: datetime) -> None:
        """Record that ``feed``'s first poll is done for these accounts."""
        with self.begin() as conn:
            for name in names:
                exists = conn.execute(sa.select(feed_accounts.c.feed).where(
                    feed_accounts.c.feed == feed, feed_accounts.c.account == name)).first()
                if not exists:
                    conn.execute(feed_accounts.insert().values(
                        feed=feed, account=name, started_at=at))

    # -- articles ----------------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` already in the store."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self.begin() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                found.update(r[0] for r in conn.execute(
                    sa.select(articles.c.key).where(articles.c.key.in_(chunk))))
        return found

    def article(self, key: str, conn: sa.Connection | None = None) -> tuple[int, Article] | None:
        """The stored article with this key and its id."""
        query = sa.select(articles.c.id, articles.c.data).where(articles.c.key == key)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.begin() as own:
                row = own.execute(query).first()
        return (row.id, Article.from_json(row.data)) if row else None

    def articles_by_key(self, keys: Iterable[str]) -> dict[str, tuple[int, Article]]:
        """The stored articles with these keys: key → (id, article)."""
        found: dict[str, tuple[int, Article]] = {}
        with self.begin() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                rows = conn.execute(sa.select(articles.c.key, articles.c.id, articles.c.data)
                                    .where(articles.c.key.in_(chunk)))
                found.update((r.key, (r.id, Article.from_json(r.data))) for r in rows)
        return found

    def settled_articles(self, ids: Iterable[int], feed: str, accounts: Iterable[str]
                         ) -> set[int]:
        """Of these articles, those already linked to ``feed`` with a post for every account.

        A poll has nothing to record for them but that they were seen again.
        """
        wanted, names = list(dict.fromkeys(ids)), set(accounts)
        linked: set[int] = set()
        posted: dict[int, set[str]] = {}
        with self.begin() as conn:
            for chunk in _chunks(wanted):
                linked.update(r[0] for r in conn.execute(
                    sa.select(article_feeds.c.article_id).where(
                        article_feeds.c.feed == feed, article_feeds.c.article_id.in_(chunk))))
                for article_id, account in conn.execute(
                        sa.select(posts.c.article_id, posts.c.account)
                        .where(posts.c.article_id.in_(chunk))):
                    posted.setdefault(article_id, set()).add(account)
        return {i for i in wanted if i in linked and names <= posted.get(i, set())}

    def touch_articles(self, ids: Iterable[int], at: datetime) -> None:
        """Record that these articles were seen again (one statement per 500)."""
        with self.begin() as conn:
            for chunk in _chunks(list(ids)):
                conn.execute(articles.update().where(articles.c.id.in_(chunk))
                             .values(last_seen_at=at))

    def article_by_id(self, article_id: int) -> Article:
        """The stored article with this id."""
        with self.begin() as conn:
            row = conn.execute(
                sa.select(articles.c.data).where(articles.c.id == article_id)).first()
        if row is None:
            raise NotFound(f"no article with id {article_id}")
        return Article.from_json(row.data)

    def insert_article(self, conn: sa.Connection, article: Article, at: datetime) -> int:
        """Insert a new article (inside the caller's transaction); return its id."""
        result = conn.execute(articles.insert().values(
            key=article.key, feed=article.feed, guid=article.guid, link=article.link,
            title=article.title, published_at=article.date, first_seen_at=at,
            last_seen_at=at, data=article.to_json(),
        ))
        assert result.inserted_primary_key is not None
        article_id = int(result.inserted_primary_key[0])
        conn.execute(article_feeds.insert().values(
            article_id=article_id, feed=article.feed, first_seen_at=at))
        return article_id

    def update_article(
        self, conn: sa.Connection, article_id: int, article: Article, at: datetime
    ) -> None:
        """Replace a known article's data after an edit (inside the caller's transaction)."""
        conn.execute(articles.update().where(articles.c.id == article_id).values(
            link=article.link, title=article.title, published_at=article.date,
            last_seen_at=at, data=article.to_json()))

    def touch_article(self, conn: sa.Connection, article_id: int, feed: str, at: datetime) -> None:
        """Record that the article was seen again, through ``feed``."""
        conn.execute(articles.update().where(articles.c.id == article_id).values(last_seen_at=at))
        exists = conn.execute(sa.select(article_feeds.c.feed).where(
            article_feeds.c.article_id == article_id, article_feeds.c.feed == feed)).first()
        if not exists:
            conn.execute(article_feeds.insert().values(
                article_id=article_id, feed=feed, first_seen_at=at))

    # -- posts -------------------------------------------------------------------

    def post_ids(self, conn: sa.Connection, article_id: int) -> list[int]:
        """Ids of every post of this article."""
        rows = conn.execute(sa.select(posts.c.id).where(posts.c.article_id == article_id))
        return [r[0] for r in rows]

    def unpublished_post_ids(self, conn: sa.Connection, article_id: int) -> list[int]:
        """Posts of this article that have not gone out and may still: re-render on edit."""
        rows = conn.execute(sa.select(posts.c.id).where(
            posts.c.article_id == article_id,
            posts.c.status.in_([Status.QUEUED.value, Status.PENDING_APPROVAL.value])))
        return [r[0] for r in rows]

    def post_accounts(self, conn: sa.Connection, article_id: int) -> set[str]:
        """Accounts that already have a post for this article."""
        rows = conn.execute(sa.select(posts.c.account).where(posts.c.article_id == article_id))
        return {r[0] for r in rows}

    def create_post(
        self,
        conn: sa.Connection,
        *,
        article_id: int,
        account: str,
        feed: str,
        status: Status,
        reason: str,
        slug: str,
        at: datetime,
        actor: str,
        priority: int = 0,
    ) -> int:
        """Create a post and its first event (inside the caller's transaction)."""
        result = conn.execute(posts.insert().values(
            article_id=article_id, account=account, feed=feed, status=status.value,
            reason=reason, priority=priority, attempts=0, created_at=at, updated_at=at,
            queued_at=at if status == Status.QUEUED else None, slug=slug,
        ))
        assert result.inserted_primary_key is not None
        post_id = int(result.inserted_primary_key[0])
        self.add_event(conn, at=at, actor=actor, kind="status", post_id=post_id, feed=feed,
                       account=account, to_status=status.value, reason=reason)
        return post_id

    def post(self, post_id: int) -> Post:
        """The post with this id; NotFound if there is none."""
        with self.begin() as conn:
            row = conn.execute(
                sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id)
                .where(posts.c.id == post_id)).first()
        if row is None:
            raise NotFound(f"no post with id {post_id}")
        return _post_from_row(row)

    def posts(self, filters: PostFilter = PostFilter()) -> list[Post]:
        """Posts, newest first, filtered."""
        query = _filtered(
            sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id),
            filters)
        if filters.newest == "posted":
            query = query.order_by(posts.c.posted_at.desc(), posts.c.id.desc())
        else:
            query = query.order_by(posts.c.created_at.desc(), posts.c.id.desc())
        if filters.limit:
            query = query.limit(filters.limit)
        if filters.offset:
            query = query.offset(filters.offset)
        with self.begin() as conn:
            return [_post_from_row(r) for r in conn.execute(query)]

    def count_posts(self, filters: PostFilter = PostFilter()) -> int:
        """How many posts match ``filters`` (ignoring limit and offset)."""
        query = _filtered(
            sa.select(sa.func.count()).select_from(posts)
            .join(articles, articles.c.id == posts.c.article_id), filters)
        with self.begin() as conn:
            return int(conn.execute(query).scalar() or 0)

    def queued_posts(self, account: str, limit: int | None = None) -> list[Post]:
        """The account's queued posts in publishing order: priority, then oldest article."""
        query = (
            sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id)
            .where(posts.c.account == account, posts.c.status == Status.QUEUED.value)
            # "Post now" goes first, then priority, then the oldest article.
            .order_by(posts.c.post_now_at.is_(None), posts.c.post_now_at.asc(),
                      posts.c.priority.desc(),
                      sa.func.coalesce(articles.c.published_at, posts.c.created_at).asc(),
                      posts.c.id.asc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self.begin() as conn:
            return [_post_from_row(r) for r in conn.execute(query)]

    def posts_with_status(self, status: Status, account: str | None = None) -> list[Post]:
        """Every post in ``status``, oldest first."""
        query = (sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id)
                 .where(posts.c.status == status.value).order_by(posts.c.id))
        if account:
            query = query.where(posts.c.account == account)
        with self.begin() as conn:
            return [_post_from_row(r) for r in conn.execute(query)]

    def posts_with_open_story(self, account: str | None = None) -> list[Post]:
        """Posted posts whose story is still ``pending`` or ``publishing``."""
        query = (sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id)
                 .where(posts.c.status == Status.POSTED.value,
                        posts.c.story_status.in_([StoryStatus.PENDING.value,
                                                  StoryStatus.PUBLISHING.value]))
                 .order_by(posts.c.id))
        if account:
            query = query.where(posts.c.account == account)
        with self.begin() as conn:
            return [_post_from_row(r) for r in conn.execute(query)]

    def posts_moved_to(self, statuses: Iterable[Status], since: datetime) -> list[Post]:
        """Posts now in one of ``statuses`` that reached it at or after ``since``.

        For a day's summary: a post that failed and was posted after a retry counts
        once, as posted.
        """
        wanted = [s.value for s in statuses]
        arrived = sa.exists().where(events.c.post_id == posts.c.id, events.c.kind == "status",
                                    events.c.to_status == posts.c.status, events.c.at >= since)
        query = (sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id)
                 .where(posts.c.status.in_(wanted), arrived)
                 .order_by(posts.c.updated_at, posts.c.id))
        with self.begin() as conn:
            return [_post_from_row(r) for r in conn.execute(query)]

    def last_posted_at(self, account: str) -> datetime | None:
        """When the account last posted."""
        with self.begin() as conn:
            value = conn.execute(sa.select(sa.func.max(posts.c.posted_at)).where(
                posts.c.account == account, posts.c.status == Status.POSTED.value)).scalar()
        return _as_utc(value)

    def posted_count(self, account: str, since: datetime, until: datetime | None = None) -> int:
        """How many posts the account made in ``[since, until)``."""
        query = sa.select(sa.func.count()).select_from(posts).where(
            posts.c.account == account, posts.c.status == Status.POSTED.value,
            posts.c.posted_at >= since)
        if until is not None:
            query = query.where(posts.c.posted_at < until)
        with self.begin() as conn:
            return int(conn.execute(query).scalar() or 0)

    def count_by_status(self, account: str | None = None) -> dict[str, int]:
        """Number of posts per status."""
        query = sa.select(posts.c.status, sa.func.count()).group_by(posts.c.status)
        if account:
            query = query.where(posts.c.account == account)
        with self.begin() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(query)}

    def transition(
        self,
        post_id: int,
        to: Status,
        *,
        expect: Iterable[Status],
        reason: str,
        actor: str,
        at: datetime,
        data: dict[str, Any] | None = None,
        guard: dict[str, Any] | None = None,
        claim: bool = False,
        **values: Any,
    ) -> bool:
        """Move a post to ``to`` if its status is one of ``expect``; record the event.

        Returns False (and changes nothing) when another process moved it first.
        ``guard`` adds columns that must still hold these values (say, the attempt a
        check looked at), so a post that left and re-entered a status is not taken
        for the one seen. ``claim`` is for picking a post to upload: on PostgreSQL
        the row is read ``FOR UPDATE SKIP LOCKED``, so a process that is claiming it
        at this moment makes this one move on at once rather than wait for it.
        """
        expected = [s.value for s in expect]
        conditions = [posts.c.id == post_id, posts.c.status.in_(expected)]
        for name, value in (guard or {}).items():
            column = posts.c[name]
            conditions.append(column.is_(None) if value is None else column == value)
        with self.begin() as conn:
            query = sa.select(posts.c.status, posts.c.feed, posts.c.account)
            row = None
            if claim and self.is_postgresql:
                row = conn.execute(query.where(*conditions)
                                   .with_for_update(skip_locked=True)).first()
            if row is None:
                row = conn.execute(query.where(posts.c.id == post_id)).first()
                if row is None:
                    raise NotFound(f"no post with id {post_id}")
                if claim and self.is_postgresql:
                    return False  # moved on, or locked by a claim under way
            updates: dict[str, Any] = {"status": to.value, "reason": reason, "updated_at": at}
            if to == Status.QUEUED:
                updates.setdefault("queued_at", at)
            updates.update(values)
            if claim and self.is_postgresql:
                # The row is locked FOR UPDATE: the status read is the one it leaves.
                changed = conn.execute(posts.update().where(*conditions)
                                       .values(**updates)).rowcount
                left = row.status if changed else None
            else:
                left = self._move(conn, conditions[2:], post_id, expected, row.status, updates)
            if left is None:
                return False
            self.add_event(conn, at=at, actor=actor, kind="status", post_id=post_id,
                           feed=row.feed, account=row.account, from_status=left,
                           to_status=to.value, reason=reason, data=data)
            self._story_follows(conn, post_id, to, reason, actor=actor, at=at,
                                feed=row.feed, account=row.account)
        return True

    @staticmethod
    def _move(conn: sa.Connection, guards: list[Any], post_id: int, expected: list[str],
              seen: str, updates: dict[str, Any]) -> str | None:
        """Update the post from whichever expected status it is in; that status, or None.

        One UPDATE per expected status (the one just read first): the UPDATE that
        matches says which status the post left, under the write lock. The SELECT before
        can be stale: on SQLite it runs before the transaction takes the lock, and
        another process may move the post in between (two retries of a skipped post once
        both recorded "skipped -> queued").
        """
        for status in sorted(expected, key=lambda s: s != seen):
            statement = posts.update().where(posts.c.id == post_id, posts.c.status == status,
                                             *guards).values(**updates)
            if conn.execute(statement).rowcount:
                return status
        return None

    def update_post_checked(
        self,
        post_id: int,
        *,
        expect: Iterable[Status],
        unchanged_since: datetime,
        actor: str,
        at: datetime,
        kind: str,
        reason: str,
        data: dict[str, Any] | None = None,
        **values: Any,
    ) -> bool:
        """Set columns of a post still in ``expect`` and last updated at ``unchanged_since``.

        Writes the event in the same transaction. Returns False (changing nothing) when
        the post moved on meanwhile: another status, or another update since.
        """
        expected = [s.value for s in expect]
        with self.begin() as conn:
            row = conn.execute(sa.select(posts.c.feed, posts.c.account, posts.c.status)
                               .where(posts.c.id == post_id)).first()
            if row is None:
                raise NotFound(f"no post with id {post_id}")
            changed = conn.execute(
                posts.update().where(posts.c.id == post_id, posts.c.status.in_(expected),
                                     posts.c.updated_at == unchanged_since)
                .values(updated_at=at, **values)).rowcount
            if not changed:
                return False
            self.add_event(conn, at=at, actor=actor, kind=kind, post_id=post_id,
                           feed=row.feed, account=row.account, reason=reason, data=data)
        return True

    def _story_follows(self, conn: sa.Connection, post_id: int, to: Status, reason: str, *,
                       actor: str, at: datetime, feed: str, account: str) -> None:
        """A story waits for its feed post: when the post ends without going out, the
        story ends too (never stuck in ``pending``); when a human brings the post back
        (``bot retry``), a story that only ended for that reason waits again."""
        if to in _STORY_ENDS:
            story_to = StoryStatus.FAILED if to == Status.FAILED else StoryStatus.SKIPPED
            story_reason = f"{STORY_FOLLOWED_POST} {to.value} ({reason})"
            condition = posts.c.story_status == StoryStatus.PENDING.value
        elif to in (Status.QUEUED, Status.PENDING_APPROVAL):
            story_to = StoryStatus.PENDING
            story_reason = f"waits for its feed post again ({to.value})"
            condition = sa.and_(
                posts.c.story_status.in_([StoryStatus.FAILED.value, StoryStatus.SKIPPED.value]),
                posts.c.story_reason.startswith(STORY_FOLLOWED_POST),
            )
        else:
            return
        before = conn.execute(sa.select(posts.c.story_status).where(
            posts.c.id == post_id, condition)).scalar()
        if before is None:
            return
        conn.execute(posts.update().where(posts.c.id == post_id, condition)
                     .values(story_status=story_to.value, story_reason=story_reason))
        self.add_event(conn, at=at, actor=actor, kind="story", post_id=post_id, feed=feed,
                       account=account, from_status=before, to_status=story_to.value,
                       reason=story_reason)

    def update_post(self, post_id: int, **values: Any) -> None:
        """Set columns of a post without a status change (rendering, story fields)."""
        with self.begin() as conn:
            conn.execute(posts.update().where(posts.c.id == post_id).values(**values))

    def story_transition(
        self,
        post_id: int,
        to: StoryStatus,
        *,
        expect: Iterable[StoryStatus | None],
        reason: str,
        actor: str,
        at: datetime,
        data: dict[str, Any] | None = None,
        **values: Any,
    ) -> bool:
        """Move a post's story to ``to`` if its story status is one of ``expect``."""
        expected = [s.value for s in expect if s is not None]
        allow_null = any(s is None for s in expect)
        with self.begin() as conn:
            row = conn.execute(sa.select(posts.c.story_status, posts.c.feed, posts.c.account)
                               .where(posts.c.id == post_id)).first()
            if row is None:
                raise NotFound(f"no post with id {post_id}")
            condition: sa.ColumnElement[bool] = posts.c.story_status.in_(expected)
            if allow_null:
                condition = sa.or_(condition, posts.c.story_status.is_(None))
            changed = conn.execute(
                posts.update().where(posts.c.id == post_id, condition)
                .values(story_status=to.value, story_reason=reason, **values)
            ).rowcount
            if not changed:
                return False
            self.add_event(conn, at=at, actor=actor, kind="story", post_id=post_id,
                           feed=row.feed, account=row.account, from_status=row.story_status,
                           to_status=to.value, reason=reason, data=data)
        return True

    # -- events ------------------------------------------------------------------

    def add_event(
        self,
        conn: sa.Connection | None = None,
        *,
        at: datetime,
        actor: str,
        kind: str,
        reason: str = "",
        post_id: int | None = None,
        feed: str | None = None,
        account: str | None = None,
        from_status: str | None = None,
        to_status: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append an event; in the caller's transaction when ``conn`` is given."""
        values = dict(
            at=at, post_id=post_id, feed=feed, account=account, actor=actor, kind=kind,
            from_status=from_status, to_status=to_status, reason=reason,
            data=json.dumps(data, ensure_ascii=False, default=str) if data else None,
        )
        if conn is not None:
            conn.execute(events.insert().values(**values))
            return
        with self.begin() as own:
            own.execute(events.insert().values(**values))

    def events(
        self,
        *,
        post_id: int | None = None,
        kind: str | None = None,
        feed: str | None = None,
        account: str | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events in the order they happened."""
        query = sa.select(events).order_by(events.c.id)
        if post_id is not None:
            query = query.where(events.c.post_id == post_id)
        if kind:
            query = query.where(events.c.kind == kind)
        if feed:
            query = query.where(events.c.feed == feed)
        if account:
            query = query.where(events.c.account == account)
        if limit:
            query = query.order_by(None).order_by(events.c.id.desc()).limit(limit)
        with self.begin() as conn:
            rows = [Event.from_row(r) for r in conn.execute(query)]
        return sorted(rows, key=lambda e: e.id)

    # -- accounts ----------------------------------------------------------------

    def account(self, name: str) -> AccountRecord:
        """The account's state (``active`` with no session if never seen)."""
        with self.begin() as conn:
            row = conn.execute(sa.select(accounts).where(accounts.c.name == name)).first()
        if row is None:
            return AccountRecord(name, AccountState.ACTIVE, None, "", None, None)
        return AccountRecord(row.name, AccountState(row.state), row.until, row.reason or "",
                             row.session, row.session_updated_at)

    def set_account(self, name: str, at: datetime, **values: Any) -> None:
        """Upsert the account's row."""
        if "state" in values and isinstance(values["state"], AccountState):
            values["state"] = values["state"].value
        with self.begin() as conn:
            changed = conn.execute(accounts.update().where(accounts.c.name == name)
                                   .values(updated_at=at, **values)).rowcount
            if not changed:
                values.setdefault("state", AccountState.ACTIVE.value)
                values.setdefault("reason", "")
                conn.execute(accounts.insert().values(name=name, updated_at=at, **values))

    # -- alerts ------------------------------------------------------------------

    def open_alert(self, key: str, message: str, at: datetime) -> bool:
        """Open an alert incident; False if one with this key is already open."""
        with self.begin() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.key == key)).first()
            if row is not None and row.resolved_at is None:
                conn.execute(alerts.update().where(alerts.c.key == key)
                             .values(last_seen_at=at))
                return False
            if row is None:
                conn.execute(alerts.insert().values(
                    key=key, opened_at=at, last_seen_at=at, message=message))
            else:
                conn.execute(alerts.update().where(alerts.c.key == key).values(
                    opened_at=at, last_seen_at=at, resolved_at=None, message=message))
        return True

    def resolve_alert(self, key: str, at: datetime) -> bool:
        """Close an open incident; True if one was open."""
        with self.begin() as conn:
            return bool(conn.execute(
                alerts.update().where(alerts.c.key == key, alerts.c.resolved_at.is_(None))
                .values(resolved_at=at)).rowcount)

    def open_alerts(self) -> list[tuple[str, str, datetime]]:
        """Open incidents: key, message, opened_at."""
        with self.begin() as conn:
            rows = conn.execute(sa.select(alerts.c.key, alerts.c.message, alerts.c.opened_at)
                                .where(alerts.c.resolved_at.is_(None)))
            return [(r.key, r.message, r.opened_at) for r in rows]

    # -- poll requests (the push trigger) ------------------------------------------

    def add_poll_request(self, *, at: datetime, source: str, client: str, feed: str | None,
                         url: str | None) -> tuple[PollRequest, bool]:
        """Record a poll request; (the request, True) or (the pending twin it joins, False).

        A request for the same target that still waits is not recorded twice: one poll
        answers both, so a burst of publishes on the site costs the worker one poll.
        """
        same_target = sa.and_(
            poll_requests.c.state == RequestState.PENDING.value,
            poll_requests.c.feed.is_(None) if feed is None else poll_requests.c.feed == feed,
            poll_requests.c.url.is_(None) if url is None else poll_requests.c.url == url,
        )
        with self.begin() as conn:
            row = conn.execute(sa.select(poll_requests).where(same_target)
                               .order_by(poll_requests.c.id).limit(1)).first()
            if row is not None:
                return _poll_request_from_row(row), False
            result = conn.execute(poll_requests.insert().values(
                requested_at=at, source=source, client=client, feed=feed, url=url,
                state=RequestState.PENDING.value, attempts=0, next_attempt_at=at, result=""))
            assert result.inserted_primary_key is not None
            request_id = int(result.inserted_primary_key[0])
            row = conn.execute(sa.select(poll_requests)
                               .where(poll_requests.c.id == request_id)).one()
        return _poll_request_from_row(row), True

    def due_poll_requests(self, now: datetime) -> list[PollRequest]:
        """Pending poll requests whose time has come, oldest first."""
        with self.begin() as conn:
            rows = conn.execute(sa.select(poll_requests).where(
                poll_requests.c.state == RequestState.PENDING.value,
                poll_requests.c.next_attempt_at <= now).order_by(poll_requests.c.id))
            return [_poll_request_from_row(r) for r in rows]

    def poll_requests(self, *, limit: int = 50) -> list[PollRequest]:
        """The most recent poll requests, newest first."""
        with self.begin() as conn:
            rows = conn.execute(sa.select(poll_requests)
                                .order_by(poll_requests.c.id.desc()).limit(limit))
            return [_poll_request_from_row(r) for r in rows]

    def update_poll_request(self, request_id: int, **values: Any) -> None:
        """Set columns of a poll request (its state, attempts, next try, result)."""
        if isinstance(values.get("state"), RequestState):
            values["state"] = values["state"].value
        with self.begin() as conn:
            conn.execute(poll_requests.update().where(poll_requests.c.id == request_id)
                         .values(**values))

    def has_link(self, links: Iterable[str]) -> bool:
        """Whether an article with one of these links is in the store."""
        wanted = list(dict.fromkeys(links))
        with self.begin() as conn:
            return conn.execute(sa.select(articles.c.id).where(articles.c.link.in_(wanted))
                                .limit(1)).first() is not None

    # -- follow-ups --------------------------------------------------------------

    def unwatched_posts(self, posted_since: datetime) -> list[Post]:
        """Posted posts (since ``posted_since``) that have no follow-up watch yet."""
        query = (sa.select(*_POST_COLUMNS).join(articles, articles.c.id == posts.c.article_id)
                 .where(posts.c.status == Status.POSTED.value,
                        posts.c.posted_at >= posted_since,
                        ~sa.exists().where(followup_watches.c.post_id == posts.c.id))
                 .order_by(posts.c.id))
        with self.begin() as conn:
            return [_post_from_row(r) for r in conn.execute(query)]

    def add_watch(self, watch: Watch) -> bool:
        """Start watching a post; False if it is watched already."""
        values = {**watch.__dict__, "markers": json.dumps(watch.markers, sort_keys=True)}
        try:
            with self.begin() as conn:
                if conn.execute(sa.select(followup_watches.c.post_id).where(
                        followup_watches.c.post_id == watch.post_id)).first():
                    return False
                conn.execute(followup_watches.insert().values(**values))
        except StoreError as exc:
            # Another thread or process started the watch between the look and the
            # insert (the poll's observe and the follow-up job both start watches): the
            # post is watched, which is all this asked for. The soak found this race
            # failing whole polls.
            if isinstance(exc.__cause__, sa.exc.IntegrityError) and \
                    self.watch(watch.post_id) is not None:
                return False
            raise
        return True

    def watch(self, post_id: int) -> Watch | None:
        """The post's watch, ended or not."""
        with self.begin() as conn:
            row = conn.execute(sa.select(followup_watches)
                               .where(followup_watches.c.post_id == post_id)).first()
        return _watch_from_row(row) if row else None

    def watches(self, *, active: bool = True, due_at: datetime | None = None,
                until_by: datetime | None = None, feed: str | None = None,
                keys: Sequence[str] | None = None,
                limit: int | None = None) -> list[tuple[Watch, Post]]:
        """Watches with their posts: active ones, optionally only those due (or whose
        watch time is over by ``until_by``), of a feed, or of articles with these keys;
        soonest check first."""
        watch_columns = [c.label(f"w_{c.name}") for c in followup_watches.columns]
        query = (sa.select(*watch_columns, *_POST_COLUMNS)
                 .join(posts, posts.c.id == followup_watches.c.post_id)
                 .join(articles, articles.c.id == posts.c.article_id)
                 .order_by(followup_watches.c.next_check_at, followup_watches.c.post_id))
        if active:
            query = query.where(followup_watches.c.ended_at.is_(None))
        if due_at is not None:
            query = query.where(followup_watches.c.next_check_at <= due_at)
        if until_by is not None:
            query = query.where(followup_watches.c.until <= until_by)
        if feed is not None:
            query = query.where(posts.c.feed == feed)
        if keys is not None:
            query = query.where(articles.c.key.in_(list(keys)))
        if limit is not None:
            query = query.limit(limit)
        out = []
        with self.begin() as conn:
            for row in conn.execute(query):
                data = row._asdict()
                watch = {k[2:]: v for k, v in data.items() if k.startswith("w_")}
                post = {k: v for k, v in data.items() if not k.startswith("w_")}
                out.append((_watch_from_row(watch, mapping=True), _post_from_mapping(post)))
        return out

    def watch_count(self) -> int:
        """How many posts are being watched."""
        with self.begin() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(followup_watches)
                                    .where(followup_watches.c.ended_at.is_(None))).scalar()
                       or 0)

    def update_watch(self, post_id: int, conn: sa.Connection | None = None,
                     **values: Any) -> None:
        """Set columns of a watch (``markers`` as a dict)."""
        if "markers" in values:
            values["markers"] = json.dumps(values["markers"], sort_keys=True)
        query = followup_watches.update().where(
            followup_watches.c.post_id == post_id).values(**values)
        if conn is not None:
            conn.execute(query)
            return
        with self.begin() as own:
            own.execute(query)

    def end_watch(self, post_id: int, *, at: datetime, reason: str, actor: str) -> bool:
        """Stop watching a post, with an event; False if it had ended already."""
        with self.begin() as conn:
            changed = conn.execute(followup_watches.update().where(
                followup_watches.c.post_id == post_id, followup_watches.c.ended_at.is_(None))
                .values(ended_at=at, ended_reason=reason)).rowcount
            if changed:
                row = conn.execute(sa.select(posts.c.feed, posts.c.account)
                                   .where(posts.c.id == post_id)).first()
                self.add_event(conn, at=at, actor=actor, kind="watch", post_id=post_id,
                               feed=row.feed if row else None,
                               account=row.account if row else None,
                               reason=f"follow-up watch ended: {reason}")
        return bool(changed)

    def open_followup(self, *, post_id: int, kind: FollowupKind, incident: str,
                      at: datetime, old_title: str, new_title: str, marker: str | None,
                      reason: str, permalink: str | None, actor: str,
                      baseline: dict[str, Any] | None = None) -> Followup | None:
        """Record a follow-up and its event, and move the watch's baseline, in one
        transaction; None if this incident was already recorded on the post."""
        with self.begin() as conn:
            if baseline:
                self.update_watch(post_id, conn, **baseline)
            if conn.execute(sa.select(followups.c.id).where(
                    followups.c.post_id == post_id, followups.c.incident == incident)).first():
                return None
            result = conn.execute(followups.insert().values(
                post_id=post_id, kind=kind.value, state=FollowupState.OPEN.value,
                incident=incident, opened_at=at, old_title=old_title, new_title=new_title,
                marker=marker, reason=reason, permalink=permalink, action_attempts=0))
            assert result.inserted_primary_key is not None
            followup_id = int(result.inserted_primary_key[0])
            row = conn.execute(sa.select(posts.c.feed, posts.c.account)
                               .where(posts.c.id == post_id)).first()
            self.add_event(conn, at=at, actor=actor, kind="followup", post_id=post_id,
                           feed=row.feed if row else None,
                           account=row.account if row else None,
                           reason=f"follow-up #{followup_id} opened: {reason}",
                           data={"followup": followup_id, "kind": kind.value,
                                 "old_title": old_title, "new_title": new_title,
                                 "marker": marker, "permalink": permalink})
        return self.followup(followup_id)

    def followup(self, followup_id: int) -> Followup:
        """One follow-up; NotFound if there is none."""
        with self.begin() as conn:
            row = conn.execute(sa.select(followups).where(followups.c.id == followup_id)).first()
        if row is None:
            raise NotFound(f"no follow-up with id {followup_id}")
        return _followup_from_row(row)

    def followups(self, *, post_id: int | None = None, state: FollowupState | None = None,
                  action_states: Sequence[ActionState] = ()) -> list[Followup]:
        """Follow-ups, oldest first."""
        query = sa.select(followups).order_by(followups.c.id)
        if post_id is not None:
            query = query.where(followups.c.post_id == post_id)
        if state is not None:
            query = query.where(followups.c.state == state.value)
        if action_states:
            query = query.where(followups.c.action_state.in_([s.value for s in action_states]))
        with self.begin() as conn:
            return [_followup_from_row(r) for r in conn.execute(query)]

    def set_followup(self, followup_id: int, *, expect: dict[str, Any] | None = None,
                     event: dict[str, Any] | None = None, **values: Any) -> bool:
        """Update a follow-up if its columns match ``expect`` (compare-and-set), with
        an optional event on its post in the same transaction."""
        for key, value in list(values.items()):
            if hasattr(value, "value"):
                values[key] = value.value
        query = followups.update().where(followups.c.id == followup_id)
        for key, value in (expect or {}).items():
            column = followups.c[key]
            value = value.value if hasattr(value, "value") else value
            query = query.where(column.is_(None) if value is None else column == value)
        with self.begin() as conn:
            if not conn.execute(query.values(**values)).rowcount:
                return False
            if event:
                row = conn.execute(sa.select(followups.c.post_id, posts.c.feed, posts.c.account)
                                   .join(posts, posts.c.id == followups.c.post_id)
                                   .where(followups.c.id == followup_id)).first()
                assert row is not None
                self.add_event(conn, post_id=row.post_id, feed=row.feed, account=row.account,
                               **event)
        return True

    # -- schedulers (bot run heartbeats) -----------------------------------------

    def beat(self, record: SchedulerRecord) -> None:
        """Upsert a running ``bot run``'s heartbeat row."""
        values = {"host": record.host, "pid": record.pid, "role": record.role.value,
                  "lock": record.lock, "started_at": record.started_at,
                  "role_since": record.role_since, "heartbeat_at": record.heartbeat_at}
        with self.begin() as conn:
            changed = conn.execute(schedulers.update().where(schedulers.c.id == record.id)
                                   .values(**values)).rowcount
            if not changed:
                conn.execute(schedulers.insert().values(id=record.id, **values))

    def schedulers(self) -> list[SchedulerRecord]:
        """Every recorded ``bot run``, leaders first, newest heartbeat first."""
        with self.begin() as conn:
            rows = conn.execute(sa.select(schedulers).order_by(
                schedulers.c.role, schedulers.c.heartbeat_at.desc())).all()
        return [SchedulerRecord(id=r.id, host=r.host, pid=r.pid, role=Role(r.role),
                                lock=r.lock or "", started_at=r.started_at,
                                role_since=r.role_since, heartbeat_at=r.heartbeat_at)
                for r in rows]

    def forget_scheduler(self, scheduler_id: str) -> None:
        """Remove a ``bot run``'s row (it stopped cleanly)."""
        with self.begin() as conn:
            conn.execute(schedulers.delete().where(schedulers.c.id == scheduler_id))

    def forget_other_leaders(self, scheduler_id: str) -> list[str]:
        """Remove every leader row but this one (it holds the lock); return their ids."""
        with self.begin() as conn:
            others = conn.execute(sa.select(schedulers.c.id).where(
                schedulers.c.role == Role.LEADER.value,
                schedulers.c.id != scheduler_id)).scalars().all()
            if others:
                conn.execute(schedulers.delete().where(schedulers.c.id.in_(others)))
        return list(others)

    def prune_schedulers(self, before: datetime) -> int:
        """Remove rows whose last heartbeat is older than ``before``; return how many."""
        with self.begin() as conn:
            return int(conn.execute(
                schedulers.delete().where(schedulers.c.heartbeat_at < before)).rowcount)


def _watch_from_row(row: Any, *, mapping: bool = False) -> Watch:
    data = dict(row) if mapping else row._asdict()
    data["markers"] = json.loads(data["markers"] or "{}")
    data["in_feed"] = bool(data["in_feed"])
    return Watch(**data)


def _followup_from_row(row: Any) -> Followup:
    data = row._asdict()
    data["kind"] = FollowupKind(data["kind"])
    data["state"] = FollowupState(data["state"])
    data["action"] = FollowupAction(data["action"]) if data["action"] else None
    data["action_state"] = ActionState(data["action_state"]) if data["action_state"] else None
    data["action_attempts"] = data["action_attempts"] or 0
    data["old_title"] = data["old_title"] or ""
    data["new_title"] = data["new_title"] or ""
    data["reason"] = data["reason"] or ""
    return Followup(**data)


def _filtered(query: Any, filters: PostFilter) -> Any:
    if filters.status:
        query = query.where(posts.c.status.in_(list(filters.status)))
    if filters.feed:
        query = query.where(posts.c.feed == filters.feed)
    if filters.account:
        query = query.where(posts.c.account == filters.account)
    if filters.since:
        query = query.where(posts.c.created_at >= filters.since)
    if filters.until:
        query = query.where(posts.c.created_at < filters.until)
    for word in (filters.q or "").split():
        # LIKE's own wildcards in the search are literal characters.
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(articles.c.title.ilike(f"%{escaped}%", escape="\\"))
    if filters.followup:
        query = query.where(sa.exists().where(
            followups.c.post_id == posts.c.id, followups.c.state == filters.followup))
    if filters.newest == "posted":
        query = query.where(posts.c.posted_at.is_not(None))
    return query


_FEED_STATE = sa.select(feeds).where(feeds.c.name == sa.bindparam("feed_name"))


@lru_cache(maxsize=32)
def _feed_update(columns: tuple[str, ...]) -> sa.Update:
    """``UPDATE feeds SET <columns> WHERE name = :feed_name``, built once per column set."""
    return feeds.update().where(feeds.c.name == sa.bindparam("feed_name")).values(
        {column: sa.bindparam(f"set_{column}") for column in columns})


def _feed_state_from_row(row: Any) -> FeedState:
    data = row._asdict()
    data["consecutive_failures"] = data["consecutive_failures"] or 0
    return FeedState(**data)


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    """``values`` in slices short enough for an ``IN (...)`` on every database."""
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _post_from_row(row: Any) -> Post:
    return _post_from_mapping(row._asdict())


def _post_from_mapping(data: dict[str, Any]) -> Post:
    data["status"] = Status(data["status"])
    data["reason"] = data["reason"] or ""
    data["priority"] = data["priority"] or 0
    data["attempts"] = data["attempts"] or 0
    if data.get("story_status"):
        data["story_status"] = StoryStatus(data["story_status"])
    data["edits"] = json.loads(data["edits"]) if data.get("edits") else {}
    data["upload_stage"] = UploadStage(data["upload_stage"]) if data.get("upload_stage") else None
    data["settle_checks"] = data.get("settle_checks") or 0
    return Post(**data)


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0][:300]


def _poll_request_from_row(row: Any) -> PollRequest:
    data = row._asdict()
    data["state"] = RequestState(data["state"])
    data["client"] = data["client"] or ""
    data["result"] = data["result"] or ""
    data["attempts"] = data["attempts"] or 0
    return PollRequest(**data)
