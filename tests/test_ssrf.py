"""SSRF: URL forms that reach loopback or private networks, as a photo (media:content),
as an article page's og:image and as a redirect target, with
``allow_private_addresses = false``. Every one is refused, the reason lands in the
post's render notes, and the internal server on loopback never sees a request.

The test controls the network the client sees, at its two boundaries:

- names: ``socket.getaddrinfo`` answers from a table (``news.example`` is public,
  ``loopback.example`` is 127.0.0.1, ``rebind.example`` is public on the first lookup
  and 127.0.0.1 after it), and nothing else resolves, so no query leaves the machine;
- connections: urllib3's ``create_connection`` takes the public address to the
  "public" server on loopback (a NAT), lets loopback through, and refuses any other
  address, so no packet leaves the machine either.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection

from bot.config import load_config
from bot.core import Bot
from bot.errors import FetchError
from bot.http import HttpClient
from bot.store import PostFilter
from tests.feedkit import FeedServer, Item, Route, feed_server, rss, write_config
from tests.imagekit import jpeg, landscape

PUBLIC_IP = "93.184.216.34"  # never contacted: the NAT below takes it to loopback
WHEN = datetime(2024, 10, 28, 5, 0, tzinfo=UTC)


@dataclass
class Net:
    """The network the test controls."""

    public: FeedServer  # what PUBLIC_IP reaches
    internal: FeedServer  # on loopback: must never be reached
    lookups: dict[str, int]

    @property
    def p(self) -> int:
        return self.internal.port


def forms(p: int) -> list[str]:
    """Hostile URL forms aimed at the internal server's port ``p``."""
    return [
        f"http://127.0.0.1:{p}/secret.jpg",
        f"http://127.0.0.1:{p}\\@{PUBLIC_IP}:{p}/secret.jpg",
        f"http://127.0.0.1:{p}\\@news.example/secret.jpg",
        f"http://news.example\\@127.0.0.1:{p}/secret.jpg",
        f"http://news.example@127.0.0.1:{p}/secret.jpg",
        f"http://user:pass@127.0.0.1:{p}/secret.jpg",
        f"http://2130706433:{p}/secret.jpg",
        f"http://0177.0.0.1:{p}/secret.jpg",
        f"http://0x7f.0.0.1:{p}/secret.jpg",
        f"http://0x7f000001:{p}/secret.jpg",
        f"http://017700000001:{p}/secret.jpg",
        f"http://127.1:{p}/secret.jpg",
        f"http://0.0.0.0:{p}/secret.jpg",
        f"http://0:{p}/secret.jpg",
        f"http://[::1]:{p}/secret.jpg",
        f"http://[::]:{p}/secret.jpg",
        f"http://[::ffff:127.0.0.1]:{p}/secret.jpg",
        f"http://[::ffff:7f00:1]:{p}/secret.jpg",
        f"http://[64:ff9b::7f00:1]:{p}/secret.jpg",
        f"http://[::127.0.0.1]:{p}/secret.jpg",
        f"http://[2002:7f00:1::]:{p}/secret.jpg",
        f"http://[fe80::1]:{p}/secret.jpg",
        f"http://[fc00::1]:{p}/secret.jpg",
        f"http://localhost:{p}/secret.jpg",
        f"http://LOCALHOST:{p}/secret.jpg",
        f"http://localhost.:{p}/secret.jpg",
        f"http://berita.localhost:{p}/secret.jpg",
        f"http://loopback.example:{p}/secret.jpg",
        f"http://127%2E0%2E0%2E1:{p}/secret.jpg",
        f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{p}/secret.jpg",  # full-width digits
        f"HTTP://127.0.0.1:{p}/secret.jpg",
        f"https://127.0.0.1:{p}/secret.jpg",
        "http://10.0.0.1/secret.jpg",
        "http://192.168.1.1/secret.jpg",
        "http://100.64.0.1/secret.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        f"ftp://127.0.0.1:{p}/secret.jpg",
        f"gopher://127.0.0.1:{p}/_GET%20/secret.jpg",
    ]


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    """Public and internal servers, the name table and the NAT."""
    with feed_server() as public, feed_server() as internal:
        photo = jpeg(landscape((800, 600)))
        internal.routes["/secret.jpg"] = Route(body=photo, content_type="image/jpeg")
        public.routes["/photo.jpg"] = Route(body=photo, content_type="image/jpeg")
        lookups: dict[str, int] = {}
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = (host.decode() if isinstance(host, bytes) else str(host)).lower()
            name = name.rstrip(".")
            lookups[name] = lookups.get(name, 0) + 1
            table = {"news.example": PUBLIC_IP, "loopback.example": "127.0.0.1",
                     "rebind.example": PUBLIC_IP if lookups[name] == 1 else "127.0.0.1"}
            if name in table:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[name], int(port)))]
            if name in ("localhost", "127.0.0.1", "::1") or name.endswith(".localhost"):
                return real_getaddrinfo(host, port, *args, **kwargs)
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
            except OSError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            return real_getaddrinfo(host, port, *args, **kwargs)

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
            host, port = address
            infos = getaddrinfo(host, port)
            target = infos[0][4][0]
            if target == PUBLIC_IP:
                return socket.create_connection(("127.0.0.1", public.port), *args[:1])
            if target in ("127.0.0.1", "::1"):
                return socket.create_connection((target, port), *args[:1])
            raise OSError(f"test network: no route to {target}")

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
        yield Net(public, internal, lookups)


