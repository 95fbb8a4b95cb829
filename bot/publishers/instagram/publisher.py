"""The Instagram publisher: posts cards with instagrapi, like a careful human operator.

- The session comes from the store (``bot login`` put it there); the first call of a
  process checks it with one cheap request (``accounts/current_user``). When Instagram
  ends it (``LoginRequired``), the publisher logs in again once, with the same device
  and the password from the environment, and saves the new session; a second refusal
  is the human's turn (``SessionExpired``).
- A feed post is ``photo_rupload`` then ``photo_configure``: instagrapi's
  ``photo_upload`` would re-send ``media/configure/`` up to ten times when an answer
  is empty, and exactly-once allows one configure per attempt. The alt text goes in
  ``custom_accessibility_caption``.
- A story is ``photo_rupload`` then ``photo_configure_to_story`` with one link sticker
  (the article URL with UTM parameters).
- Every call is bounded by ``[publish] call_timeout``; errors are mapped by class
  (:mod:`bot.publishers.instagram.errors`), and a fault once the configure request has left
  is ``Ambiguous``: the publishing service then asks :meth:`find_published`, which
  reads the account's recent media for the article's link.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from instagrapi import Client
from instagrapi.extractors import extract_media_v1
from instagrapi.types import StoryLink
from pydantic import ValidationError

from bot.config import AccountConfig, Config
from bot.dates import local_time
from bot.errors import (
    Ambiguous,
    BotError,
    NeedsHuman,
    PostRejected,
    PublishError,
    SessionExpired,
    Transient,
)
from bot.models import AccountState, Actor, UploadStage
from bot.publishers.base import (
    CHECK_SLACK,
    LivePost,
    LiveState,
    PostFiles,
    Progress,
    Published,
    Publisher,
)
from bot.publishers.instagram.errors import describe, is_login_required, translate
from bot.publishers.instagram.session import (
    Credentials,
    build_client,
    load_session,
    save_session,
    timezone_offset,
)
from bot.publishers.instagram.transport import Call, CallLimits
from bot.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

# How much of the account's own feed the exactly-once check reads: at least the 20
# most recent media, and on back past the moment the upload began, less CHECK_SLACK
# (other posts may have gone out while a late configure was settling: with min_gap =
# 0, a priority rule or publish --force, many can). It reads at most CHECK_MEDIA
# media plus every post the bot itself made since that moment (the caller's
# ``newer``; pages hold 12 to 20), and never more than MAX_CHECK_PAGES pages.
RECENT_MEDIA = 20
_MAX_PAGES = 3
CHECK_MEDIA = 200
MAX_CHECK_PAGES = 100

PERMALINK = "https://www.instagram.com/p/{code}/"
STORY_PERMALINK = "https://www.instagram.com/stories/{username}/{pk}/"


class InstagramPublisher(Publisher):
    """Publishes an account's posts to Instagram through instagrapi."""

    name = "instagram"
    lands_late = True  # a configure answered with an error can show on the account later

    def __init__(self, account: AccountConfig, *, config: Config, store: Store,
                 clock: Callable[[], datetime]) -> None:
        self.account = account
        self.config = config
        self.store = store
        self.clock = clock
        self.limits = CallLimits(timeout=config.publish.call_timeout.total_seconds())
        self._lock = threading.RLock()
        self._client: Client | None = None
        self._loaded_at: datetime | None = None
        self._saved: str | None = None
        self.username: str | None = None

    # -- Publisher ---------------------------------------------------------------------

    def publish(self, files: PostFiles, progress: Progress | None = None) -> Published:
        """Upload the card and configure it as a feed post with caption and alt text."""
        card = _image(files.card, "card")
        extra: dict[str, str] = {}
        if files.alt_text.strip():
            extra["custom_accessibility_caption"] = files.alt_text.strip()
        told = progress or _ignore

        def post(client: Client) -> Published:
            upload_id, width, height = client.photo_rupload(card)
            told(UploadStage.UPLOADED)
            # Recorded before the request leaves: from here a crash may leave a post
            # that lands later, and only the settle window may decide it is missing.
            told(UploadStage.CONFIGURE_SENT)
            configured = client.photo_configure(upload_id, width, height, files.caption,
                                                extra_data=extra)
            media = _configured_media(configured)
            return Published(media_id=str(media.pk), shortcode=media.code,
                             permalink=PERMALINK.format(code=media.code))

        return self._run("feed post", post, post_specific=True)

    def publish_story(self, files: PostFiles) -> Published:
        """Upload the story card with a link sticker to the article (with UTM)."""
        if files.story is None:
            raise PostRejected("story: this post has no story card")
        card = _image(files.story, "story card")
        try:
            link = StoryLink(webUri=files.link)
        except ValidationError as exc:
            raise PostRejected(f"story: the link sticker URL is not valid: {files.link!r}"
                               ) from exc

        def post(client: Client) -> Published:
            upload_id, width, height = client.photo_rupload(card, for_story=True)
            configured = client.photo_configure_to_story(upload_id, width, height, "",
                                                         links=[link])
            media = _configured_media(configured)
            username = self.username or client.username or self.account.name
            return Published(media_id=str(media.pk), shortcode=media.code,
                             permalink=STORY_PERMALINK.format(username=username, pk=media.pk))

        return self._run("story", post, post_specific=True)

    def find_published(self, files: PostFiles, since: datetime | None = None, *,
                       newer: int = 0) -> Published | None:
        """The exactly-once check: the post among the account's recent media, or None.

        A post is this article's if its caption carries the article's link (with or
        without the UTM parameters). The feed is read with ``private_request``
        directly: instagrapi's ``user_medias_v1`` answers a network error with an
        empty list, which here would read as "not posted" and post a second time.
        With ``since`` it reads on until it has passed media older than that; when
        the pages it may read are not enough it raises rather than answer "not posted".
        """
        back_to = (since - CHECK_SLACK).timestamp() if since is not None else None
        budget = CHECK_MEDIA + max(0, newer)
        def look(client: Client) -> Published | None:
            user_id = client.user_id
            if not user_id:
                raise SessionExpired("exactly-once check: the saved session has no user id")
            max_id = ""
            seen = 0
            for _ in range(MAX_CHECK_PAGES):
                if seen >= budget:
                    break
                reply = client.private_request(
                    f"feed/user/{user_id}/",
                    params={"max_id": max_id, "count": RECENT_MEDIA,
                            "rank_token": client.rank_token, "ranked_content": "true"})
                items = reply.get("items") or []
                for item in items:
                    if _caption_has_link(_caption(item), files.link, files.article_link):
                        code = str(item.get("code") or "")
                        return Published(media_id=str(item.get("pk") or item.get("id")),
                                         shortcode=code or None,
                                         permalink=PERMALINK.format(code=code))
                seen += len(items)
                max_id = str(reply.get("next_max_id") or "")
                if not max_id or not reply.get("more_available", True):
                    return None  # the whole feed was read
                times = [t for t in (_taken_at(item) for item in items) if t is not None]
                past = back_to is None or (bool(times) and min(times) < back_to)
                if seen >= RECENT_MEDIA and past:
                    return None
            raise Transient(f"exactly-once check: {seen} media read and still not back to "
                            "the upload's time; will look again")

        return self._run("exactly-once check", look)

    # -- follow-ups ------------------------------------------------------------------

    def edit_caption(self, post: LivePost, caption: str) -> None:
        """instagrapi's ``media_edit``: ``media/{id}/edit_media/`` with the new caption."""
        def edit(client: Client) -> None:
            media_id = self._media_id(client, post)
            # media_edit reads the media first, and instagrapi's media_info answers a
            # private API fault by trying the public web API; read it here so that a
            # fault is raised (and mapped) instead.
            pk = client.media_pk(media_id)
            client._medias_cache[pk] = client.media_info_v1(pk)
            reply = client.media_edit(media_id, caption)
            if not isinstance(reply, dict) or reply.get("status") != "ok":
                raise Transient(f"edit_media answered without status ok: {_short(reply)}")

        self._run("caption edit", edit, post_specific=True)

    def archive(self, post: LivePost) -> None:
        """instagrapi's ``media_archive``: ``media/{id}/only_me/``."""
        def hide(client: Client) -> None:
            if not client.media_archive(self._media_id(client, post)):
                raise Transient("only_me answered without status ok")

        self._run("archive", hide, post_specific=True)

    def live_state(self, post: LivePost) -> LiveState:
        """The caption from ``media/{id}/info/``; archived if it is in ``feed/only_me_feed/``.

        Read with ``private_request`` so that a fault raises instead of reading as
        "no caption" or "not archived".
        """
        def look(client: Client) -> LiveState:
            pk = str(post.media_id).split("_")[0]
            reply = client.private_request(f"media/{pk}/info/")
            items = reply.get("items") or []
            if not items:
                raise PostRejected(f"media {pk} is not on Instagram any more")
            caption = _caption(items[0])
            archived = False
            max_id = ""
            for _ in range(_MAX_PAGES):
                page = client.private_request(
                    "feed/only_me_feed/", params={"max_id": max_id} if max_id else None)
                for item in page.get("items") or []:
                    media = item.get("media", item)
                    if str(media.get("pk")) == pk:
                        archived = True
                max_id = str(page.get("max_id") or page.get("next_max_id") or "")
                if archived or not max_id or not page.get("more_available", bool(max_id)):
                    break
            return LiveState(caption=caption, archived=archived)

        return self._run("follow-up check", look)

    def _media_id(self, client: Client, post: LivePost) -> str:
        # "<pk>_<user id>": instagrapi would otherwise look the owner up with one more call.
        media_id = str(post.media_id)
        if "_" not in media_id and client.user_id:
            media_id = f"{media_id}_{client.user_id}"
        return media_id

    def check(self) -> str:
        """One cheap call to validate the session, plus the account's state."""
        state = self._state()
        try:
            with self._lock:
                self._session(relogin=False)
        except PublishError as exc:
            exc.args = (f"{exc}; {state}",)
            raise
        return f"session valid for @{self.username}; {state}"

    def close(self) -> None:
        """Close the client's connections."""
        with self._lock:
            self._drop_client()

    # -- the session ---------------------------------------------------------------------

    def _state(self) -> str:
        record = self.store.account(self.account.name)
        if record.state == AccountState.COOLDOWN and record.until is not None:
            if record.until > self.clock():
                until = local_time(record.until, self.config.tz)
                return f"account in cooldown until {until}: {record.reason}"
            return "account active (cooldown over)"
        if record.state == AccountState.STOPPED:
            return f"account stopped: {record.reason}"
        return "account active"

    def _session(self, *, relogin: bool) -> Client:
        """The checked client; loads the saved session and checks it on first use.

        Reloaded when the stored session is newer than ours (a human ran ``bot login``
        while this process kept an old one).
        """
        record = self.store.account(self.account.name)
        if self._client is not None and record.session_updated_at == self._loaded_at:
            return self._client
        self._drop_client()
        try:
            stored = load_session(self.store, self.account.name)
            if stored is None:
                raise SessionExpired(f"no saved Instagram session for account "
                                     f"{self.account.name!r}: run `bot login --account "
                                     f"{self.account.name}`")
            client = build_client(stored.settings, config=self.config, limits=self.limits,
                                  now=self.clock())
        except BotError as exc:
            raise self._translate(exc, "loading the session", None, post_specific=False
                                  ) from exc
        self._client, self._loaded_at = client, stored.updated_at
        self._saved = _fingerprint(stored.settings)
        call: Call | None = None
        try:
            with self.limits.call("session check") as call:
                try:
                    me = client.account_info()
                except Exception as exc:
                    if not (relogin and is_login_required(exc)):
                        raise
                    self._relogin(client, exc, "session check")
                    me = client.account_info()
        except Exception as exc:
            self._drop_client()
            raise self._translate(exc, "session check", call, post_specific=False) from exc
        self.username = str(me.username)
        self._save_if_changed(client)
        return client

    def _relogin(self, client: Client, cause: BaseException, label: str) -> None:
        """Log in again once, with the same device settings; save the new session."""
        creds = Credentials.from_env(self.account)
        if not creds.can_login:
            raise SessionExpired(
                f"{label}: Instagram ended the session ({describe(cause)}) and "
                f"{self.account.username_env}/{self.account.password_env} are not set, so "
                f"the bot cannot log in again: run `bot login --account {self.account.name}`")
        log.warning("Instagram ended the session (%s); logging in again once",
                    type(cause).__name__, extra={"account": self.account.name})
        client.login(creds.username, creds.password, relogin=True,
                     verification_code=creds.totp_code())
        now = self.clock()
        save_session(self.store, self.account.name, client.get_settings(), now)
        self._loaded_at = self.store.account(self.account.name).session_updated_at
        self._saved = _fingerprint(client.get_settings())
        self.store.add_event(at=now, actor=Actor.PUBLISHER, kind="login", account=self.account.name,
                             reason=f"logged in again after {describe(cause)}")

    def _save_if_changed(self, client: Client) -> None:
        settings = client.get_settings()
        fingerprint = _fingerprint(settings)
        if fingerprint == self._saved:
            return
        record = self.store.account(self.account.name)
        if record.session_updated_at != self._loaded_at:
            # Someone saved a newer session meanwhile (bot login): theirs wins.
            self._drop_client()
            return
        now = self.clock()
        save_session(self.store, self.account.name, settings, now)
        self._loaded_at = self.store.account(self.account.name).session_updated_at
        self._saved = fingerprint

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        for session in (client.private, client.public, getattr(client, "graphql", None)):
            if session is not None:
                session.close()

    # -- calls -----------------------------------------------------------------------------

    def _run(self, label: str, operation: Callable[[Client], T], *,
             post_specific: bool = False) -> T:
        """Run one operation, bounded, with one relogin when Instagram ends the session."""
        with self._lock:
            relogged = False
            while True:
                client = self._session(relogin=True)
                # Months of uptime may cross a DST change in zones that have one.
                client.set_timezone_offset(timezone_offset(self.config, self.clock()),
                                           timezone_name=self.config.timezone)
                try:
                    with self.limits.call(label) as call:
                        result = operation(client)
                except Exception as exc:
                    # A LoginRequired is Instagram refusing the request, configure
                    # included, so trying again after a relogin cannot post twice.
                    if is_login_required(exc) and not relogged:
                        relogged = True
                        try:
                            with self.limits.call("relogin") as relogin_call:
                                self._relogin(client, exc, label)
                        except Exception as again:
                            self._drop_client()
                            raise self._translate(again, label, relogin_call,
                                                  post_specific=False) from again
                        continue
                    error = self._translate(exc, label, call, post_specific=post_specific)
                    if isinstance(error, SessionExpired | NeedsHuman):
                        # Reload from the store next time: a human may fix it there.
                        self._drop_client()
                    raise error from exc
                self._save_if_changed(client)
                return result

    def _translate(self, exc: BaseException, label: str, call: Call | None, *,
                   post_specific: bool) -> Exception:
        if isinstance(exc, PublishError) and not str(exc).startswith(f"{label}: "):
            exc.args = (f"{label}: {exc}", *exc.args[1:])
        error = translate(exc, action=label, configure_sent=bool(call and call.configure_sent),
                          post_specific=post_specific, cooldown=self.config.publish.cooldown,
                          last_status=call.last_status if call else None)
        log.debug("%s failed: %s -> %s", label, describe(exc), type(error).__name__,
                  extra={"account": self.account.name})
        return error


