"""Bounded HTTP downloads for feeds, photos and article pages.

Every request has a connect timeout, a read timeout, an overall deadline and a cap on
the bytes read. Redirects are followed by hand, so that each hop is checked: URLs found
in feed content (photos, article pages) may not point at private, loopback or
link-local addresses unless ``[fetch] allow_private_addresses`` is set.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from bot import __version__
from bot.config import FetchConfig
from bot.errors import FetchError

USER_AGENT = (
    f"EditorialKaltimBot/{__version__} "
    "(+https://editorialkaltim.com; news-to-Instagram syndication)"
)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Response:
    """A fully read, bounded HTTP response."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``application/rss+xml``)."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


class HttpClient:
    """A small wrapper over a ``requests.Session`` that enforces the ``[fetch]`` limits."""

    def __init__(self, config: FetchConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = config.user_agent or USER_AGENT

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        trusted: bool = False,
        accept_status: tuple[int, ...] = (200,),
        truncate: bool = False,
    ) -> Response:
        """GET ``url`` within the configured bounds.

        ``trusted`` is for configured feed URLs; anything found inside feed content is
        untrusted and must resolve to a public address unless the config allows
        private ones. Statuses outside ``accept_status`` raise FetchError, except that
        the caller always receives 304 when it asked with validators. With
        ``truncate`` a body over the limit is cut at it instead of refused (for reading
        the head of an HTML page).
        """
        limit = max_bytes if max_bytes is not None else self.config.max_bytes
        deadline = time.monotonic() + self.config.timeout.total_seconds() * 2
        current = url
        seen: list[str] = []
        for _hop in range(self.config.max_redirects + 1):
            self._check_url(current, trusted=trusted)
            seen.append(current)
            response = self._open(current, headers)
            try:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    if not location:
                        raise FetchError(f"HTTP {response.status_code} redirect without Location")
                    nxt = urljoin(current, location)
                    if nxt in seen:
                        raise FetchError(f"redirect loop: {' -> '.join([*seen, nxt])}")
                    current = nxt
                    continue
                status = response.status_code
                if status == 304:
                    return Response(current, status, dict(response.headers), b"")
                if status not in accept_status:
                    reason = response.reason or ""
                    raise FetchError(f"HTTP {status} {reason}".strip())
                body = self._read(response, limit, deadline, truncate=truncate)
                return Response(current, status, dict(response.headers), body)
            finally:
                response.close()
        raise FetchError(f"too many redirects (more than {self.config.max_redirects})")

    def _open(self, url: str, headers: Mapping[str, str] | None) -> requests.Response:
        timeout = (self.config.connect_timeout.total_seconds(), self.config.timeout.total_seconds())
        try:
            return self.session.get(
                url, headers=dict(headers or {}), timeout=timeout, stream=True,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            raise FetchError(f"connect timeout after {timeout[0]:g}s") from None
        except requests.exceptions.ReadTimeout:
            raise FetchError(f"read timeout after {timeout[1]:g}s") from None
        except requests.exceptions.SSLError as exc:
            raise FetchError(f"TLS error: {_short(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            raise FetchError(f"connection failed: {_short(exc)}") from None
        except requests.exceptions.InvalidURL as exc:
            raise FetchError(f"invalid URL: {_short(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"request failed: {_short(exc)}") from None

    def _read(self, response: requests.Response, limit: int, deadline: float, *,
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
                if time.monotonic() > deadline:
                    raise FetchError("download took too long (overall deadline passed)")
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError(f"connection failed while reading: {_short(exc)}") from None
        return b"".join(chunks)

    def _check_url(self, url: str, *, trusted: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"refused URL {url!r}: only http(s) URLs are fetched")
        if trusted or self.config.allow_private_addresses:
            return
        host = parts.hostname
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global or address.is_multicast:
                raise FetchError(
                    f"refused {host}: it resolves to the non-public address {address}"
                    " ([fetch] allow_private_addresses is false)"
                )


def _short(exc: BaseException) -> str:
    text = str(exc)
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        text = str(reason)
    for marker in ("Connection reset by peer", "Connection refused", "Remote end closed",
                   "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return text[:200]
