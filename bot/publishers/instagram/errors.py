"""instagrapi's exceptions, mapped onto the bot's one tree (:mod:`bot.errors`).

=====================================================  ==============================
instagrapi raises                                      the bot raises
=====================================================  ==============================
``ClientConnectionError``, ``ClientRequestTimeout``,   ``Transient``; ``Ambiguous`` once
``ClientIncompleteReadError``, ``ClientJSONDecodeError``, a configure request has left
a 5xx, a timeout or a ``requests``/curl error           the machine
``ClientThrottledError`` (429), ``PleaseWaitFewMinutes``, ``RateLimited`` (cooldown)
``FeedbackRequired``, ``RateLimitError``, other 403s
``LoginRequired``, ``ClientLoginRequired``, 401         ``SessionExpired`` (the publisher
                                                       has already tried one relogin)
``ChallengeError`` and kin, ``CaptchaChallengeRequired``, ``NeedsHuman``
``AccountSuspended``, ``BadPassword``, ``BadCredentials``,
``TwoFactorRequired``, ``ReloginAttemptExceeded``,
``SentryBlock``, ``ProxyAddressIsBlocked``,
``ClientNeedsUpgradeError``
``PhotoNotUpload`` (a 4xx on the upload), a 400 on     ``PostRejected`` (for a post; for
configure, "bad image" responses, unreadable images    other calls ``Transient``)
=====================================================  ==============================

``PhotoConfigureError`` subclasses ``PhotoNotUpload``; both are told apart by the
HTTP status they carry, like ``PhotoNotUpload`` itself, which the upload raises for
any non-200 (a 429 or a 503 on the upload is not a bad image).

Every message names the instagrapi class and its message, after redaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from instagrapi import exceptions as ig
from PIL import UnidentifiedImageError

from bot.errors import (
    Ambiguous,
    BotError,
    NeedsHuman,
    PostRejected,
    PublishError,
    RateLimited,
    SessionExpired,
    Transient,
)
from bot.redact import redact

_RATE_LIMITED = (ig.PleaseWaitFewMinutes, ig.FeedbackRequired, ig.RateLimitError,
                 ig.ClientThrottledError)
_SESSION = (ig.LoginRequired, ig.ClientLoginRequired, ig.ClientUnauthorizedError)
_HUMAN = (ig.ChallengeError, ig.CaptchaChallengeRequired, ig.AccountSuspended, ig.BadPassword,
          ig.BadCredentials, ig.TwoFactorRequired, ig.ReloginAttemptExceeded, ig.SentryBlock,
          ig.ProxyAddressIsBlocked, ig.ClientNeedsUpgradeError)
_NETWORK = (ig.ClientConnectionError, ig.ClientRequestTimeout, ig.ClientIncompleteReadError,
            ig.ClientJSONDecodeError, requests.RequestException, TimeoutError, ConnectionError)
_BAD_IMAGE = (UnidentifiedImageError, ValueError, OSError)

MAX_MESSAGE = 400


def answer_text(exc: BaseException) -> str:
    """What Instagram said, for an instagrapi error.

    The upload raises ``PhotoNotUpload(response.text, **client.last_json)``, and
    ``last_json`` is the *previous* answer's JSON: its ``message`` overwrites the real
    one. So an upload's words are read from its own response body, never from
    ``message`` (a login_required upload once read as the feedback_required that came
    before it, and the account cooled down again and again instead of logging in).
    """
    if isinstance(exc, ig.PhotoNotUpload):
        text = getattr(getattr(exc, "response", None), "text", None)
        if isinstance(text, str) and text:
            return text
    message = getattr(exc, "message", "") if isinstance(exc, ig.ClientError) else ""
    return str(message or "")


def describe(exc: BaseException) -> str:
    """``ClassName: message``, redacted and shortened, for events and alerts."""
    message = answer_text(exc)
    text = str(message or exc).strip() or "(no message)"
    text = " ".join(redact(text).split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return f"{type(exc).__name__}: {text}"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an instagrapi exception carries, if any."""
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if isinstance(code, int):
        return code
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None


