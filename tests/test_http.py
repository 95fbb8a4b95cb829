"""The bounded HTTP client against real servers on 127.0.0.1: SSRF, pinning, deadlines, headers.

"Public" hosts are played by loopback servers behind :mod:`tests.netkit`'s make-believe
internet (scripted DNS for ``*.test`` and NAT from a public address to 127.0.0.1); a
second loopback server is the victim that an SSRF would reach. Nothing leaves the
machine: a connect to any other address is refused by the kit before a packet is sent.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.articles import Article, ImageRef
from bot.cards.photos import PhotoFetcher
from bot.config import FetchConfig
from bot.errors import FetchError
from bot.http import HttpClient, address_refusal
from tests import imagekit
from tests.feedkit import FeedServer, Route, feed_server
from tests.netkit import PUBLIC, PUBLIC_2, FakeInternet, internet, make_certs

__all__ = ["internet"]  # the fixture, imported for pytest

PHOTO = imagekit.jpeg(imagekit.landscape((1200, 800)))


@pytest.fixture
def site() -> Iterator[FeedServer]:
    """The public web site (reached through NAT from a public address)."""
    with feed_server() as running:
        yield running


@pytest.fixture
def victim() -> Iterator[FeedServer]:
    """A server on loopback that an SSRF must never reach."""
    with feed_server() as running:
        running.routes["/x.jpg"] = jpeg(PHOTO)
        running.routes["/secret"] = Route(body=b"internal", content_type="text/plain")
        yield running


@pytest.fixture
def net(internet: FakeInternet, site: FeedServer, victim: FeedServer) -> FakeInternet:
    """``news.test`` is the site at PUBLIC; the victim's port on PUBLIC is the site too."""
    internet.dns("news.test", [PUBLIC])
    internet.host(PUBLIC, site.port, site.port)
    internet.host(PUBLIC, victim.port, site.port)
    return internet


def client(*, allow_private: bool = False, **fetch: Any) -> HttpClient:
    """A client with short timeouts."""
    values: dict[str, Any] = {"timeout": "2s", "connect_timeout": "1s"}
    values.update(fetch)
    return HttpClient(FetchConfig(allow_private_addresses=allow_private, **values))


def jpeg(body: bytes, content_type: str = "image/jpeg", header: str = "Content-Type") -> Route:
    """A route serving ``body`` with ``header: content_type``."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header(header, content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(body)

    return Route(handler=handler)


def redirect(to: str, *, delay: float = 0.0) -> Route:
    """A 302 to ``to``, after ``delay`` seconds."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        with contextlib.suppress(OSError):
            h.send_response(302)
            h.send_header("Location", to)
            h.send_header("Content-Length", "0")
            h.end_headers()

    return Route(handler=handler)


def article(link: str, *images: ImageRef) -> Article:
    """An article whose page is ``link``."""
    return Article(key="news.test#1", feed="utama", link=link, title="Judul berita",
                   images=images)


def fetcher(tmp_path: Path, http: HttpClient) -> PhotoFetcher:
    """A photo fetcher using ``http``."""
    return PhotoFetcher(http.config, tmp_path / "photos", http)


def backslash_url(victim: FeedServer) -> str:
    """urlsplit sees host PUBLIC here; urllib3 connects to 127.0.0.1 (issue 14, fault 1)."""
    return f"http://127.0.0.1:{victim.port}\\@{PUBLIC}:{victim.port}/x.jpg"


# ---------------------------------------------------------------------- SSRF: ambiguous URLs


def test_backslash_authority_as_photo_is_refused_before_connecting(
        tmp_path: Path, net: FakeInternet, victim: FeedServer) -> None:
    photo = fetcher(tmp_path, client()).fetch(
        article("", ImageRef(backslash_url(victim), "media_content")))
    assert photo.image is None
    assert photo.note and "backslash" in photo.note
    assert victim.requests == [] and net.loopback_hits(victim.port) == 0


