"""Ordered, named schema migrations, recorded in the ``_migrations`` table.

Each migration is a function ``mNNN_name(conn)`` registered with ``@migration``; they
run in name order, each in its own transaction, and each exactly once. Migrations use
SQLAlchemy DDL so that they run unchanged on SQLite and PostgreSQL. Never edit a
migration that has shipped: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.store.types import UTCDateTime

Migration = Callable[[sa.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register a migration; its function name (``m001_initial``) is its version."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


_migrations_table = sa.Table(
    "_migrations",
    sa.MetaData(),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
)


def applied(conn: sa.Connection) -> list[str]:
    """Names of the migrations already applied."""
    _migrations_table.create(conn, checkfirst=True)
    return [row[0] for row in conn.execute(sa.select(_migrations_table.c.name))]


def migrate(engine: sa.Engine) -> list[str]:
    """Apply every pending migration in order; return the names applied now."""
    with engine.begin() as conn:
        done = set(applied(conn))
    ran = []
    for name, fn in sorted(MIGRATIONS):
        if name in done:
            continue
        with engine.begin() as conn:
            fn(conn)
            conn.execute(
                _migrations_table.insert().values(name=name, applied_at=datetime.now(UTC))
            )
        ran.append(name)
    return ran


@migration
def m001_initial(conn: sa.Connection) -> None:
    """Feeds, articles, posts, events, account state and alerts."""
    meta = sa.MetaData()
    sa.Table(
        "feeds",
        meta,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
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
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    )
    # Which accounts a feed has already had its first poll for: an account added to a
    # feed later starts with "seen", like a new feed, instead of flooding.
    sa.Table(
        "feed_accounts",
        meta,
        sa.Column("feed", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
    )
    sa.Table(
        "articles",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(512), nullable=False, unique=True),
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime()),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    sa.Table(
        "article_feeds",
        meta,
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
        sa.Column("feed", sa.String(64), primary_key=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
    )
    sa.Table(
        "posts",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("queued_at", UTCDateTime()),
        sa.Column("publishing_at", UTCDateTime()),
        # "host:pid" of the process uploading it, so another process never "recovers"
        # a post whose upload is still in flight.
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
        # The story is recorded apart from the feed post: a failed story never
        # touches the post's own status, and an ambiguous story is never retried.
        sa.Column("story_status", sa.String(32)),
        sa.Column("story_reason", sa.Text),
        sa.Column("story_media_id", sa.Text),
        sa.Column("story_posted_at", UTCDateTime()),
        sa.UniqueConstraint("article_id", "account", name="uq_posts_article_account"),
    )
    sa.Index("ix_posts_due", meta.tables["posts"].c.account, meta.tables["posts"].c.status)
    sa.Index("ix_posts_posted", meta.tables["posts"].c.account, meta.tables["posts"].c.posted_at)
    sa.Table(
        "events",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id")),
        sa.Column("feed", sa.String(64)),
        sa.Column("account", sa.String(64)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32)),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.Text),
    )
    sa.Index("ix_events_post", meta.tables["events"].c.post_id)
    sa.Table(
        "accounts",
        meta,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="active"),
        sa.Column("until", UTCDateTime()),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("session", sa.Text),
        sa.Column("session_updated_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime()),
    )
    sa.Table(
        "alerts",
        meta,
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("message", sa.Text, nullable=False),
    )
    meta.create_all(conn)


def _add_column(conn: sa.Connection, table: str, column: sa.Column[Any]) -> None:
    """``ALTER TABLE … ADD COLUMN`` with the column's type compiled for this database."""
    kind = column.type.compile(dialect=conn.dialect)
    default = ""
    if column.server_default is not None:
        arg = getattr(column.server_default, "arg", None)
        default = f" DEFAULT {arg}" if arg is not None else ""
    null = "" if column.nullable else " NOT NULL"
    conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}{default}{null}"))


@migration
def m002_reliability(conn: sa.Connection) -> None:
    """How far a post's upload got, and the exactly-once checks made since (issue 14).

    A post already ``publishing`` when this runs has no stage: it is treated as one
    whose configure may have been sent, the safe assumption.
    """
    _add_column(conn, "posts", sa.Column("upload_stage", sa.String(32), nullable=True))
    _add_column(conn, "posts", sa.Column("stage_at", UTCDateTime(), nullable=True))
    _add_column(conn, "posts", sa.Column("settle_checks", sa.Integer, nullable=False,
                                         server_default="0"))


