"""The TOML configuration schema, declared once.

Every setting has its name, default and meaning here; error messages come from this
schema. Secrets never live in the file: the file only names the environment variables
that hold them.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import date, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError
from bot.units import Window, parse_duration, parse_size, parse_time_of_day

DEFAULT_CONFIG_PATH = Path("config/bot.toml")
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


def _size(value: Any) -> int:
    return parse_size(value)


def _window(value: Any) -> Window:
    if isinstance(value, Window):
        return value
    return Window.parse(value)


def _colour(value: Any) -> str:
    if not isinstance(value, str) or not _COLOUR_RE.match(value):
        raise ValueError(f"bad colour {value!r}: use #RRGGBB, e.g. #E30613")
    text = str(value)
    if len(text) == 4:
        text = "#" + "".join(ch * 2 for ch in text[1:])
    return text.upper()


def _existing_file(value: Any, info: ValidationInfo) -> Path:
    if isinstance(value, Path):
        path = value
    elif isinstance(value, str) and value.strip():
        path = Path(value).expanduser()
    else:
        raise ValueError(f"bad path {value!r}")
    if not path.is_absolute():
        base = (info.context or {}).get("base_dir")
        path = (Path(base) / path) if base else path.resolve()
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"bad URL {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"bad URL {value!r}: use an absolute http(s) URL")
    return value.strip()


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]
WindowSpec = Annotated[Window, BeforeValidator(_window)]
Colour = Annotated[str, BeforeValidator(_colour)]
Url = Annotated[str, BeforeValidator(_url)]


class Section(BaseModel):
    """Base of every config table: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(Section):
    """The news site being syndicated."""

    name: str = "Editorial Kaltim"
    url: Url = "https://editorialkaltim.com"

    @property
    def domain(self) -> str:
        """The site's host without ``www.``, as shown on cards (``editorialkaltim.com``)."""
        host = urlsplit(self.url).hostname or ""
        return host.removeprefix("www.")


class FeedConfig(Section):
    """One RSS feed and the accounts it feeds."""

    name: str
    url: Url
    poll_every: Duration = timedelta(minutes=5)
    cron: str | None = None
    accounts: list[str] = Field(min_length=1)
    backlog: int = Field(default=0, ge=0, le=50)
    max_pages: int = Field(default=5, ge=1, le=50)
    include_categories: list[str] = []
    exclude_categories: list[str] = []
    include_keywords: list[str] = []
    exclude_keywords: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                f"bad name {value!r}: use lower-case letters, digits, '-', '_' or '.'"
            )
        return value

    @field_validator("poll_every")
    @classmethod
    def _poll_every(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=5):
            raise ValueError("must be at least 5s")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        value = " ".join(value.split())
        fields = value.split(" ")
        if len(fields) != 5:
            raise ValueError(
                f"bad cron expression {value!r}: it needs 5 fields (minute hour day month "
                f"day_of_week), got {len(fields)}; e.g. \"*/5 6-22 * * mon-fri\"")
        _check_day_of_week(value, fields[4])
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _cron_or_interval(self) -> FeedConfig:
        if self.cron is not None and "poll_every" in self.model_fields_set:
            raise ValueError("set either poll_every or cron, not both")
        return self


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_TERM_RE = re.compile(r"^(?:\*|([a-z]{3})(?:-([a-z]{3}))?)(?:/(\d+))?$")


def _check_day_of_week(expr: str, field: str) -> None:
    """Allow only ``*`` or day names in a crontab's day_of_week field.

    Standard cron counts 0 (and 7) as Sunday; APScheduler 3 counts 0 as Monday, so
    ``1-5`` would silently mean Tuesday to Saturday. Names mean the same everywhere.
    """
    for term in field.lower().split(","):
        match = _DAY_TERM_RE.match(term)
        names = [n for n in (match.groups()[:2] if match else ()) if n]
        if match is None or any(n not in _DAY_NAMES for n in names) or (
                term.startswith("*/")):
            raise ValueError(
                f"bad cron expression {expr!r}: write day_of_week with day names such as "
                f"mon-fri or sat,sun, not {field!r} (cron counts 0 as Sunday but "
                f"APScheduler counts 0 as Monday, so numbers would be ambiguous)")
        if len(names) == 2 and _DAY_NAMES.index(names[0]) > _DAY_NAMES.index(names[1]):
            raise ValueError(
                f"bad cron expression {expr!r}: the day range {term!r} runs backwards; "
                f"weeks run mon to sun here, so write e.g. mon-fri or sat,sun")