def test_backslash_authority_as_og_image_is_refused(
        tmp_path: Path, net: FakeInternet, site: FeedServer, victim: FeedServer) -> None:
    site.routes["/artikel/"] = Route(
        body=f'<html><head><meta property="og:image" content="{backslash_url(victim)}">'
             "</head><body></body></html>".encode(), content_type="text/html")
    photo = fetcher(tmp_path, client()).fetch(article(f"http://news.test:{site.port}/artikel/"))
    assert photo.image is None
    assert photo.note and "og:image" in photo.note and "backslash" in photo.note
    assert len(site.hits("/artikel/")) == 1
    assert victim.requests == [] and net.loopback_hits(victim.port) == 0


def test_backslash_authority_as_redirect_target_is_refused(
        tmp_path: Path, net: FakeInternet, site: FeedServer, victim: FeedServer) -> None:
    site.routes["/a.jpg"] = redirect(backslash_url(victim))
    photo = fetcher(tmp_path, client()).fetch(
        article("", ImageRef(f"http://news.test:{site.port}/a.jpg", "media_content")))
    assert photo.image is None
    assert photo.note and "backslash" in photo.note
    assert len(site.hits("/a.jpg")) == 1
    assert victim.requests == [] and net.loopback_hits(victim.port) == 0


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ("http://127.0.0.1:{v}\\@{p}:{v}/x.jpg", "backslash"),
        ("http://{p}:{v}\\.news.test/x.jpg", "backslash"),
        ("http://news.test:{v}@127.0.0.1:{v}/x.jpg", "user name or password"),
        ("http://user:pw@news.test:{v}/x.jpg", "user name or password"),
        ("http://%31%32%37.0.0.1:{v}/x.jpg", "percent-encoded"),
        ("http://2130706433:{v}/x.jpg", "numeric address"),
        ("http://0x7f000001:{v}/x.jpg", "numeric address"),
        ("http://0177.0.0.1:{v}/x.jpg", "numeric address"),
        ("http://0x7f.1:{v}/x.jpg", "numeric address"),
        ("http://127.1:{v}/x.jpg", "numeric address"),
        ("http://127.0.0.1.:{v}/x.jpg", "numeric address"),
        ("http://0.0.0.0:{v}/x.jpg", "unspecified address 0.0.0.0"),
        ("http://[::]:{v}/x.jpg", "unspecified address ::"),
        ("http://127.0.0.1:{v}/x.jpg", "non-public address 127.0.0.1"),
        ("http://[::1]:{v}/x.jpg", "non-public address ::1"),
        ("http://[::ffff:127.0.0.1]:{v}/x.jpg", "non-public address 127.0.0.1"),
        ("http://[::ffff:7f00:1]:{v}/x.jpg", "non-public address 127.0.0.1"),
        ("http://[64:ff9b::7f00:1]:{v}/x.jpg", "non-public address 127.0.0.1"),
        ("http://[64:ff9b::a00:1]:{v}/x.jpg", "non-public address 10.0.0.1"),
        ("http://[64:ff9b:1::1]:{v}/x.jpg", "non-public address"),
        ("http://[2002:7f00:1::]:{v}/x.jpg", "non-public address 127.0.0.1"),
        ("http://[::127.0.0.1]:{v}/x.jpg", "non-public address 127.0.0.1"),
        ("http://localhost:{v}/x.jpg", "localhost"),
        ("http://admin.localhost:{v}/x.jpg", "localhost"),
        ("http://169.254.169.254:{v}/latest/meta-data/", "non-public address 169.254.169.254"),
        ("http://[fe80::1%25eth0]:{v}/x.jpg", "percent-encoded"),
        ("file:///etc/passwd", "only http(s)"),
        ("http:/news.test/x.jpg", "only http(s)"),
        ("gopher://news.test:{v}/x", "only http(s)"),
    ],
)
def test_ambiguous_and_private_urls_are_refused_with_the_reason(
        net: FakeInternet, victim: FeedServer, form: str, reason: str) -> None:
    url = form.format(v=victim.port, p=PUBLIC)
    with pytest.raises(FetchError, match="refused") as caught:
        client().get(url)
    assert reason in str(caught.value)
    assert victim.requests == [] and net.loopback_hits(victim.port) == 0
    assert net.refused == []  # refused by the check, not by the kit's wire guard


