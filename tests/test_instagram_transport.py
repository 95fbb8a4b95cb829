"""The HTTP layer under instagrapi: the test seam, deadlines, configure-once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from instagrapi import Client

from bot.errors import ConfigError
from bot.publishers.instagram.session import build_client
from bot.publishers.instagram.transport import (
    CallDeadlineExceeded,
    CallLimits,
    instagram_seam_warning,
    seam_origin,
)
from tests.ig_emulator import Emulator
from tests.igkit import make_config


@pytest.mark.parametrize("value", [
    "https://127.0.0.1:8765", "127.0.0.1:8765", "http://127.0.0.1:8765/api",
    "http://127.0.0.1:8765/?x=1", "ftp://127.0.0.1",
])
def test_the_seam_takes_only_a_plain_http_origin(monkeypatch: pytest.MonkeyPatch,
                                                 value: str) -> None:
    monkeypatch.setenv("BOT_INSTAGRAM_API", value)
    with pytest.raises(ConfigError, match="BOT_INSTAGRAM_API"):
        seam_origin()
    assert "invalid" in (instagram_seam_warning() or "")


def test_the_seam_is_off_unless_set_and_check_warns_when_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert seam_origin() is None
    assert instagram_seam_warning() is None
    monkeypatch.setenv("BOT_INSTAGRAM_API", "http://127.0.0.1:8765/")
    assert seam_origin() == "http://127.0.0.1:8765"
    assert "not to Instagram" in (instagram_seam_warning() or "")


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    made = build_client(None, config=make_config(), limits=CallLimits(timeout=5),
                        now=datetime.now(UTC))
    yield made
    for session in (made.private, made.public):
        session.close()


@pytest.mark.parametrize(("session", "url"), [
    ("private", "https://i.instagram.com/api/v1/nothing/"),
    ("private", "https://b.i.instagram.com/graphql_www"),
    ("private", "https://rupload.facebook.com/messenger_image/x"),
    ("public", "https://www.instagram.com/graphql/query/"),
    ("graphql", "https://www.instagram.com/api/graphql"),
])
def test_every_instagram_host_is_sent_to_the_emulator_with_its_host_header(
        client: Client, emulator: Emulator, session: str, url: str) -> None:
    host = url.split("/")[2]
    # instagrapi names the host itself on private requests (its session default is
    # i.instagram.com); the public sessions leave it to the URL.
    headers = {"Host": host} if session == "private" else {}
    getattr(client, session).get(url, headers=headers)

    [hit] = emulator.hits
    assert (hit.host, hit.path) == (host, "/" + url.split("/", 3)[3])


def test_the_seam_refuses_hosts_that_are_not_instagrams(client: Client,
                                                         emulator: Emulator) -> None:
    with pytest.raises(requests.exceptions.InvalidURL, match=r"example\.com"):
        client.private.get("https://example.com/")
    assert emulator.arrivals == []


def test_nothing_is_sent_once_the_call_deadline_has_passed() -> None:
    ticks = iter([0.0, 0.0, 2.0, 10.0])
    limits = CallLimits(timeout=5, clock=lambda: next(ticks))
    with limits.call("feed post"):
        assert limits.budget("https://i.instagram.com/a") == 5
        assert limits.budget("https://i.instagram.com/b") == 3
        with pytest.raises(CallDeadlineExceeded, match="feed post"):
            limits.budget("https://i.instagram.com/c")
