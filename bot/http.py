"""Bounded HTTP downloads for feeds, photos and article pages.

Every request has a connect timeout, a read timeout, an overall deadline and a cap on
the bytes read. The deadline (twice ``[fetch] timeout``, or sooner when the caller's
own budget ends sooner) covers the whole fetch: every redirect hop, the TLS handshake,
the headers and the body. A watchdog shuts the socket when it passes, so a server that
drips bytes cannot hold a fetch past it.

Redirects are followed by hand, so that each hop is checked. URLs found in feed
content (photos, article pages, and every redirect target that leaves a configured
feed's host) are untrusted:

- A URL is read with the parser that connects (requests' preparation, then urllib3's
  ``parse_url``), and refused when its authority is ambiguous: a backslash anywhere,
  a user name or password, percent-encoding or whitespace in the host, or an IPv4
  address written in any form but the dotted quad (``2130706433``, ``0x7f.1``,
  ``0177.0.0.1``, ``127.1``). Different parsers read such URLs differently, which is
  how ``http://127.0.0.1:P\\@93.184.216.34/`` once passed the check and reached
  loopback.
- The host is resolved once; every address it answers is vetted (no private,
  loopback, link-local, shared, reserved or multicast address, also when embedded in
  an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address), and the connection
  goes to a vetted address, never to a second lookup's answer (DNS rebinding). The
  request still carries the name in its ``Host`` header, and TLS sends it as SNI and
  checks the certificate against it.

``[fetch] allow_private_addresses = true`` (tests) lets private and loopback addresses
through, never unspecified, multicast or reserved ones. Environment proxies and
``.netrc`` are not used: a proxy would resolve names itself, and ``.netrc`` would
hand credentials to whatever host a feed names.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import parse_url

from bot import __version__
from bot.config import FetchConfig
from bot.errors import FetchError

USER_AGENT = (
    f"EditorialKaltimBot/{__version__} "
    "(+https://editorialkaltim.com; news-to-Instagram syndication)"
)
_CHUNK = 64 * 1024
_MAX_ADDRESSES: Final = 4  # addresses of one name tried in turn when a connect fails

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses``: how names are looked up (tests inject their own)."""

# Ranges Python's ``is_global`` (3.11) still counts as global, or that embed another
# address; checked explicitly so the rule does not depend on the Python version.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_NEVER_V4: Final = (
    ipaddress.IPv4Network("0.0.0.0/8"),  # "this network": 0.0.0.0 reaches loopback
    ipaddress.IPv4Network("240.0.0.0/4"),  # reserved, and the broadcast address
)
_NON_PUBLIC_V4: Final = (
    ipaddress.IPv4Network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.IPv4Network("198.18.0.0/15"),  # benchmarking
)
# Host labels that only digits, octal or hex make up: inet_aton reads them as an IPv4
# address (``2130706433``, ``0x7f.1``), other parsers as a name.
_NUMERIC_HOST: Final = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.I)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Response:
    """A fully read, bounded HTTP response; ``headers`` ignore case."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``application/rss+xml``)."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Target:
    """A URL as the connecting code reads it."""

    url: str  # as requests prepared it (IDNA host, quoted path)
    scheme: str
    host: str  # lower-case name or address, IPv6 without brackets
    port: int

    @property
    def literal(self) -> IPAddress | None:
        """The host as an IP address, when it is one."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the system resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def parse_target(url: str, *, trusted: bool = False) -> Target:
    """Read ``url`` as the connecting code will, or raise FetchError saying why not.

    Refuses what different URL parsers read differently. ``trusted`` (a configured
    feed URL) still may carry a user name and password. The answer for a URL is kept:
    a feed's URL is read on every poll, and reading it prepares a whole request.
    """
    return _parse_target(url, trusted)