@pytest.mark.parametrize(
    "address",
    ["0.0.0.0", "::", "0.1.2.3", "224.0.0.1", "255.255.255.255", "::ffff:0.0.0.0", "ff02::1",
     "64:ff9b::", "240.0.0.1"],
)
def test_unspecified_multicast_and_reserved_addresses_are_refused_even_when_private_is_allowed(
        address: str) -> None:
    import ipaddress

    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "::ffff:127.0.0.1",
                                     "192.168.1.5", "64:ff9b::7f00:1"])
def test_private_addresses_pass_only_when_allowed(address: str) -> None:
    import ipaddress

    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, allow_private=True) is None
    assert address_refusal(ip, allow_private=False) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946",
                                     "64:ff9b::5db8:d822", "::ffff:93.184.216.34"])
def test_public_addresses_pass(address: str) -> None:
    import ipaddress

    assert address_refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_loopback_is_fetched_when_private_addresses_are_allowed(victim: FeedServer) -> None:
    response = client(allow_private=True).get(victim.url("/secret"))
    assert response.body == b"internal"


# ---------------------------------------------------------------------- SSRF: DNS rebinding


def test_rebinding_name_is_fetched_from_the_address_that_was_vetted(
        tmp_path: Path, internet: FakeInternet, site: FeedServer, victim: FeedServer) -> None:
    # First answer public, every later one loopback: a second lookup reaches the victim.
    internet.dns("rebind.test", [PUBLIC], ["127.0.0.1"])
    internet.host(PUBLIC, victim.port, site.port)
    site.routes["/x.jpg"] = jpeg(imagekit.jpeg(imagekit.landscape((1200, 800), seed=3)))
    url = f"http://rebind.test:{victim.port}/x.jpg"
    photo = fetcher(tmp_path, client()).fetch(article("", ImageRef(url, "media_content")))
    assert photo.image is not None
    assert internet.lookups == ["rebind.test"]  # resolved once
    assert len(site.hits("/x.jpg")) == 1
    assert victim.requests == [] and internet.loopback_hits(victim.port) == 0
    assert site.requests[0].headers["Host"] == f"rebind.test:{victim.port}"


def test_a_name_with_any_private_address_is_refused(net: FakeInternet,
                                                    victim: FeedServer) -> None:
    net.dns("mixed.test", [PUBLIC, "127.0.0.1"])
    with pytest.raises(FetchError, match=r"non-public address 127\.0\.0\.1"):
        client().get(f"http://mixed.test:{victim.port}/secret")
    assert victim.requests == []


def test_every_redirect_hop_is_resolved_and_vetted_once(
        internet: FakeInternet, site: FeedServer, victim: FeedServer) -> None:
    internet.dns("news.test", [PUBLIC])
    internet.dns("cdn.test", [PUBLIC_2], ["127.0.0.1"])
    internet.host(PUBLIC, site.port, site.port)
    internet.host(PUBLIC_2, victim.port, site.port)
    site.routes["/a"] = redirect(f"http://cdn.test:{victim.port}/b")
    site.routes["/b"] = Route(body=b"from the cdn", content_type="text/plain")
    response = client().get(f"http://news.test:{site.port}/a")
    assert response.body == b"from the cdn"
    assert response.url == f"http://cdn.test:{victim.port}/b"
    assert internet.lookups == ["news.test", "cdn.test"]
    assert victim.requests == []