def is_login_required(exc: BaseException) -> bool:
    """Whether Instagram ended the session (so one relogin may help)."""
    if isinstance(exc, _SESSION):
        return True
    # The upload endpoint bypasses instagrapi's error parsing: its 403 arrives as
    # PhotoNotUpload with Instagram's body as the message.
    return (isinstance(exc, ig.PhotoNotUpload) and status_of(exc) == 403
            and "login_required" in (answer_text(exc) or str(exc)))


# The upload endpoint bypasses instagrapi's error parsing, so Instagram's refusals reach
# the bot as PhotoNotUpload carrying the body: read its words as instagrapi would have.
_UPLOAD_RATE_LIMITED = ("please wait a few minutes", "feedback_required", "rate_limit_error",
                        "too many requests")
_UPLOAD_HUMAN = ("challenge_required", "checkpoint_required", "consent_required")


def _upload_says(exc: BaseException, words: tuple[str, ...]) -> bool:
    """Whether an upload's refusal (PhotoNotUpload) holds one of ``words``."""
    if not isinstance(exc, ig.PhotoNotUpload):
        return False
    text = (answer_text(exc) or str(exc)).lower()
    return any(word in text for word in words)


def translate(
    exc: BaseException,
    *,
    action: str,
    configure_sent: bool = False,
    post_specific: bool = False,
    cooldown: timedelta,
    last_status: int | None = None,
) -> PublishError:
    """The bot's exception for ``exc``, raised while doing ``action``.

    ``configure_sent`` says whether a configure request had left the machine: after
    that, a fault that is not Instagram's explicit refusal may mean the post landed.
    ``post_specific`` says a refusal can be blamed on this post (an upload), so that
    it becomes ``PostRejected`` rather than something to retry. ``last_status`` is
    the status of the answer the error came from, for the refusals instagrapi raises
    without the response attached (``UnknownError`` and kin).
    """
    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, BotError):
        # Configuration the publisher cannot work with (a bad seed, a bad seam URL):
        # nothing to retry until a human fixes it.
        return NeedsHuman(f"{action}: {exc}")
    what = f"{action}: {describe(exc)}"
    status = status_of(exc)
    if status is None and isinstance(exc, ig.ClientError):
        status = last_status
    if isinstance(exc, _HUMAN) or _upload_says(exc, _UPLOAD_HUMAN):
        return NeedsHuman(what)
    if is_login_required(exc):
        return SessionExpired(what)
    if isinstance(exc, _RATE_LIMITED) or status == 429 or _upload_says(exc, _UPLOAD_RATE_LIMITED):
        return RateLimited(what, cooldown=_cooldown(exc, cooldown))
    if isinstance(exc, _NETWORK) or (status is not None and status >= 500):
        return _transient(what, configure_sent)
    if isinstance(exc, ig.ClientError) and status is not None:
        if status == 403:
            # A 403 that is not login_required is Instagram refusing the action (an
            # action block): cooling down is what a careful human would do.
            return RateLimited(what, cooldown=_cooldown(exc, cooldown))
        if 400 <= status < 500 and post_specific:
            return PostRejected(what)
    if isinstance(exc, ig.ClientError) and post_specific and _bad_image_reply(exc):
        return PostRejected(what)
    if isinstance(exc, _BAD_IMAGE) and post_specific and not configure_sent:
        # Raised while reading and resizing the card, before anything was sent.
        return PostRejected(f"{action}: cannot read the image ({describe(exc)})")
    if isinstance(exc, ig.ClientError) and status is not None and status < 500:
        # Instagram answered and said no ({"status": "fail"}): nothing was posted, so
        # this is not ambiguous; retry it a bounded number of times.
        return Transient(what)
    return _transient(what, configure_sent)


def _transient(what: str, configure_sent: bool) -> Transient:
    if configure_sent:
        return Ambiguous(f"{what} (after the configure request was sent; it may have landed)")
    return Transient(what)


def _bad_image_reply(exc: ig.ClientError) -> bool:
    title = str(getattr(exc, "error_title", "") or "")
    message = str(getattr(exc, "message", "") or "")
    return "image" in title.lower() or "media_needs_reupload" in message


def _cooldown(exc: BaseException, default: timedelta) -> timedelta:
    response: Any = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        retry_after = int(headers.get("Retry-After", "0"))
    except (TypeError, ValueError):
        retry_after = 0
    return max(default, timedelta(seconds=retry_after))