class PriorityRule(Section):
    """Posts that match jump the queue (breaking news).

    They may skip ``min_gap`` (default yes); the window, the cap and quiet days hold
    unless the rule says otherwise.
    """

    categories: list[str] = []
    keywords: list[str] = []
    bypass_min_gap: bool = True
    bypass_window: bool = False
    bypass_cap: bool = False
    bypass_quiet_days: bool = False

    @model_validator(mode="after")
    def _matches_something(self) -> PriorityRule:
        if not any(c.strip() for c in self.categories) and \
                not any(k.strip() for k in self.keywords):
            raise ValueError("a priority rule needs categories or keywords to match")
        return self


class ApprovalRule(Section):
    """Posts that match wait in ``pending_approval`` until a human approves them."""

    categories: list[str] = []
    keywords: list[str] = []


class ScheduleConfig(Section):
    """When posts may go out (the ``[schedule]`` table)."""

    windows: list[WindowSpec] = [Window.parse("06:00-22:00")]
    min_gap: Duration = timedelta(minutes=20)
    daily_cap: int = Field(default=12, ge=0)
    max_age: Duration = timedelta(hours=24)
    quiet_days: list[date] = []
    priority: list[PriorityRule] = []
    approval: ApprovalRule = ApprovalRule()
    tick: Duration = timedelta(seconds=10)

    @field_validator("tick")
    @classmethod
    def _tick(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(seconds=10):
            raise ValueError("must be between 1s and 10s, so a post goes out at its slot")
        return value


class ScheduleOverride(Section):
    """Per-account overrides of ``[schedule]``; unset keys inherit."""

    windows: list[WindowSpec] | None = None
    min_gap: Duration | None = None
    daily_cap: int | None = Field(default=None, ge=0)
    max_age: Duration | None = None
    quiet_days: list[date] | None = None

    def updates(self) -> dict[str, Any]:
        """The keys this account sets, as validated values (not dumped: windows stay Windows)."""
        return {name: value for name in type(self).model_fields
                if (value := getattr(self, name)) is not None}


class AccountConfig(Section):
    """One Instagram account (or the outbox, which needs none)."""

    name: str
    publisher: Literal["outbox", "instagram"] = "outbox"
    username_env: str = "IG_USERNAME"
    password_env: str = "IG_PASSWORD"
    totp_secret_env: str = "IG_TOTP_SECRET"
    story: bool = False
    schedule: ScheduleOverride = ScheduleOverride()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                f"bad name {value!r}: use lower-case letters, digits, '-', '_' or '.'"
            )
        return value


class FetchConfig(Section):
    """HTTP limits for feeds, photos and article pages."""

    timeout: Duration = timedelta(seconds=15)
    connect_timeout: Duration = timedelta(seconds=5)
    max_bytes: Size = 10_000_000
    max_redirects: int = Field(default=5, ge=0, le=20)
    photo_max_bytes: Size = 15_000_000
    page_max_bytes: Size = 512_000
    # One budget for a post's whole photo search (every candidate and the og:image
    # page), so six slow candidates cannot hold a poll for minutes.
    photo_budget: Duration = timedelta(seconds=30)
    user_agent: str | None = None
    allow_private_addresses: bool = False


def _font_file(path: Path) -> Path:
    from PIL import ImageFont  # Pillow is heavy; only configs that name a font pay for it

    try:
        ImageFont.truetype(str(path), 20)
    except OSError as exc:
        raise ValueError(f"not a font file Pillow can read: {path} ({exc})") from None
    return path


def _logo_file(path: Path) -> Path:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path, formats=("PNG", "WEBP", "JPEG")) as image:
            width, height = image.size
            image.load()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ValueError(f"not a PNG, WebP or JPEG image Pillow can read: {path} ({exc})") from None
    if width * height > 25_000_000:
        raise ValueError(f"logo too large: {width}×{height} px (use a PNG under 25 MP)")
    return path