def test_the_injected_resolver_is_used_and_the_host_header_names_the_host(
        site: FeedServer) -> None:
    site.routes["/feed/"] = Route(body=b"<rss/>")
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    http = HttpClient(FetchConfig(allow_private_addresses=True), resolver=resolver)
    response = http.get(f"http://portal.example:{site.port}/feed/")
    assert response.body == b"<rss/>"
    assert asked == [("portal.example", site.port)]
    assert site.requests[0].headers["Host"] == f"portal.example:{site.port}"


def test_an_unreachable_first_address_falls_back_to_the_next(site: FeedServer) -> None:
    site.routes["/ok"] = Route(body=b"ok", content_type="text/plain")
    http = HttpClient(FetchConfig(allow_private_addresses=True),
                      resolver=lambda host, port: ["127.0.0.2", "127.0.0.1"])
    # 127.0.0.2 has no listener on the site's port: connection refused, then 127.0.0.1.
    assert http.get(f"http://two.example:{site.port}/ok").body == b"ok"


def test_redirects_of_a_trusted_feed_to_another_host_are_vetted(
        net: FakeInternet, site: FeedServer, victim: FeedServer) -> None:
    site.routes["/feed/"] = redirect(victim.url("/secret"))
    with pytest.raises(FetchError, match=r"non-public address 127\.0\.0\.1"):
        client().get(f"http://news.test:{site.port}/feed/", trusted=True)
    assert victim.requests == []


def test_a_trusted_feed_url_may_be_private_and_redirect_on_its_own_host(
        victim: FeedServer) -> None:
    victim.routes["/feed"] = redirect("/secret")
    assert client().get(victim.url("/feed"), trusted=True).body == b"internal"


# ---------------------------------------------------------------------- TLS to a pinned address


