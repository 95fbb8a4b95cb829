"""``POST /hooks/wordpress``: the token, the rate limit, what a request may name, the
full path from the hook to the outbox with a real ``bot run`` and ``bot web``, and the
WordPress plugin itself (run by PHP when the machine has it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from starlette.testclient import TestClient

from bot.config import load_config
from bot.core import Bot
from bot.models import RequestState
from bot.web.app import create_app
from bot.web.auth import WebSettings
from bot.web.hooks import HookLimiter
from tests.feedkit import FeedServer, Item, Route, rss, write_config
from tests.schedkit import wait_for
from tests.webkit import web_env

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "assets" / "wordpress" / "editorialkaltim-bot-push.php"
TOKEN = "rahasia-hook-0123456789abcdefghij"
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def item(server: FeedServer, number: int) -> Item:
    return Item(post_id=number, title=f"Berita {number}", slug=f"berita-{number}",
                published=NOW - timedelta(minutes=100 - number),
                link=server.url(f"/2026/11/30/berita-{number}/"))


@pytest.fixture
def bot(tmp_path: Path, data_dir: Path, server: FeedServer) -> Iterator[Bot]:
    server.routes["/feed/"] = Route(body=rss([item(server, 1)]))
    server.routes["/kutim/feed/"] = Route(body=rss([item(server, 50)]))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), second_feed_url=server.url("/kutim/feed/"))
    running = Bot(load_config(config), data_dir=data_dir)
    yield running
    running.close()


def settings(token: str | None = TOKEN) -> WebSettings:
    env = web_env(Path("."), Path("."))
    if token is not None:
        env["BOT_HOOK_TOKEN"] = token
    return WebSettings.from_env(env)


@pytest.fixture
def client(bot: Bot) -> Iterator[TestClient]:
    with TestClient(create_app(bot, settings()), follow_redirects=False) as running:
        yield running


def hook(client: TestClient, body: Any = None, *, token: str | None = TOKEN,
         raw: bytes | None = None) -> Any:
    headers = {"X-Bot-Token": token} if token is not None else {}
    if raw is not None:
        return client.post("/hooks/wordpress", content=raw, headers=headers)
    if body is None:
        return client.post("/hooks/wordpress", headers=headers)
    return client.post("/hooks/wordpress", json=body, headers=headers)


@pytest.mark.parametrize("token", [None, "", "salah", TOKEN + "x", TOKEN[:-1]])
def test_a_missing_or_wrong_token_is_refused_and_records_nothing(
        client: TestClient, bot: Bot, token: str | None) -> None:
    response = hook(client, {"feed": "utama"}, token=token)
    assert response.status_code == 403
    assert response.json() == {"error": "missing or wrong X-Bot-Token"}
    assert bot.store.poll_requests() == []
    assert TOKEN not in response.text


def test_without_a_configured_token_every_request_is_refused(bot: Bot) -> None:
    with TestClient(create_app(bot, settings(token=None))) as client:
        for token in (None, "", TOKEN):
            assert hook(client, token=token).status_code == 403
    assert bot.store.poll_requests() == []


def test_a_request_naming_a_feed_is_recorded_for_that_feed(client: TestClient,
                                                           bot: Bot) -> None:
    response = hook(client, {"feed": "kutim"})
    assert response.status_code == 202
    answer = response.json()
    assert answer["ok"] and answer["feed"] == "kutim" and not answer["joined"]
    [request] = bot.store.poll_requests()
    assert (request.id, request.feed, request.url, request.source) == (
        answer["request"], "kutim", None, "wordpress")
    assert request.state == RequestState.PENDING and request.client == "testclient"
    again = hook(client, {"feed": "kutim"}).json()
    assert again["joined"] and again["request"] == answer["request"]


@pytest.mark.parametrize("body", [None, {}, {"feed": None}])
def test_a_request_naming_no_feed_is_recorded_for_every_feed(
        client: TestClient, bot: Bot, body: Any) -> None:
    assert hook(client, body).status_code == 202
    [request] = bot.store.poll_requests()
    assert request.feed is None and request.url is None


def test_a_request_may_name_the_article_and_its_feed(client: TestClient, bot: Bot,
                                                     server: FeedServer) -> None:
    url = item(server, 2).url
    assert hook(client, {"url": url, "feed": "utama"}).status_code == 202
    [request] = bot.store.poll_requests()
    assert (request.feed, request.url) == ("utama", url)


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"feed": "sport"}, 404, "no feed named 'sport'"),
    ({"url": "javascript:alert(1)"}, 400, "absolute http(s) URL"),
    ({"feed": 3}, 400, "feed must be a non-empty string"),
    ({"url": ""}, 400, "url must be a non-empty string"),
    ({"feeds": ["utama"]}, 400, "unknown field(s): feeds"),
    (["utama"], 400, "must be a JSON object"),
])
def test_malformed_requests_are_refused_and_record_nothing(
        client: TestClient, bot: Bot, body: Any, status: int, message: str) -> None:
    response = hook(client, body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert bot.store.poll_requests() == []


def test_a_body_that_is_not_json_or_too_big_is_refused(client: TestClient, bot: Bot) -> None:
    assert hook(client, raw=b"feed=utama").status_code == 400
    big = json.dumps({"url": "https://editorialkaltim.com/" + "a" * 9000}).encode()
    response = hook(client, raw=big)
    assert response.status_code == 400 and "too large" in response.json()["error"]
    assert bot.store.poll_requests() == []


def test_requests_are_rate_limited_per_client_right_token_or_not(bot: Bot) -> None:
    clock = [0.0]
    limiter = HookLimiter(limit=3, window=60, clock=lambda: clock[0])
    with TestClient(create_app(bot, settings(), hook_limiter=limiter)) as client:
        assert hook(client, token="salah").status_code == 403
        assert hook(client, {"feed": "utama"}).status_code == 202
        assert hook(client, {"feed": "kutim"}).status_code == 202
        limited = hook(client, {"feed": "utama"})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) == 60
        assert hook(client, token="salah").status_code == 429  # guessing waits too
        clock[0] = 61
        assert hook(client).status_code == 202
    assert [r.feed for r in bot.store.poll_requests()] == [None, "kutim", "utama"]


def test_the_limiter_counts_each_client_apart() -> None:
    limiter = HookLimiter(limit=2, window=60, clock=lambda: 0.0)
    assert [limiter.take("10.0.0.1") for _ in range(3)] == [0, 0, 60]
    assert limiter.take("10.0.0.2") == 0


# -- the full path: WordPress → bot web → store → bot run → outbox ---------------------


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "bot", *args],
                                env={**os.environ, **env}, stdout=handle,
                                stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_push_reaches_the_outbox_through_real_bot_run_and_bot_web(
        tmp_path: Path, server: FeedServer) -> None:
    first = item(server, 1)
    server.routes["/feed/"] = Route(body=rss([first]))
    config = tmp_path / "bot.toml"
    # Hourly polls: only the push can bring the new article out within the test.
    write_config(config, server.url("/feed/"), feeds_extra='poll_every = "1h"')
    data = tmp_path / "var"
    env = {**web_env(data, config), "BOT_HOOK_TOKEN": TOKEN}
    port = _free_port()
    worker = _start(["run"], env, tmp_path / "run.log")
    web = _start(["web", "--host", "127.0.0.1", "--port", str(port)], env,
                 tmp_path / "web.log")

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in (tmp_path / "run.log", tmp_path / "web.log"))

    try:
        wait_for(lambda: "every feed polled once" in (tmp_path / "run.log").read_text(),
                 timeout=120, what="the worker's start-up poll", detail=logs)

        def up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2) is not None
            except requests.ConnectionError:
                return False

        wait_for(up, timeout=120, what="bot web to answer", detail=logs)
        fresh = item(server, 2)
        server.routes["/feed/"] = Route(body=rss([fresh, first]))
        hook_url = f"http://127.0.0.1:{port}/hooks/wordpress"
        refused = requests.post(hook_url, json={"url": fresh.url},
                                headers={"X-Bot-Token": "salah"}, timeout=10)
        assert refused.status_code == 403
        answer = requests.post(hook_url, json={"url": fresh.url},
                               headers={"X-Bot-Token": TOKEN}, timeout=10)
        assert answer.status_code == 202, answer.text
        outbox = data / "outbox"
        wait_for(lambda: list(outbox.glob("*-berita-2.json")), timeout=120,
                 what="the pushed article in the outbox", detail=logs)
        meta = json.loads(next(outbox.glob("*-berita-2.json")).read_text())
        assert meta["link"].startswith(fresh.url)
        assert not list(outbox.glob("*-berita-1.*"))  # the first poll's article is seen
    finally:
        _stop(web)
        _stop(worker)
    run_log = (tmp_path / "run.log").read_text()
    assert "poll request 1 (wordpress) done" in run_log
    assert TOKEN not in run_log + (tmp_path / "web.log").read_text()
    assert worker.returncode == 0


# -- the WordPress plugin ---------------------------------------------------------------

# Just enough of WordPress for the plugin: the hook registry, and wp_remote_post
# implemented with PHP's own HTTP client so the request really goes out.
WP_STUB = r"""<?php
define('ABSPATH', '/tmp/');
$GLOBALS['actions'] = array();
function add_action($hook, $fn, $priority = 10, $args = 1) { $GLOBALS['actions'][$hook][] = $fn; }
function get_post_type($post) { return $post->post_type; }
function wp_is_post_revision($post) { return false; }
function wp_is_post_autosave($post) { return false; }
function get_permalink($post) { return $post->permalink; }
function wp_json_encode($data) { return json_encode($data, JSON_UNESCAPED_SLASHES); }
function wp_remote_post($url, $args) {
    $headers = '';
    foreach ($args['headers'] as $name => $value) { $headers .= "$name: $value\r\n"; }
    $context = stream_context_create(array('http' => array(
        'method' => 'POST', 'header' => $headers, 'content' => $args['body'],
        'timeout' => $args['timeout'], 'ignore_errors' => true)));
    file_get_contents($url, false, $context);
    fwrite(STDERR, 'blocking=' . var_export($args['blocking'], true) . "\n");
}
define('EDITORIALKALTIM_BOT_HOOK_URL', getenv('HOOK_URL'));
define('EDITORIALKALTIM_BOT_TOKEN', getenv('HOOK_TOKEN'));
require getenv('PLUGIN');
$post = (object) array('post_type' => getenv('POST_TYPE'), 'permalink' => getenv('PERMALINK'));
foreach ($GLOBALS['actions']['transition_post_status'] as $fn) {
    $fn(getenv('NEW_STATUS'), getenv('OLD_STATUS'), $post);
}
"""


class _Capture(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Capture.seen.append({"path": self.path, "headers": dict(self.headers.items()),
                              "body": body})
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.skipif(shutil.which("php") is None, reason="no php on this machine")
@pytest.mark.parametrize(("old", "new", "kind", "sent"), [
    ("draft", "publish", "post", True),
    ("future", "publish", "post", True),  # a scheduled post going out
    ("publish", "publish", "post", False),  # an edit of a published post
    ("draft", "pending", "post", False),
    ("draft", "publish", "page", False),
])
def test_the_wordpress_plugin_calls_the_hook_on_first_publication(
        tmp_path: Path, old: str, new: str, kind: str, sent: bool) -> None:
    _Capture.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stub = tmp_path / "wp.php"
    stub.write_text(WP_STUB)
    permalink = "https://editorialkaltim.com/2026/11/30/berita-baru/"
    try:
        result = subprocess.run(
            ["php", str(stub)], capture_output=True, text=True, timeout=60,
            env={**os.environ, "PLUGIN": str(PLUGIN), "HOOK_TOKEN": TOKEN,
                 "HOOK_URL": f"http://127.0.0.1:{httpd.server_address[1]}/hooks/wordpress",
                 "POST_TYPE": kind, "PERMALINK": permalink, "OLD_STATUS": old,
                 "NEW_STATUS": new})
        assert result.returncode == 0, result.stdout + result.stderr
        deadline = time.monotonic() + 5
        while sent and not _Capture.seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        httpd.shutdown()
        httpd.server_close()
    if not sent:
        assert _Capture.seen == [] and "blocking" not in result.stderr
        return
    [request] = _Capture.seen
    assert request["path"] == "/hooks/wordpress"
    assert request["headers"]["X-Bot-Token"] == TOKEN
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"url": permalink}
    assert "blocking=false" in result.stderr  # publishing never waits for the bot