FontFile = Annotated[Path, BeforeValidator(_existing_file), AfterValidator(_font_file)]
LogoFile = Annotated[Path, BeforeValidator(_existing_file), AfterValidator(_logo_file)]


class CardFonts(Section):
    """Font files for the card; unset means the Plus Jakarta Sans shipped in assets/fonts.

    A variable font is set to the role's weight on its ``wght`` axis; a static font
    ignores the weight.
    """

    headline: FontFile | None = None
    label: FontFile | None = None
    body: FontFile | None = None
    headline_weight: int = Field(default=800, ge=1, le=1000)
    label_weight: int = Field(default=700, ge=1, le=1000)
    body_weight: int = Field(default=500, ge=1, le=1000)


class CardConfig(Section):
    """The headline card template (``[card]``)."""

    layout: Literal["overlay", "split"] = "overlay"
    accent: Colour = "#E30613"
    category_accents: dict[str, Colour] = {"Advertorial": "#6B7280"}
    background: Colour = "#0F1B2D"
    logo: LogoFile | None = None
    fonts: CardFonts = CardFonts()
    show_date: bool = True
    show_category: bool = True
    story_cta: str = Field(default="Baca selengkapnya", max_length=40)
    quality: int = Field(default=88, ge=60, le=95)

    def accent_for(self, category: str | None) -> str:
        """The accent colour for a category: its own (matched case-insensitively) or the default."""
        if category:
            wanted = category.casefold()
            for name, colour in self.category_accents.items():
                if name.casefold() == wanted:
                    return colour
        return self.accent


DEFAULT_CAPTION_TEMPLATE = (
    "{title}\n\n"
    "{summary}\n\n"
    "Baca selengkapnya di {site_name}: {link}\n"
    "(Link aktif ada di bio.)\n\n"
    "{hashtags}"
)