@lru_cache(maxsize=4096)
def _parse_target(url: str, trusted: bool) -> Target:
    # A refusal raises, and lru_cache keeps no exceptions: a refused URL is read (and
    # refused) again each time, and never fills the cache.
    if _CONTROL.search(url):
        raise _refused(url, "it contains control characters")
    if "\\" in url:
        raise _refused(url, "it contains a backslash, which URL parsers read differently")
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)", url)
    if match is None or match.group(1).lower() not in ("http", "https"):
        raise _refused(url, "only http(s) URLs are fetched")
    authority = match.group(2)
    if "@" in authority and not trusted:
        raise _refused(url, "it carries a user name or password")
    hostport = authority.rpartition("@")[2]
    if "%" in hostport:
        raise _refused(url, "its host is percent-encoded")
    if any(c.isspace() for c in hostport):
        raise _refused(url, "its host contains whitespace")
    try:
        prepared = requests.Request("GET", url).prepare()
        parsed = parse_url(prepared.url or "")
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
            ValueError, UnicodeError) as exc:
        raise _refused(url, f"not a valid URL ({_short(exc)})") from None
    scheme = (parsed.scheme or "").lower()
    host = (parsed.host or "").lower()
    if scheme not in ("http", "https") or not host:
        raise _refused(url, "only http(s) URLs with a host are fetched")
    if host.startswith("["):
        host = host.strip("[]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _refused(url, "its host is not a valid IPv6 address") from None
    elif _NUMERIC_HOST.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise _refused(url, f"{host!r} is a numeric address in a non-standard form"
                                " (only dotted quads like 93.184.216.34 are fetched)") from None
    port = parsed.port or (443 if scheme == "https" else 80)
    return Target(url=prepared.url or url, scheme=scheme, host=host, port=port)


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why a connection to ``address`` is refused, or None when it is allowed.

    An address embedded in an IPv6 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged as itself.
    """
    shown = str(address)
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return None if allow_private else f"the non-public address {shown} (local-use NAT64)"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = address_refusal(embedded, allow_private=allow_private)
            return f"{reason} (inside {shown})" if reason else None
        if address.teredo is not None:
            return f"the Teredo tunnel address {shown}"
    if address.is_unspecified:
        return f"the unspecified address {shown}"
    if address.is_multicast:
        return f"the multicast address {shown}"
    if isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _NEVER_V4):
        return f"the reserved address {shown}"
    if allow_private:
        return None
    if not address.is_global or (isinstance(address, ipaddress.IPv4Address)
                                 and any(address in n for n in _NON_PUBLIC_V4)):
        return f"the non-public address {shown}"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class HttpClient:
    """Bounded, SSRF-checked GETs over ``requests``, within the ``[fetch]`` limits."""

    def __init__(self, config: FetchConfig, *, resolver: Resolver | None = None,
                 ca_bundle: str | None = None) -> None:
        self.config = config
        self.resolver: Resolver = resolver or system_resolver
        self.verify: str | bool = ca_bundle or True
        self.adapter = _PinnedAdapter()
        self.user_agent = config.user_agent or USER_AGENT

    def close(self) -> None:
        """Release pooled connections."""
        self.adapter.close()

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        trusted: bool = False,
        accept_status: tuple[int, ...] = (200,),
        truncate: bool = False,
        deadline: float | None = None,
        deadline_name: str = "the caller's time budget",
    ) -> Response:
        """GET ``url`` within the configured bounds.

        ``trusted`` is for configured feed URLs (and redirects on the same host);
        anything found inside feed content is untrusted and must resolve to public
        addresses unless the config allows private ones. Statuses outside
        ``accept_status`` raise FetchError, except that the caller always receives
        304 when it asked with validators. With ``truncate`` a body over the limit is
        cut at it instead of refused (for reading the head of an HTML page).
        ``deadline`` (a ``time.monotonic()`` value) ends the fetch sooner than its own
        overall deadline, for a caller with a budget across several fetches;
        ``deadline_name`` names that budget in the error.
        """
        limit = max_bytes if max_bytes is not None else self.config.max_bytes
        whole = self.config.timeout.total_seconds() * 2
        clock = _Deadline(time.monotonic() + whole, f"the {whole:g}s overall deadline")
        if deadline is not None and deadline < clock.at:
            clock = _Deadline(deadline, deadline_name)
        trusted_host = parse_target(url, trusted=trusted).host if trusted else None
        current = url
        seen: list[str] = []
        with _watching(clock):
            for hop in range(self.config.max_redirects + 1):
                target = parse_target(current, trusted=trusted_host is not None and hop == 0)
                hop_trusted = trusted_host is not None and target.host == trusted_host
                addresses = self._addresses(target, trusted=hop_trusted)
                seen.append(current)
                response = self._open(target, addresses, headers, clock, hops=hop)
                try:
                    if response.is_redirect:
                        location = response.headers.get("Location", "")
                        if not location:
                            raise FetchError(
                                f"HTTP {response.status_code} redirect without Location")
                        nxt = urljoin(current, location)
                        if nxt in seen:
                            raise FetchError(f"redirect loop: {' -> '.join([*seen, nxt])}")
                        current = nxt
                        continue
                    status = response.status_code
                    found = CaseInsensitiveDict(response.headers)
                    if status == 304:
                        return Response(target.url, status, found, b"")
                    if status not in accept_status:
                        reason = response.reason or ""
                        raise FetchError(f"HTTP {status} {reason}".strip())
                    body = self._read(response, limit, clock, truncate=truncate)
                    return Response(target.url, status, found, body)
                finally:
                    response.close()
        raise FetchError(f"too many redirects (more than {self.config.max_redirects})")

    # ------------------------------------------------------------------ steps

    def _addresses(self, target: Target, *, trusted: bool) -> list[str]:
        """Resolve once and vet every answer; the connection uses only these."""
        allow_private = trusted or self.config.allow_private_addresses
        literal = target.literal
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            # "localhost." (the root's trailing dot) is the same name as "localhost".
            name = target.host.rstrip(".")
            if not allow_private and (name == "localhost" or name.endswith(".localhost")):
                raise _refused(target.url, f"{target.host} is a localhost name")
            try:
                answers = list(self.resolver(target.host, target.port))
            except (OSError, UnicodeError) as exc:
                raise FetchError(f"cannot resolve {target.host}: {_short(exc)}") from None
            if not answers:
                raise FetchError(f"cannot resolve {target.host}: no address")
            try:
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in answers]
            except ValueError as exc:
                raise FetchError(f"cannot resolve {target.host}: {exc}") from None
        if not trusted:
            for address in addresses:
                reason = address_refusal(address, allow_private=allow_private)
                if reason is not None:
                    resolves = "is" if literal is not None else "resolves to"
                    if "non-public" in reason:
                        reason += " ([fetch] allow_private_addresses is false)"
                    raise _refused(target.url, f"{target.host} {resolves} {reason}")
        return [str(a) for a in addresses[:_MAX_ADDRESSES]]

    def _open(self, target: Target, addresses: list[str], headers: Mapping[str, str] | None,
              clock: _Deadline, *, hops: int) -> requests.Response:
        request = _PinnedRequest()
        request.prepare(method="GET", url=target.url, headers={
            "User-Agent": self.user_agent,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
            **dict(headers or {}),
        })
        # The connection goes to an address, so the name travels in the Host header.
        default = 443 if target.scheme == "https" else 80
        name = f"[{target.host}]" if ":" in target.host else target.host
        request.headers["Host"] = name if target.port == default else f"{name}:{target.port}"
        request.server_name = target.host if target.literal is None else None
        last: FetchError | None = None
        for address in addresses:
            left = clock.left()
            if left <= 0:
                raise clock.passed(hops)
            connect = min(self.config.connect_timeout.total_seconds(), left)
            read = min(self.config.timeout.total_seconds(), left)
            request.address = address
            try:
                return self.adapter.send(request, stream=True, timeout=(connect, read),
                                         verify=self.verify)
            except requests.exceptions.ConnectTimeout:
                last = FetchError(f"connect timeout after {connect:g}s")
            except requests.exceptions.ReadTimeout:
                raise (clock.passed(hops) if clock.fired or read < self._read_timeout
                       else FetchError(f"read timeout after {read:g}s")) from None
            except requests.exceptions.SSLError as exc:
                raise FetchError(f"TLS error: {_short(exc)}") from None
            except requests.exceptions.ConnectionError as exc:
                if clock.fired:
                    raise clock.passed(hops) from None
                last = FetchError(f"connection failed: {_short(exc)}")
                if not _before_sending(exc):
                    raise last from None
            except requests.exceptions.InvalidURL as exc:
                raise FetchError(f"invalid URL: {_short(exc)}") from None
            except requests.exceptions.RequestException as exc:
                raise FetchError(f"request failed: {_short(exc)}") from None
        if clock.fired or (last is not None and clock.left() <= 0):
            raise clock.passed(hops)
        assert last is not None
        raise last

    @property
    def _read_timeout(self) -> float:
        return self.config.timeout.total_seconds()

    def _read(self, response: requests.Response, limit: int, clock: _Deadline, *,
              truncate: bool = False) -> bytes:
        declared = response.headers.get("Content-Length")
        if not truncate and declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"body too large: {int(declared)} bytes declared, limit {limit}")
        chunks: list[bytes] = []
        size = 0
        try:
            # read1 returns after one socket read, so a server that drips bytes slowly
            # still meets the overall deadline (iter_content would wait for 64 KiB).
            while chunk := response.raw.read1(_CHUNK, decode_content=True):
                size += len(chunk)
                if size > limit:
                    if truncate:
                        chunks.append(chunk[: len(chunk) - (size - limit)])
                        break
                    raise FetchError(f"body too large: over the {limit}-byte limit")
                if clock.left() <= 0:
                    raise clock.passed()
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if clock.fired:
                raise clock.passed() from None
            raise FetchError(f"connection failed while reading: {_short(exc)}") from None
        if clock.fired:  # the watchdog's shutdown reads as a clean end of the body
            raise clock.passed()
        return b"".join(chunks)


# ---------------------------------------------------------------------- deadline watchdog


class _Deadline:
    """One fetch's deadline, and the watchdog that shuts its socket when it passes."""

    def __init__(self, at: float, what: str) -> None:
        self.at = at
        self.what = what
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.done = False

    def left(self) -> float:
        """Seconds until the deadline."""
        return self.at - time.monotonic()

    def passed(self, hops: int = 0) -> FetchError:
        """The error for a fetch that ran out of time."""
        after = f", after {hops} redirect{'s' if hops != 1 else ''}" if hops else ""
        return FetchError(f"download took too long: {self.what} passed{after}")

    def start(self) -> None:
        """Arm the watchdog."""
        _WATCHDOG.arm(self)

    def stop(self) -> None:
        """Disarm it; the connection may go back to the pool."""
        with self._lock:
            self.done = True
            self._sock = None

    def watch(self, sock: socket.socket | None) -> None:
        """The socket the fetch is using now."""
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shut()

    def fire(self) -> None:
        """The deadline passed: shut the socket (unless the fetch ended meanwhile)."""
        with self._lock:
            if self.done:
                return
            self.fired = True
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread that fires every fetch's deadline, earliest first.

    A timer thread per fetch would start and stop a thread for every request, and the
    daemon polls thousands of feeds a minute. Deadlines of fetches that ended are
    dropped when they come up (a fetch's deadline is at most twice ``[fetch] timeout``
    away, so few wait at any time).
    """

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._due: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: _Deadline) -> None:
        """Fire ``deadline`` when its time comes (unless it is stopped first)."""
        with self._ready:
            heapq.heappush(self._due, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog",
                                                daemon=True)
                self._thread.start()
            elif self._due[0][2] is deadline:
                self._ready.notify()  # sooner than what the thread waits for

    def _run(self) -> None:
        while True:
            expired: list[_Deadline] = []
            with self._ready:
                now = time.monotonic()
                while self._due and (self._due[0][2].done or self._due[0][0] <= now):
                    deadline = heapq.heappop(self._due)[2]
                    if not deadline.done:
                        expired.append(deadline)
                if not expired:
                    self._ready.wait(self._due[0][0] - now if self._due else None)
            for deadline in expired:  # outside the lock: fire takes the fetch's own
                deadline.fire()


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextmanager
def _watching(clock: _Deadline) -> Iterator[None]:
    clock.start()
    _current.deadline = clock
    try:
        yield
    finally:
        _current.deadline = None
        clock.stop()


def _watch(sock: socket.socket | None) -> None:
    clock: _Deadline | None = getattr(_current, "deadline", None)
    if clock is not None:
        clock.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """Hands its socket to the current fetch's watchdog, new or reused."""

    def _new_conn(self) -> socket.socket:
        # Before the TLS handshake too: a handshake can be dripped as well.
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def getresponse(self) -> Any:
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    """The HTTPS variant of :class:`_WatchedHTTPConnection`."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def getresponse(self) -> Any:
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# ---------------------------------------------------------------------- pinned connections


class _PinnedRequest(requests.PreparedRequest):
    """A prepared request that says which vetted address to connect to."""

    address: str = ""
    server_name: str | None = None  # for SNI and the certificate check


class _PinnedAdapter(HTTPAdapter):
    """Connects to the request's vetted address instead of resolving its host again."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: bool | str | None,
        proxies: Mapping[str, str] | None = None, cert: Any = None,
    ) -> HTTPConnectionPool:
        """The pool for the pinned address, with TLS checked against the name."""
        if not isinstance(request, _PinnedRequest) or not request.address:
            raise requests.exceptions.InvalidURL("no vetted address to connect to")
        host_params, key_kwargs = self.build_connection_pool_key_attributes(
            request, True if verify is None else verify, cert)
        pool_kwargs: dict[str, Any] = dict(key_kwargs)
        if host_params["scheme"] == "https" and request.server_name:
            pool_kwargs["server_hostname"] = request.server_name
            pool_kwargs["assert_hostname"] = request.server_name
        pool: HTTPConnectionPool = self.poolmanager.connection_from_host(
            scheme=host_params["scheme"], host=request.address, port=host_params["port"],
            pool_kwargs=pool_kwargs)
        return pool


def _before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before the request went out (try the next address)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _refused(url: str, why: str) -> FetchError:
    return FetchError(f"refused URL {shown_url(url)!r}: {why}")


def shown_url(url: str, limit: int = 120) -> str:
    """The URL for a message: its password masked, and cut at ``limit`` characters."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        url = url.replace(f":{password}@", ":***@", 1)
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _short(exc: BaseException) -> str:
    text = str(exc)
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        text = str(reason)
    for marker in ("Connection reset by peer", "Connection refused", "Remote end closed",
                   "Name or service not known", "timed out", "certificate verify failed",
                   "doesn't match", "Hostname mismatch"):
        if marker in text:
            return marker
    return text[:200]