class _TlsServer:
    """An HTTPS server on 127.0.0.1 that records the SNI name and Host header it got."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        server = self

        def sni(sock: ssl.SSLSocket, name: str | None, ctx: ssl.SSLContext) -> None:
            server.sni.append(name)

        context.sni_callback = sni

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server.hosts.append(self.headers.get("Host", ""))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "6")
                self.end_headers()
                self.wfile.write(b"secure")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = super().get_request()
                sock.settimeout(5)
                try:
                    return context.wrap_socket(sock, server_side=True), address
                except (ssl.SSLError, OSError):
                    sock.close()
                    raise

            def handle_error(self, request: Any, client_address: Any) -> None:
                return

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize(("cert_name", "ok"), [("secure.test", True), ("other.test", False)])
def test_tls_to_the_pinned_address_checks_the_certificate_for_the_name(
        tmp_path: Path, internet: FakeInternet, cert_name: str, ok: bool) -> None:
    certs = make_certs(tmp_path / "tls", cert_name)
    server = _TlsServer(certs.server_context())
    try:
        internet.dns("secure.test", [PUBLIC])
        internet.host(PUBLIC, server.port, server.port)
        http = HttpClient(FetchConfig(timeout="3s"), ca_bundle=str(certs.ca))
        url = f"https://secure.test:{server.port}/foto"
        if ok:
            assert http.get(url).body == b"secure"
            assert server.hosts == [f"secure.test:{server.port}"]
        else:
            with pytest.raises(FetchError, match="TLS error"):
                http.get(url)
            assert server.hosts == []
        assert server.sni and set(server.sni) == {"secure.test"}
        assert internet.connects == [(PUBLIC, server.port)]
    finally:
        server.stop()


# ---------------------------------------------------------------------- headers, deadlines


def test_headers_are_read_case_insensitively(tmp_path: Path, site: FeedServer) -> None:
    # Python's http.server (and many PHP setups) send "Content-type".
    site.routes["/foto.jpg"] = jpeg(PHOTO, header="Content-type")
    response = client(allow_private=True).get(site.url("/foto.jpg"))
    assert response.content_type == "image/jpeg"
    assert response.headers.get("content-TYPE") == "image/jpeg"
    photo = fetcher(tmp_path, client(allow_private=True)).fetch(
        article("", ImageRef(site.url("/foto.jpg"), "media_content")))
    assert photo.image is not None, photo.note


def test_feed_validators_are_read_whatever_their_case(site: FeedServer) -> None:
    from bot.feeds import fetch_feed

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("content-type", "application/rss+xml")
        h.send_header("etag", '"v1"')
        h.send_header("last-modified", "Mon, 28 Oct 2024 06:00:00 GMT")
        h.send_header("Content-Length", "6")
        h.end_headers()
        h.wfile.write(b"<rss/>")

    site.routes["/feed/"] = Route(handler=handler)
    fetched = fetch_feed(client(allow_private=True), site.url("/feed/"))
    assert fetched.etag == '"v1"'
    assert fetched.last_modified == "Mon, 28 Oct 2024 06:00:00 GMT"


def test_the_deadline_covers_every_redirect_hop(site: FeedServer) -> None:
    # Six hops of 0.9 s each against a 1 s read timeout: 2 s for the whole fetch.
    for hop in range(6):
        site.routes[f"/hop{hop}"] = redirect(f"/hop{hop + 1}", delay=0.9)
    site.routes["/hop6"] = Route(body=b"done", content_type="text/plain")
    http = client(allow_private=True, timeout="1s", max_redirects=8)
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline") as caught:
        http.get(site.url("/hop0"))
    elapsed = time.monotonic() - started
    assert elapsed < 4.0, f"took {elapsed:.1f}s against a 2s deadline"
    assert "2s" in str(caught.value)
    assert len(site.hits("/hop")) < 6


def test_headers_dripped_a_byte_at_a_time_meet_the_deadline(site: FeedServer) -> None:
    stop = threading.Event()

    def handler(h: BaseHTTPRequestHandler) -> None:
        with contextlib.suppress(OSError):
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(200):  # 200 × 0.1 s: far past the 2 s deadline
                if stop.is_set():
                    return
                h.wfile.write(b"X")
                h.wfile.flush()
                time.sleep(0.1)

    site.routes["/slow"] = Route(handler=handler)
    http = client(allow_private=True, timeout="1s")
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="deadline"):
            http.get(site.url("/slow"))
    finally:
        stop.set()
    assert time.monotonic() - started < 5.0


def test_a_body_dripped_slowly_meets_the_deadline(site: FeedServer) -> None:
    site.routes["/drip"] = Route(body=b"", fault="drip")  # 100 × 10 bytes, 0.05 s apart
    http = client(allow_private=True, timeout="1s")
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline"):
        http.get(site.url("/drip"))
    assert time.monotonic() - started < 4.0


def test_a_callers_deadline_shortens_the_fetch(site: FeedServer) -> None:
    site.routes["/slow"] = redirect("/slow2", delay=1.5)
    http = client(allow_private=True, timeout="5s")
    started = time.monotonic()
    with pytest.raises(FetchError, match="took too long: the caller's time budget"):
        http.get(site.url("/slow"), deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 1.4


def test_a_photo_search_has_one_time_budget_across_candidates(tmp_path: Path,
                                                              site: FeedServer) -> None:
    for name in ("a", "b", "c", "d", "e", "f", "page"):
        site.routes[f"/{name}"] = redirect("/nowhere", delay=0.8)
    images = [ImageRef(site.url(f"/{n}"), "media_content") for n in "abcdef"]
    http = client(allow_private=True, timeout="1s", photo_budget="2s")
    started = time.monotonic()
    photo = fetcher(tmp_path, http).fetch(article(site.url("/page"), *images))
    elapsed = time.monotonic() - started
    assert photo.image is None
    assert elapsed < 4.0, f"photo search took {elapsed:.1f}s against a 2s budget"
    assert photo.note and "photo time budget" in photo.note
    assert len(site.requests) < 7
