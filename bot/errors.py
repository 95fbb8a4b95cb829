"""The bot's one exception tree.

The core raises only these; broad ``except`` blocks live at the edges (the CLI,
the scheduler's job wrapper and, later, web handlers)::

    BotError
    ├── ConfigError          bad or missing configuration (CLI exit code 2)
    ├── StoreError           the store is unavailable or inconsistent (exit code 1)
    ├── FeedError            a feed could not be fetched or parsed
    ├── FetchError           a photo or article page could not be downloaded
    ├── DiskFull             the disk (or quota) is full: transient, back off and alert once
    ├── RenderError          a card or caption could not be produced
    ├── PreflightError       a rendered post breaks an Instagram limit
    ├── NotFound             a post, feed or account named by a human does not exist
    ├── InvalidAction        a human action that the post's status does not allow
    ├── TelegramError        a Telegram Bot API call failed (never stops publishing)
    │   ├── TelegramUnavailable  connection, timeout, 5xx: try again later
    │   ├── TelegramRateLimited  429: wait ``retry_after`` seconds
    │   └── TelegramRejected     any other refusal (4xx): this call never succeeds as it is
    └── PublishError         publishing a post failed
        ├── Transient        connection, timeout, 5xx: back off and retry
        │   └── Ambiguous    the upload may have landed: check before retrying
        ├── RateLimited      429, PleaseWaitFewMinutes, FeedbackRequired: cool down
        ├── SessionExpired   LoginRequired: relogin once, then alert
        ├── NeedsHuman       challenge, bad password, suspension: stop the account
        └── PostRejected     this post can never be published (bad image, …)
"""

from __future__ import annotations

from datetime import timedelta


class BotError(Exception):
    """Base class of every error the bot raises on purpose."""


class ConfigError(BotError):
    """Configuration is missing or invalid.

    ``file`` and ``key`` name where the problem is, so that the message can say
    ``config/bot.toml: feeds[0].poll_every: bad duration '5 menit'``.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        self.problem = message
        parts = [p for p in (file, key) if p]
        super().__init__(": ".join([*parts, message]))


class StoreError(BotError):
    """The store cannot be opened, migrated or written."""


class FeedError(BotError):
    """A feed could not be fetched or parsed; ``reason`` is for the post log."""


class FetchError(BotError):
    """A download (photo, article page) failed or was refused."""


class DiskFull(BotError):
    """Writing a file failed for lack of space: transient, never a reason to fail a post.

    The bot backs off, alerts once, and carries on when space returns.
    """

    def __init__(self, message: str, *, path: object = None) -> None:
        super().__init__(message)
        self.path = path


class RenderError(BotError):
    """A card or caption could not be rendered."""


class PreflightError(BotError):
    """A rendered post breaks one of Instagram's limits.

    The message carries the reason in Indonesian and English.
    """


class NotFound(BotError):
    """A post, feed or account named by a human does not exist."""


class InvalidAction(BotError):
    """A human action that the post's current status does not allow."""


class TelegramError(BotError):
    """A Telegram Bot API call failed; the message never carries the bot token."""

    def __init__(self, message: str, *, method: str = "", code: int | None = None) -> None:
        super().__init__(f"{method}: {message}" if method else message)
        self.method = method
        self.code = code


class TelegramUnavailable(TelegramError):
    """Telegram could not be reached, timed out or answered 5xx: try again later."""


class TelegramRateLimited(TelegramError):
    """Telegram answered 429: nothing may be sent for ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, method: str = "") -> None:
        super().__init__(message, method=method, code=429)
        self.retry_after = retry_after


class TelegramRejected(TelegramError):
    """Telegram refused the call (bad token, unknown chat, bad request): do not repeat it."""


class PublishError(BotError):
    """Publishing a post failed; subclasses say what the bot should do next."""


class Transient(PublishError):
    """A passing fault (connection, timeout, 5xx): back off and retry."""


class Ambiguous(Transient):
    """The upload may have landed (timeout or 5xx around configure).

    The exactly-once check must look at the account's recent media before any retry.
    """


class RateLimited(PublishError):
    """Instagram asked the account to slow down: put it in cooldown."""

    def __init__(self, message: str, *, cooldown: timedelta | None = None) -> None:
        super().__init__(message)
        self.cooldown = cooldown


class SessionExpired(PublishError):
    """The saved session is no longer valid (``LoginRequired``)."""


class NeedsHuman(PublishError):
    """A challenge, bad password or suspension: stop the account and alert."""


class PostRejected(PublishError):
    """This post can never be published as it is (for example a bad image)."""