class CaptionConfig(Section):
    """The Indonesian caption template (``[caption]``).

    Keys are checked in declaration order, so ``template`` (last) is checked against
    the hashtag limit and label above it.
    """

    max_hashtags: int = Field(default=5, ge=0)
    hashtags: list[str] = ["EditorialKaltim"]
    category_hashtags: dict[str, str] = {}
    summary_max_chars: int = Field(default=400, ge=0, le=2000)
    summary_max_sentences: int = Field(default=2, ge=1, le=10)
    utm: dict[str, str] = {
        "utm_source": "instagram",
        "utm_medium": "social",
        "utm_campaign": "editorialkaltim-bot",
    }
    advertorial: Literal["label", "skip"] = "label"
    advertorial_label: str = "[ADVERTORIAL]"
    advertorial_markers: list[str] = []
    template: str = Field(default=DEFAULT_CAPTION_TEMPLATE, validate_default=True)

    @field_validator("max_hashtags")
    @classmethod
    def _max_hashtags(cls, value: int) -> int:
        from bot.limits import MAX_HASHTAGS

        if value > MAX_HASHTAGS:
            raise ValueError(
                f"at most {MAX_HASHTAGS}: since December 2025 Instagram allows "
                f"{MAX_HASHTAGS} hashtags per post and may drop a caption with more"
            )
        return value

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: list[str], info: ValidationInfo) -> list[str]:
        from bot.limits import normalise_hashtag

        for i, tag in enumerate(value):
            if not normalise_hashtag(tag):
                raise ValueError(
                    f"{tag!r} (item {i + 1}) leaves no usable hashtag: use letters or "
                    f"digits (not only digits), at most 40 characters"
                )
        limit = info.data.get("max_hashtags")
        if limit is not None and len(value) > limit:
            raise ValueError(
                f"{len(value)} fixed hashtags but max_hashtags is {limit}: the extra ones "
                f"would never appear"
            )
        return value

    @field_validator("category_hashtags")
    @classmethod
    def _category_hashtags(cls, value: dict[str, str]) -> dict[str, str]:
        from bot.limits import normalise_hashtag

        for term, tag in value.items():
            if tag.strip() and not normalise_hashtag(tag):
                raise ValueError(
                    f"{term} = {tag!r} leaves no usable hashtag (use \"\" to drop the term)"
                )
        return value

    @field_validator("utm")
    @classmethod
    def _utm(cls, value: dict[str, str]) -> dict[str, str]:
        for name, setting in value.items():
            if not name.strip() or not setting.strip():
                raise ValueError(f"empty UTM parameter {name!r} = {setting!r}")
        return value

    @field_validator("advertorial_label")
    @classmethod
    def _advertorial_label(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value or len(value) > 40:
            raise ValueError("must be 1 to 40 characters, e.g. \"[ADVERTORIAL]\"")
        return value

    @field_validator("advertorial_markers")
    @classmethod
    def _advertorial_markers(cls, value: list[str]) -> list[str]:
        for i, marker in enumerate(value):
            if not marker.strip():
                raise ValueError(f"advertorial_markers[{i}] is empty")
        return [marker.strip() for marker in value]

    @field_validator("template")
    @classmethod
    def _template(cls, value: str, info: ValidationInfo) -> str:
        from bot.templates import check_template

        check_template(value, max_hashtags=info.data.get("max_hashtags", 5),
                       label=info.data.get("advertorial_label", ""))
        return value


class PublishConfig(Section):
    """Retry, backoff and exactly-once settings for publishing."""

    max_attempts: int = Field(default=5, ge=1, le=50)
    retry_backoff: Duration = timedelta(minutes=2)
    retry_backoff_max: Duration = timedelta(hours=2)
    cooldown: Duration = timedelta(hours=6)
    publishing_grace: Duration = timedelta(seconds=10)
    # After an ambiguous upload the account is checked at publishing_grace, then at
    # these times after the upload failed; only a post missing at the last check is
    # uploaded again (a configure can land minutes late; posts are min_gap apart anyway).
    settle_after: list[Duration] = Field(
        default_factory=lambda: [timedelta(minutes=1), timedelta(minutes=3),
                                 timedelta(minutes=10)], max_length=10)
    call_timeout: Duration = timedelta(seconds=90)
    stop_timeout: Duration = timedelta(seconds=60)
    # How long to wait before writing again after the disk was full.
    disk_full_backoff: Duration = timedelta(minutes=2)

    @field_validator("settle_after")
    @classmethod
    def _increasing(cls, value: list[timedelta]) -> list[timedelta]:
        if any(b <= a for a, b in pairwise(value)):
            raise ValueError("times must increase, such as [\"1m\", \"3m\", \"10m\"]")
        if value and value[-1] > timedelta(days=1):
            raise ValueError("the last check must come within 1d")
        return value

    @model_validator(mode="after")
    def _after_grace(self) -> PublishConfig:
        if self.settle_after and self.settle_after[0] <= self.publishing_grace:
            raise ValueError("settle_after: the first time must come after publishing_grace "
                             f"({self.publishing_grace.total_seconds():g}s), which is the "
                             "first check")
        return self

    @property
    def settle_schedule(self) -> list[timedelta]:
        """When the exactly-once checks of an ambiguous upload are due, after it failed."""
        return [self.publishing_grace, *self.settle_after]


class AlertsConfig(Section):
    """When the health alarm fires (checked every minute, once per incident)."""

    # Counted only in time the account could have posted: inside its windows, outside
    # quiet days, cooldowns and days whose cap was reached.
    no_posts_after: Duration = timedelta(hours=3)
    feed_failing_after: Duration = timedelta(hours=1)

    @field_validator("no_posts_after", "feed_failing_after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("must be at least 1m (the health check runs every minute)")
        return value


class FollowupConfig(Section):
    """Watching posted articles for corrections and takedowns (DESIGN "Follow-up")."""

    watch_for: Duration = timedelta(days=3)
    check_every: Duration = timedelta(hours=1)
    markers: list[str] = ["Ralat", "Koreksi", "Klarifikasi", "Hak Jawab", "Pembaruan"]
    on_correction: Literal["alert", "update_caption"] = "alert"
    on_takedown: Literal["alert", "archive"] = "alert"

    @field_validator("watch_for")
    @classmethod
    def _watch_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s (use a duration such as 3d)")
        return value

    @field_validator("check_every")
    @classmethod
    def _check_every(cls, value: timedelta) -> timedelta:
        # The check job runs every minute; a shorter interval could not be kept.
        if value < timedelta(minutes=1):
            raise ValueError("must be at least 1m (the follow-up job runs every minute)")
        return value

    @field_validator("markers")
    @classmethod
    def _markers(cls, value: list[str]) -> list[str]:
        cleaned = [m.strip() for m in value]
        if any(not m for m in cleaned):
            raise ValueError("markers must not be empty strings")
        return cleaned


class WebConfig(Section):
    """The desk (``bot web``) and the public link-in-bio page (``[web]``)."""

    public_url: Url | None = None  # the desk's own address, for links from elsewhere
    bio_title: str | None = Field(default=None, min_length=1, max_length=120)
    bio_limit: int = Field(default=30, ge=1, le=200)


TelegramKind = Literal["alerts", "approvals", "failures", "followups", "digest"]
TELEGRAM_KINDS: tuple[TelegramKind, ...] = ("alerts", "approvals", "failures", "followups",
                                            "digest")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    parsed = parse_time_of_day(value)
    assert parsed is not None  # 24:00 is refused without allow_24
    return parsed


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]


class TelegramConfig(Section):
    """Alerts, failed posts and one-tap approvals in the team's Telegram group."""

    token_env: str = "TELEGRAM_BOT_TOKEN"
    chat_ids: list[int] = Field(min_length=1)
    approvers: list[int] = []
    send: list[TelegramKind] = list(TELEGRAM_KINDS)
    digest_at: TimeOfDay = time(21, 0)

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        if not _ENV_NAME_RE.match(value):
            # It may be the token itself, pasted by mistake: never echo it.
            shown = "(not shown)" if ":" in value or len(value) > 40 else repr(value)
            raise ValueError(f"bad environment variable name {shown}: the token itself "
                             f"never goes in the file; name the variable that holds it, "
                             f"e.g. \"TELEGRAM_BOT_TOKEN\"")
        return value

    @field_validator("chat_ids")
    @classmethod
    def _chat_ids(cls, value: list[int]) -> list[int]:
        for i, chat in enumerate(value):
            if chat == 0:
                raise ValueError(f"chat_ids[{i}] is 0: use the chat's id, e.g. "
                                 f"-1001234567890 for a group")
        if len(set(value)) != len(value):
            raise ValueError("a chat is listed twice")
        return value

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, value: list[int]) -> list[int]:
        for i, user in enumerate(value):
            if user <= 0:
                raise ValueError(f"approvers[{i}] = {user}: use a person's numeric Telegram "
                                 f"user id (positive; negative ids are chats, not people)")
        return value

    @field_validator("send")
    @classmethod
    def _send(cls, value: list[TelegramKind]) -> list[TelegramKind]:
        if len(set(value)) != len(value):
            raise ValueError("a kind of message is listed twice")
        return value

    @model_validator(mode="after")
    def _approvals_need_approvers(self) -> TelegramConfig:
        if "approvals" in self.send and not self.approvers:
            raise _CrossRefError(
                "telegram.approvers",
                "approvals are sent but nobody may press their buttons: add Telegram user "
                "ids to approvers, or remove \"approvals\" from send")
        return self