@migration
def m003_followups(conn: sa.Connection) -> None:
    """Follow-ups: watched posted articles, and corrections and takedowns found on them."""
    meta = sa.MetaData()
    sa.Table("posts", meta, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "followup_watches",
        meta,
        sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("next_check_at", UTCDateTime(), nullable=False),
        # What the bot last saw of the article: the baseline the next poll or check is
        # compared with (title, and marker counts in the title and the cleaned body).
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("markers", sa.Text, nullable=False),
        sa.Column("in_feed", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("last_check_at", UTCDateTime()),
        sa.Column("last_check", sa.Text),
        sa.Column("archived_at", UTCDateTime()),
        sa.Column("ended_at", UTCDateTime()),
        sa.Column("ended_reason", sa.Text),
    )
    sa.Index("ix_followup_watches_due", meta.tables["followup_watches"].c.ended_at,
             meta.tables["followup_watches"].c.next_check_at)
    sa.Table(
        "followups",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        # One follow-up per incident: the same edit seen again opens nothing.
        sa.Column("incident", sa.String(255), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("old_title", sa.Text, nullable=False, server_default=""),
        sa.Column("new_title", sa.Text, nullable=False, server_default=""),
        sa.Column("marker", sa.Text),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("permalink", sa.Text),
        sa.Column("action", sa.String(32)),
        sa.Column("action_state", sa.String(16)),
        sa.Column("action_caption", sa.Text),
        sa.Column("action_actor", sa.String(128)),
        sa.Column("action_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("action_at", UTCDateTime()),
        sa.Column("action_next_at", UTCDateTime()),
        sa.Column("action_reason", sa.Text),
        sa.UniqueConstraint("post_id", "incident", name="uq_followups_incident"),
    )
    sa.Index("ix_followups_post", meta.tables["followups"].c.post_id)
    sa.Index("ix_followups_state", meta.tables["followups"].c.state)
    meta.tables["followup_watches"].create(conn)
    meta.tables["followups"].create(conn)


@migration
def m004_telegram(conn: sa.Connection) -> None:
    """Telegram: the messages to send and sent (for retries and edits), and its cursors."""
    meta = sa.MetaData()
    sa.Table(
        "telegram_messages",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        # alert, resolved, approval, failure, followup, digest
        sa.Column("kind", sa.String(32), nullable=False),
        # The event this message announces: with chat_id unique, so an event is queued
        # once per chat even if two processes read the same events.
        sa.Column("event_id", sa.Integer),
        sa.Column("post_id", sa.Integer),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        # pending, sent, failed (gave up), dropped (no longer worth sending)
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("has_photo", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.Text),
        # When an approval message was edited to show the decision.
        sa.Column("decided_at", UTCDateTime()),
        sa.UniqueConstraint("event_id", "chat_id", name="uq_telegram_messages_event_chat"),
    )
    sa.Index("ix_telegram_messages_status", meta.tables["telegram_messages"].c.status)
    sa.Index("ix_telegram_messages_post", meta.tables["telegram_messages"].c.post_id)
    # Small named values: the last event announced, the getUpdates offset, the last
    # digest's date.
    sa.Table(
        "telegram_state",
        meta,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    meta.create_all(conn)


@migration
def m005_web(conn: sa.Connection) -> None:
    """The desk: "post now" requests and the admins' edits of a post before it goes out."""
    # ADD COLUMN, not a table rebuild: SQLite and PostgreSQL both take it as it is.
    for column in (sa.Column("post_now_at", UTCDateTime()), sa.Column("edits", sa.Text)):
        name = column.compile(dialect=conn.dialect)
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE posts ADD COLUMN {name} {kind}"))


@migration
def m006_poll_requests(conn: sa.Connection) -> None:
    """Poll requests: "poll now" pushed by the site (``POST /hooks/wordpress``)."""
    meta = sa.MetaData()
    sa.Table(
        "poll_requests",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        # Who asked (the client address), for the rate limit and the log.
        sa.Column("client", sa.String(128), nullable=False, server_default=""),
        # NULL feed and NULL url: poll every feed.
        sa.Column("feed", sa.String(64)),
        sa.Column("url", sa.Text),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        # A request naming an article is polled again (bounded) while a page cache
        # still serves the feed without it.
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime()),
        sa.Column("result", sa.Text, nullable=False, server_default=""),
    )
    sa.Index("ix_poll_requests_due", meta.tables["poll_requests"].c.state,
             meta.tables["poll_requests"].c.next_attempt_at)
    sa.Index("ix_poll_requests_client", meta.tables["poll_requests"].c.client,
             meta.tables["poll_requests"].c.requested_at)
    meta.create_all(conn)


@migration
def m007_deployment(conn: sa.Connection) -> None:
    """Schedulers: one row per running ``bot run``, leader or standby, with its heartbeat."""
    meta = sa.MetaData()
    sa.Table(
        "schedulers",
        meta,
        # "host:pid:start", so a reused pid on a restarted host is a new row.
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),  # leader or standby
        sa.Column("lock", sa.Text, nullable=False, server_default=""),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("role_since", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
    )
    meta.create_all(conn)
