"""Records the store hands out: posts, events, feed and account state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """A post's status. ``failed`` means a human must look; transient faults stay queued."""

    SEEN = "seen"
    FILTERED = "filtered"
    PENDING_APPROVAL = "pending_approval"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    POSTED = "posted"
    FAILED = "failed"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class StoryStatus(StrEnum):
    """The story's own status, kept apart from the feed post's."""

    PENDING = "pending"
    PUBLISHING = "publishing"
    POSTED = "posted"
    FAILED = "failed"
    SKIPPED = "skipped"


class UploadStage(StrEnum):
    """How far a ``publishing`` post's upload got: what the exactly-once check must fear.

    Only a configure that may have been sent can land later; a post whose upload never
    got that far is retried at once.
    """

    BEFORE_UPLOAD = "before_upload"  # marked publishing; nothing sent yet
    UPLOADED = "uploaded"  # the photo is uploaded; the configure has not gone out
    CONFIGURE_SENT = "configure_sent"  # the configure (the post itself) may have gone out

    @property
    def may_have_landed(self) -> bool:
        """Whether the post may be on the account (or land there later)."""
        return self is UploadStage.CONFIGURE_SENT


class AccountState(StrEnum):
    """Whether an account may publish."""

    ACTIVE = "active"
    COOLDOWN = "cooldown"
    STOPPED = "stopped"


class Actor(StrEnum):
    """Who changed something; web users are recorded as ``web:<user>``."""

    POLLER = "poller"
    SCHEDULER = "scheduler"
    PUBLISHER = "publisher"
    CLI = "cli"
    STARTUP = "startup"
    FOLLOWUP = "followup"


@dataclass(frozen=True)
class Post:
    """One post: an article for one account, with its rendering and outcome."""

    id: int
    article_id: int
    article_key: str
    account: str
    feed: str
    title: str
    link: str
    status: Status
    reason: str
    priority: int
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None
    publishing_at: datetime | None
    publishing_by: str | None
    posted_at: datetime | None
    published_at: datetime | None
    publisher: str | None
    media_id: str | None
    shortcode: str | None
    permalink: str | None
    slug: str | None
    card_path: str | None
    story_path: str | None
    caption: str | None
    alt_text: str | None
    render_notes: str | None
    story_status: StoryStatus | None
    story_reason: str | None
    story_media_id: str | None
    story_posted_at: datetime | None
    post_now_at: datetime | None = None  # "post now" asked at: windows, gap and cap ignored
    edits: dict[str, str] = field(default_factory=dict)  # an admin's headline/caption/alt_text

    # How far the last upload got (None: unknown, treated as "the configure may have
    # been sent"), when it got there, and the exactly-once checks made since.
    upload_stage: UploadStage | None = None
    stage_at: datetime | None = None
    settle_checks: int = 0

    @property
    def headline(self) -> str:
        """The headline the card shows: an admin's edit, else the article's title."""
        return self.edits.get("headline") or self.title

    @property
    def basename(self) -> str:
        """``<post id>-<slug>``: the stem of the post's files."""
        return f"{self.id}-{self.slug or 'artikel'}"


@dataclass(frozen=True)
class Event:
    """One entry of the append-only event log."""

    id: int
    at: datetime
    post_id: int | None
    feed: str | None
    account: str | None
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    reason: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> Event:
        """Build from a row of the events table."""
        return cls(
            id=row.id, at=row.at, post_id=row.post_id, feed=row.feed, account=row.account,
            actor=row.actor, kind=row.kind, from_status=row.from_status,
            to_status=row.to_status, reason=row.reason,
            data=json.loads(row.data) if row.data else {},
        )


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    first_polled_at: datetime | None
    last_polled_at: datetime | None
    last_status: str | None
    last_reason: str | None
    last_success_at: datetime | None
    last_new_article_at: datetime | None
    failing_since: datetime | None
    consecutive_failures: int


@dataclass(frozen=True)
class AccountRecord:
    """An account's publishing state and its saved session."""

    name: str
    state: AccountState
    until: datetime | None
    reason: str
    session: str | None
    session_updated_at: datetime | None


class FollowupKind(StrEnum):
    """What happened to a posted article."""

    CORRECTION = "correction"
    TAKEDOWN = "takedown"


class FollowupState(StrEnum):
    """A follow-up is ``open`` until it is handled (``done``) or ``dismissed``."""

    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


class ActionState(StrEnum):
    """A follow-up action on the Instagram post, recorded before it is sent.

    ``pending``: decided, not sent yet (or to be retried at ``action_next_at``);
    ``sending``: the call may be in flight, so recovery asks the publisher first;
    ``done``; ``failed``: a human must look.
    """

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


class FollowupAction(StrEnum):
    """What a follow-up does to the Instagram post."""

    UPDATE_CAPTION = "update_caption"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class Followup:
    """One incident on a posted article: a correction or a takedown."""

    id: int
    post_id: int
    kind: FollowupKind
    state: FollowupState
    incident: str
    opened_at: datetime
    closed_at: datetime | None
    old_title: str
    new_title: str
    marker: str | None
    reason: str
    permalink: str | None
    action: FollowupAction | None
    action_state: ActionState | None
    action_caption: str | None
    action_actor: str | None
    action_attempts: int
    action_at: datetime | None
    action_next_at: datetime | None
    action_reason: str | None


@dataclass(frozen=True)
class Watch:
    """A posted article the bot keeps watching, with what it last saw of it."""

    post_id: int
    started_at: datetime
    until: datetime
    next_check_at: datetime
    title: str
    markers: dict[str, dict[str, int]]
    in_feed: bool
    last_check_at: datetime | None
    last_check: str | None
    archived_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None


class Role(StrEnum):
    """What a running ``bot run`` is doing: scheduling, or waiting to take over."""

    LEADER = "leader"
    STANDBY = "standby"


@dataclass(frozen=True)
class SchedulerRecord:
    """One running ``bot run`` as its heartbeat row says."""

    id: str
    host: str
    pid: int
    role: Role
    lock: str
    started_at: datetime
    role_since: datetime
    heartbeat_at: datetime
class RequestState(StrEnum):
    """A poll request's state: waiting for the worker, or handled."""

    PENDING = "pending"
    DONE = "done"


@dataclass(frozen=True)
class PollRequest:
    """A "poll now" from the site (the push trigger); no feed and no url means every feed."""

    id: int
    requested_at: datetime
    source: str
    client: str
    feed: str | None
    url: str | None
    state: RequestState
    attempts: int
    next_attempt_at: datetime
    handled_at: datetime | None
    result: str