def _config(tmp_path: Path, feed_url: str) -> Path:
    path = tmp_path / "bot.toml"
    write_config(path, feed_url, feeds_extra="backlog = 50")
    path.write_text(path.read_text().replace("allow_private_addresses = true",
                                             "allow_private_addresses = false"))
    return path


def test_there_are_at_least_30_forms() -> None:
    assert len(forms(1)) >= 30


def test_the_test_network_reaches_the_public_server(tmp_path: Path, net: Net) -> None:
    """The control: a public photo is fetched, so the refusals below are the check's."""
    http = HttpClient(load_config(_config(tmp_path, "http://x.invalid/")).fetch)
    try:
        response = http.get(f"http://news.example:{net.p}/photo.jpg")
    finally:
        http.close()
    assert response.status == 200 and response.body.startswith(b"\xff\xd8")


def test_every_form_is_refused_by_the_http_client(tmp_path: Path, net: Net) -> None:
    http = HttpClient(load_config(_config(tmp_path, "http://x.invalid/")).fetch)
    passed: list[str] = []
    try:
        for url in forms(net.p):
            try:
                http.get(url)
            except FetchError as exc:
                if "refused" not in str(exc):
                    passed.append(f"{url}: {exc}")
            else:
                passed.append(f"{url}: fetched")
    finally:
        http.close()
    assert passed == []
    assert net.internal.requests == []


ROLES = ["photo", "og:image", "redirect"]


@pytest.mark.parametrize("role", ROLES)
def test_every_form_is_refused_through_the_render_path(role: str, tmp_path: Path,
                                                      data_dir: Path, net: Net) -> None:
    urls = forms(net.p)
    items = []
    for n, url in enumerate(urls):
        article = f"http://news.example:{net.p}/artikel/{n}/"
        image: str | None = url
        if role == "og:image":
            image = None
            net.public.routes[f"/artikel/{n}/"] = Route(
                body=f'<html><head><meta property="og:image" content="{_attr(url)}"></head>'
                     "<body></body></html>".encode(), content_type="text/html")
        elif role == "redirect":
            image = f"http://news.example:{net.p}/r/{n}"
            net.public.routes[f"/r/{n}"] = Route(handler=_redirect(url))
        items.append(Item(post_id=41000 + n, title=f"Berita uji SSRF nomor {n}",
                          slug=f"berita-uji-ssrf-{n}", published=WHEN, image=image,
                          link=article))
    net.public.routes["/feed/"] = Route(body=rss(items))
    # The feed itself is configured, so trusted: it is read from loopback directly.
    bot = Bot(load_config(_config(tmp_path, net.public.url("/feed/"))), data_dir=data_dir)
    try:
        report = bot.poll()[0]
        posts = {p.title: p for p in bot.posts(PostFilter(limit=None))}
    finally:
        bot.close()
    assert report.status == "ok", report.reason
    unrefused = []
    for n, url in enumerate(urls):
        post = posts[f"Berita uji SSRF nomor {n}"]
        notes = post.render_notes or ""
        if "refused" not in notes or "branded card" not in notes:
            unrefused.append(f"{url}: {notes or post.reason}")
    assert unrefused == []
    assert net.internal.requests == []


def test_a_rebinding_name_is_connected_to_the_address_that_was_vetted(tmp_path: Path,
                                                                     net: Net) -> None:
    """``rebind.example`` answers a public address once, then 127.0.0.1: the fetch goes
    to the vetted public address (the public server), never to loopback."""
    net.public.routes["/secret.jpg"] = Route(body=b"public", content_type="text/plain")
    http = HttpClient(load_config(_config(tmp_path, "http://x.invalid/")).fetch)
    try:
        try:
            response = http.get(f"http://rebind.example:{net.p}/secret.jpg")
        except FetchError as exc:
            outcome = str(exc)
        else:
            outcome = response.body.decode("utf-8", "replace")
    finally:
        http.close()
    assert net.internal.requests == [], outcome
    assert outcome == "public"


@pytest.mark.parametrize("role", ROLES)
def test_a_rebinding_photo_never_reaches_loopback(role: str, tmp_path: Path, data_dir: Path,
                                                 net: Net) -> None:
    target = f"http://rebind.example:{net.p}/secret.jpg"
    article = f"http://news.example:{net.p}/artikel/1/"
    image: str | None = target
    if role == "og:image":
        image = None
        net.public.routes["/artikel/1/"] = Route(
            body=f'<html><head><meta property="og:image" content="{target}"></head>'.encode(),
            content_type="text/html")
    elif role == "redirect":
        image = f"http://news.example:{net.p}/r/1"
        net.public.routes["/r/1"] = Route(handler=_redirect(target))
    net.public.routes["/feed/"] = Route(body=rss([Item(
        post_id=42001, title="Berita rebinding", slug="berita-rebinding", published=WHEN,
        image=image, link=article)]))
    bot = Bot(load_config(_config(tmp_path, net.public.url("/feed/"))), data_dir=data_dir)
    try:
        bot.poll()
        post = bot.posts(PostFilter(limit=None))[0]
    finally:
        bot.close()
    assert net.internal.requests == []
    # The public server has no /secret.jpg: the photo was asked of it, and the note says so.
    assert post.render_notes and "404" in post.render_notes, post.render_notes


def _attr(url: str) -> str:
    return url.replace("&", "&amp;").replace('"', "&quot;")


def _redirect(location: str) -> Any:
    """A 302 to ``location``, its bytes as UTF-8 (as PHP sends a non-ASCII Location)."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 302 Found\r\nLocation: " + location.encode("utf-8")
                      + b"\r\nContent-Length: 0\r\n\r\n")
    return handler