def _ignore(stage: UploadStage) -> None:
    return None


def _image(path: Path, what: str) -> Path:
    if not path.is_file():
        raise PostRejected(f"{what} file is missing: {path}")
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
        raise PostRejected(f"{what} must be a JPEG, PNG or WebP file: {path.name}")
    return path


def _configured_media(configured: Any) -> Any:
    """The media in a configure answer; Ambiguous if it cannot be read."""
    payload = configured.get("media") if isinstance(configured, dict) else None
    if not isinstance(payload, dict):
        raise Ambiguous("configure answered without a media object; the post may have "
                        "landed")
    try:
        return extract_media_v1(payload)
    except (ValidationError, KeyError, TypeError, ValueError, AssertionError) as exc:
        raise Ambiguous(f"configure answered with an unreadable media "
                        f"({type(exc).__name__}); the post may have landed") from exc


def _caption(item: dict[str, Any]) -> str:
    caption = item.get("caption")
    if isinstance(caption, dict):
        return str(caption.get("text") or "")
    return str(item.get("caption_text") or "")


_LINK_END = frozenset(" \t\r\n?&#)]>.,;\"'")


def _caption_has_link(caption: str, *links: str) -> bool:
    """Whether ``caption`` holds one of ``links`` as a whole URL (not as a prefix)."""
    for link in links:
        if not link:
            continue
        start = caption.find(link)
        while start != -1:
            end = start + len(link)
            if end == len(caption) or caption[end] in _LINK_END:
                return True
            start = caption.find(link, start + 1)
    return False


def _short(reply: Any) -> str:
    return json.dumps(reply, default=str)[:200]


def _fingerprint(settings: dict[str, Any]) -> str:
    volatile = {"last_login"}
    return json.dumps({k: v for k, v in settings.items() if k not in volatile},
                      sort_keys=True, default=str)


__all__ = ["InstagramPublisher"]


def _taken_at(item: dict[str, Any]) -> float | None:
    """When a media item was posted (Unix time), if it says."""
    value = item.get("taken_at")
    return float(value) if isinstance(value, int | float) else None