class Config(Section):
    """The whole ``bot.toml``."""

    timezone: str = "Asia/Makassar"
    site: SiteConfig = SiteConfig()
    feeds: list[FeedConfig] = Field(min_length=1)
    accounts: list[AccountConfig] = Field(min_length=1)
    schedule: ScheduleConfig = ScheduleConfig()
    fetch: FetchConfig = FetchConfig()
    card: CardConfig = CardConfig()
    caption: CaptionConfig = CaptionConfig()
    publish: PublishConfig = PublishConfig()
    alerts: AlertsConfig = AlertsConfig()
    followup: FollowupConfig = FollowupConfig()
    telegram: TelegramConfig | None = None
    web: WebConfig = WebConfig()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name such as Asia/Makassar"
            ) from None
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        account_names = [a.name for a in self.accounts]
        _unique(account_names, "accounts", "account")
        _unique([f.name for f in self.feeds], "feeds", "feed")
        for i, feed in enumerate(self.feeds):
            for j, account in enumerate(feed.accounts):
                if account not in account_names:
                    raise _CrossRefError(
                        f"feeds[{i}].accounts[{j}]",
                        f"account {account!r} is not defined in [[accounts]]"
                        f" (defined: {', '.join(account_names)})",
                    )
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The configured timezone."""
        return ZoneInfo(self.timezone)

    def trying_feed(self, url: str, *, backlog: int | None = None) -> Config:
        """This config with its feeds replaced by one feed at ``url``, for all accounts.

        ``bot run --once --feed-url URL`` tries another feed without editing the file.
        The feed is named ``try-<host>`` so that its first poll, its validators and its
        posts are kept apart from the configured feeds' in the store. ``backlog``
        (default: the first configured feed's) says how many of its newest entries
        the first poll queues. Raises ConfigError for a bad URL.
        """
        template = self.feeds[0]
        try:
            clean = _url(url)
        except ValueError as exc:
            raise ConfigError(str(exc), key="--feed-url") from None
        host = (urlsplit(clean).hostname or "feed").lower().removeprefix("www.")
        name = ("try-" + re.sub(r"[^a-z0-9_.-]+", "-", host))[:64].rstrip("-.")
        try:
            feed = FeedConfig(name=name, url=clean, accounts=[a.name for a in self.accounts],
                              backlog=template.backlog if backlog is None else backlog,
                              max_pages=template.max_pages)
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise ConfigError(str(problem.get("msg", exc)), key="--backlog") from None
        return self.model_copy(update={"feeds": [feed]})

    def feed(self, name: str) -> FeedConfig:
        """The feed called ``name``; raises ConfigError if there is none."""
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise ConfigError(
            f"no feed named {name!r} (configured: {', '.join(f.name for f in self.feeds)})"
        )

    def account(self, name: str) -> AccountConfig:
        """The account called ``name``; raises ConfigError if there is none."""
        for account in self.accounts:
            if account.name == name:
                return account
        raise ConfigError(
            f"no account named {name!r}"
            f" (configured: {', '.join(a.name for a in self.accounts)})"
        )

    def schedule_for(self, account: str) -> ScheduleConfig:
        """The account's effective schedule: ``[schedule]`` with its overrides applied."""
        return self.schedule.model_copy(update=self.account(account).schedule.updates())


class _CrossRefError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _unique(names: list[str], section: str, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise _CrossRefError(f"{section}[{i}].name", f"duplicate {what} name {name!r}")
        seen.add(name)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in ("list[...]",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        current = _model_of(field.annotation)
    return list(current.model_fields) if current is not None else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _format_error(error: Any) -> tuple[str, str]:
    loc = tuple(error["loc"])
    key = _key_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        allowed = _allowed_keys(Config, loc)
        hint = difflib.get_close_matches(name, allowed, n=1)
        message = f"unknown key {name!r}"
        if hint:
            message += f" (did you mean {hint[0]!r}?)"
        elif allowed:
            message += f" (allowed: {', '.join(allowed)})"
        return key, message
    if kind == "missing":
        return key, "required key is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    ctx = error.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, _CrossRefError):
        return exc.key, str(exc)
    if kind in ("int_parsing", "int_type", "bool_parsing", "bool_type", "string_type"):
        message += f", got {error.get('input')!r}"
    return key, message


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate the config file; raise ConfigError naming the file, key and problem."""
    if path is None:
        path = os.environ.get("BOT_CONFIG") or DEFAULT_CONFIG_PATH
    file = Path(path)
    shown = str(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "config file not found (pass --config PATH or set BOT_CONFIG)", file=shown
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", file=shown) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=shown) from None
    return parse_config(data, file=shown, base_dir=file.resolve().parent)


def parse_config(data: dict[str, Any], *, file: str, base_dir: Path) -> Config:
    """Validate already-parsed TOML data."""
    try:
        return Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        errors = exc.errors()
        first_key, first_message = _format_error(errors[0])
        more = ""
        if len(errors) > 1:
            rest = [": ".join(_format_error(e)) for e in errors[1:4]]
            more = "; also " + "; ".join(rest)
        raise ConfigError(first_message + more, file=file, key=first_key) from None
    except _CrossRefError as exc:
        raise ConfigError(str(exc), file=file, key=exc.key) from None
