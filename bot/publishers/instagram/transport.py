"""The HTTP layer under instagrapi: bounded calls, one configure per call, the test seam.

instagrapi sends its private requests with no timeout at all (the curl transport then
waits forever), and some of its own code paths re-send a request after an error. A
:class:`BoundedAdapter` wraps the adapter each of instagrapi's ``requests`` sessions
would use, and:

- gives every request a timeout: what is left of the current call's deadline, or
  ``call_timeout`` outside a call, so a hung connection can never freeze the daemon;
- refuses any request once the call's deadline has passed;
- refuses to send ``media/configure…`` twice within one call: a second configure can
  only be a silent re-send (instagrapi retries after a 408 or an incomplete read, and
  re-posts an empty configure response), and a re-send is how a post goes out twice;
  a 408 answer becomes a connection error at once, instead of instagrapi's 60 s sleep
  and re-send; and a configure goes out on a fresh connection, where libcurl never
  silently re-sends it (it does on a reused connection that dies);
- records whether a configure left the machine, so an error can be told apart as
  "certainly not posted" (before) or "may have landed" (after);
- with ``BOT_INSTAGRAM_API`` set, sends every request to that origin instead of
  Instagram's hosts.

Production keeps instagrapi's curl transport (HTTP/2, no retries); the seam keeps it
too, speaking HTTP/1.1 to the plain-HTTP emulator.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from bot.errors import ConfigError

SEAM_ENV = "BOT_INSTAGRAM_API"

# Every host instagrapi talks to lives under these; the seam sends them all to one
# origin (i.instagram.com, b.i.instagram.com, www.instagram.com, rupload.facebook.com…).
INSTAGRAM_HOST_SUFFIXES = ("instagram.com", "facebook.com", "fbcdn.net", "cdninstagram.com")


def seam_origin() -> str | None:
    """The emulator origin from ``BOT_INSTAGRAM_API`` (``http://127.0.0.1:PORT``), or None."""
    value = os.environ.get(SEAM_ENV, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if (parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment):
        raise ConfigError(
            f"bad value {value!r}: use the origin of an Instagram emulator over plain HTTP, "
            "such as http://127.0.0.1:8765", key=SEAM_ENV)
    return f"http://{parts.netloc}"


def instagram_seam_warning() -> str | None:
    """A warning for ``bot check`` when the test seam is on, else None."""
    try:
        origin = seam_origin()
    except ConfigError as exc:
        return f"{SEAM_ENV} is set but invalid ({exc}); Instagram publishing will fail"
    if origin is None:
        return None
    return (f"{SEAM_ENV} is set: every Instagram request goes to {origin}, not to Instagram "
            "(a test seam; unset it in production)")


class CallDeadlineExceeded(requests.exceptions.ConnectionError):
    """The call's time budget ran out before this request could be sent."""


class ConfigureResendRefused(requests.exceptions.ConnectionError):
    """A second ``media/configure…`` within one call, refused."""


class RequestTimeoutAnswer(requests.exceptions.ConnectionError):
    """Instagram answered 408 Request Timeout."""


def is_configure(url: str) -> bool:
    """Whether this request publishes (configures) an uploaded media."""
    return "/media/configure" in urlsplit(url).path


@dataclass
class Call:
    """One bounded call: its deadline and whether it has sent a configure."""

    label: str
    deadline: float
    configure_sent: bool = False
    # The HTTP status of the last answer, None while a request is out or after it
    # failed: instagrapi raises some refusals without the response attached.
    last_status: int | None = None


@dataclass
class CallLimits:
    """The per-request and per-call bounds shared by a client's adapters.

    A client is used by one thread at a time (the publisher holds a lock), so the
    current call is plain state.
    """

    timeout: float
    clock: Callable[[], float] = field(default=time.monotonic)
    current: Call | None = None

    @contextmanager
    def call(self, label: str, timeout: float | None = None) -> Iterator[Call]:
        """Bound everything sent inside the block by one deadline."""
        call = Call(label, self.clock() + (timeout if timeout is not None else self.timeout))
        previous, self.current = self.current, call
        try:
            yield call
        finally:
            self.current = previous

    def budget(self, url: str) -> float:
        """Seconds this request may take; raises once the call's deadline has passed."""
        call = self.current
        if call is None:
            return self.timeout
        left = call.deadline - self.clock()
        if left <= 0.05:
            raise CallDeadlineExceeded(
                f"{call.label}: the {self.timeout:g}s budget ran out before "
                f"{urlsplit(url).path} could be sent")
        return min(left, self.timeout)

    def sending(self, url: str) -> Call | None:
        """Note a request about to leave; refuse a second configure in one call."""
        call = self.current
        if call is None or not is_configure(url):
            return call
        if call.configure_sent:
            raise ConfigureResendRefused(
                f"{call.label}: refused to send {urlsplit(url).path} a second time "
                f"(the first may have landed)")
        call.configure_sent = True
        return call


class BoundedAdapter(BaseAdapter):
    """Wraps one of instagrapi's adapters: timeouts, deadline, configure-once, seam."""

    def __init__(self, inner: BaseAdapter, limits: CallLimits, origin: str | None) -> None:
        super().__init__()
        self.inner = inner
        self.limits = limits
        self.origin = origin

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with a bounded timeout, through the seam when it is on."""
        url = request.url or ""
        budget = self.limits.budget(url)
        if isinstance(timeout, int | float) and timeout > 0:
            budget = min(budget, float(timeout))
        outgoing = request
        if self.origin is not None:
            outgoing = self._to_seam(request)
            # Environment proxies were resolved for Instagram's hosts, not for the seam.
            proxies = {}
        call = self.limits.sending(url)
        if call is not None:
            call.last_status = None
        with _fresh_connection(self.inner, is_configure(url)):
            response = self.inner.send(outgoing, stream=stream, timeout=budget,
                                       verify=verify, cert=cert, proxies=proxies)
        if call is not None:
            call.last_status = response.status_code
        if response.status_code == 408:
            # instagrapi answers a 408 by sleeping 60 s and sending the request again,
            # configure included; the bot's own backoff and exactly-once check decide.
            response.close()
            raise RequestTimeoutAnswer(f"HTTP 408 from {urlsplit(url).path}", request=request)
        if outgoing is not request:
            # requests files cookies and follows redirects by the URL it asked for:
            # keep Instagram's, so the session behaves exactly as in production.
            response.request = request
            response.url = url
        return response

    def _to_seam(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        if not host.endswith(INSTAGRAM_HOST_SUFFIXES):
            raise requests.exceptions.InvalidURL(
                f"{SEAM_ENV} is set; refusing a request to {host}, which is not Instagram's")
        outgoing = request.copy()
        query = f"?{parts.query}" if parts.query else ""
        outgoing.url = f"{self.origin}{parts.path or '/'}{query}"
        if "Host" not in outgoing.headers:
            outgoing.headers["Host"] = parts.netloc
        return outgoing

    def close(self) -> None:
        """Close the wrapped adapter."""
        self.inner.close()


@contextmanager
def _fresh_connection(adapter: BaseAdapter, fresh: bool) -> Iterator[None]:
    """Send this request on a new connection (curl transport only).

    libcurl re-sends a request, POSTs included, when a reused connection dies before
    any byte of the answer arrives ("Connection died, retrying a fresh connect"). For
    a configure that already reached Instagram, that is a second post. On a fresh
    connection libcurl never retries, and the fault surfaces as an error.
    """
    options = getattr(getattr(adapter, "client", None), "curl_options", None)
    if not fresh or not isinstance(options, dict):
        yield
        return
    from curl_cffi import CurlOpt

    options[CurlOpt.FRESH_CONNECT] = 1
    try:
        yield
    finally:
        options.pop(CurlOpt.FRESH_CONNECT, None)


def bound_session(session: requests.Session, limits: CallLimits, origin: str | None) -> None:
    """Wrap the adapters ``session`` has mounted for http and https."""
    for prefix in ("https://", "http://"):
        inner = session.get_adapter(prefix + "example.invalid/")
        if isinstance(inner, BoundedAdapter):
            inner = inner.inner
        session.mount(prefix, BoundedAdapter(inner, limits, origin))


def use_plain_http(adapter: BaseAdapter) -> None:
    """Make instagrapi's curl adapter speak HTTP/1.1, for the plain-HTTP emulator.

    Its curl session otherwise uses HTTP/2 with prior knowledge on ``http://`` URLs,
    which ``http.server`` cannot speak. Only the protocol changes; the transport, its
    error mapping and its no-retry policy stay those of production.
    """
    client = getattr(adapter, "client", None)
    if client is None or not hasattr(client, "http_version"):
        return
    from curl_cffi import CurlHttpVersion

    client.http_version = CurlHttpVersion.V1_1
