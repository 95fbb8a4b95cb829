"""The desk's routes, in process: login, CSRF, escaping, images by id, actions, /bio.

The app runs over a real SQLite store seeded through the real pipeline
(tests/webkit.py), driven by Starlette's TestClient (httpx).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from bot.web.app import create_app
from bot.web.auth import LoginLimiter, WebSettings
from tests.feedkit import FeedServer, feed_server
from tests.webkit import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    XSS_CAPTION,
    XSS_ERROR,
    Seeded,
    clone,
    seed,
    web_env,
)

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version" value="([^"]+)"')


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, server: FeedServer
             ) -> tuple[Seeded, Path]:
    root = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        return seed(root, root / "var", server), root / "var"


@pytest.fixture
def seeded(template: tuple[Seeded, Path], data_dir: Path) -> Seeded:
    return clone(template[0], template[1], data_dir)


@pytest.fixture
def bot(seeded: Seeded, data_dir: Path) -> Iterator[Bot]:
    running = Bot(load_config(seeded.config), data_dir=data_dir)
    yield running
    running.close()


def settings() -> WebSettings:
    return WebSettings.from_env(web_env(Path("."), Path(".")))


@pytest.fixture
def client(bot: Bot) -> Iterator[TestClient]:
    with TestClient(create_app(bot, settings()), follow_redirects=False) as running:
        yield running


def csrf(client: TestClient, path: str = "/login") -> str:
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, password: str = ADMIN_PASSWORD) -> Any:
    return client.post("/login", data={"username": ADMIN_USER, "password": password,
                                       "csrf_token": csrf(client), "next": "/"})


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    response = login(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    return client


def act(client: TestClient, post_id: int, action: str, **fields: str) -> Any:
    page = client.get(f"/posts/{post_id}").text
    data = {"csrf_token": CSRF_RE.search(page).group(1),  # type: ignore[union-attr]
            "version": VERSION_RE.search(page).group(1) if VERSION_RE.search(page) else "",
            **fields}
    return client.post(f"/posts/{post_id}/{action}", data=data)


def web_events(bot: Bot, post_id: int) -> list[Any]:
    # A story that follows its feed post (ends with it, waits again on retry) records
    # its own "story" event under the same actor; these tests count the desk's actions.
    return [e for e in bot.timeline(post_id) if e.actor.startswith("web:") and e.kind != "story"]


# -- login ----------------------------------------------------------------------------

PRIVATE_GETS = ["/", "/posts", "/posts?status=failed", "/posts.csv", "/posts/{queued}",
                "/posts/{queued}/card.jpg", "/posts/{queued}/story.jpg",
                "/posts/{posted}/card.jpg", "/posts/{posted}/story.jpg",
                "/posts/{queued}/card.jpg?size=thumb"]
ACTIONS = ["approve", "skip", "retry", "publish", "edit", "followup"]


@pytest.mark.parametrize("path", PRIVATE_GETS)
def test_every_private_page_needs_login(client: TestClient, seeded: Seeded, path: str) -> None:
    response = client.get(path.format(**seeded.ids))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "image/jpeg" not in response.headers.get("content-type", "")


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_needs_login_and_changes_nothing(client: TestClient, seeded: Seeded,
                                                       bot: Bot, action: str) -> None:
    post_id = seeded.ids["pending_approval"]
    before = bot.post(post_id)
    token = csrf(client)  # an anonymous session's token is no key to the actions
    response = client.post(f"/posts/{post_id}/{action}",
                           data={"csrf_token": token, "reason": "x", "caption": "x",
                                 "alt_text": "x", "headline": "x"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert bot.post(post_id) == before
    assert not web_events(bot, post_id)


def test_public_pages_need_no_login(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/bio").status_code == 200
    thumb = client.get(f"/posts/{seeded.ids['posted']}/card.jpg?size=thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


def test_login_with_the_right_password_opens_the_desk(client: TestClient) -> None:
    assert login(client, "salah").status_code == 401
    assert client.get("/").status_code == 303
    response = login(client)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Dasbor" in page.text and "Antrean terbit" in page.text


def test_session_cookie_is_secure_over_https(bot: Bot) -> None:
    with TestClient(create_app(bot, settings()), base_url="https://desk.example",
                    follow_redirects=False) as client:
        response = login(client)
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


def test_logout_ends_the_session(admin: TestClient) -> None:
    token = csrf(admin, "/")
    assert admin.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert admin.get("/").status_code == 200
    response = admin.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert admin.get("/").status_code == 303


def test_a_forged_or_stale_cookie_is_no_session(client: TestClient, bot: Bot) -> None:
    client.cookies.set("desk_session", "eyJ1c2VyIjoicmVkYWtzaSJ9.forged.sig")
    assert client.get("/").status_code == 303
    login(client)
    assert client.get("/").status_code == 200
    # A new password hash voids every session signed under the old one.
    env = web_env(Path("."), Path("."))
    env["BOT_ADMIN_PASSWORD_HASH"] = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$" + "A" * 43
    other = create_app(bot, WebSettings.from_env(env))
    with TestClient(other, follow_redirects=False) as second:
        second.cookies.update(client.cookies)
        assert second.get("/").status_code == 303


def test_next_never_leaves_the_site(client: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = csrf(client)
        response = client.post("/login", data={"username": ADMIN_USER,
                                                "password": ADMIN_PASSWORD,
                                                "csrf_token": token, "next": target})
        assert response.headers["location"] == "/"
        client.cookies.clear()


def test_failed_logins_are_rate_limited_per_client(bot: Bot) -> None:
    app = create_app(bot, settings(), limiter=LoginLimiter(per_client=3, per_user=100))
    with TestClient(app, follow_redirects=False) as client:
        for _ in range(3):
            assert login(client, "salah").status_code == 401
        limited = login(client)  # even the right password waits now
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert "Terlalu banyak percobaan" in limited.text
        assert client.get("/").status_code == 303


def test_failed_logins_are_rate_limited_per_user_across_clients() -> None:
    clock = [0.0]
    limiter = LoginLimiter(per_client=100, per_user=3, window=60, clock=lambda: clock[0])
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert limiter.retry_after(address, "redaksi") == 0
        limiter.failed(address, "redaksi")
    assert limiter.retry_after("10.0.0.4", "Redaksi") > 0
    assert limiter.retry_after("10.0.0.4", "lain") == 0
    clock[0] = 61
    assert limiter.retry_after("10.0.0.4", "redaksi") == 0


def test_login_without_an_admin_configured_is_refused(bot: Bot) -> None:
    env = web_env(Path("."), Path("."))
    del env["BOT_ADMIN_PASSWORD_HASH"]
    with TestClient(create_app(bot, WebSettings.from_env(env)),
                    follow_redirects=False) as client:
        page = client.get("/login")
        assert "Login belum disiapkan" in page.text
        assert login(client).status_code == 403
        assert client.get("/").status_code == 303


# -- CSRF -----------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "salah"])
@pytest.mark.parametrize("action", ["approve", "skip", "edit"])
def test_posts_without_the_sessions_csrf_token_are_refused(
        admin: TestClient, seeded: Seeded, bot: Bot, token: str | None, action: str) -> None:
    post_id = seeded.ids["pending_approval"]
    before = bot.post(post_id)
    data = {"reason": "alasan", "caption": "baru", "alt_text": "baru", "headline": "baru"}
    if token is not None:
        data["csrf_token"] = token
    response = admin.post(f"/posts/{post_id}/{action}", data=data)
    assert response.status_code == 403
    assert "Token formulir" in response.text
    assert bot.post(post_id) == before and not web_events(bot, post_id)


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert response.status_code == 403
    assert client.get("/").status_code == 303


def test_the_csrf_token_of_another_session_is_refused(bot: Bot, seeded: Seeded) -> None:
    app = create_app(bot, settings())
    with TestClient(app, follow_redirects=False) as one, \
            TestClient(app, follow_redirects=False) as two:
        login(one)
        login(two)
        foreign = csrf(two, "/")
        post_id = seeded.ids["pending_approval"]
        assert one.post(f"/posts/{post_id}/approve",
                        data={"csrf_token": foreign}).status_code == 403
        assert bot.post(post_id).status == Status.PENDING_APPROVAL


# -- escaping ---------------------------------------------------------------------------


def test_feed_titles_are_escaped_everywhere(admin: TestClient, seeded: Seeded) -> None:
    for path in ("/posts", f"/posts/{seeded.ids['posted']}", "/bio", "/"):
        html = admin.get(path).text
        if path == "/" and "Banjir rob" not in html:
            continue  # the dashboard shows it only as a feed's newest article
        assert "<script>alert(1)</script>" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_error_texts_are_escaped_and_shown_in_full(admin: TestClient, seeded: Seeded) -> None:
    html = admin.get(f"/posts/{seeded.ids['failed']}").text
    assert XSS_ERROR not in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt; upload rejected: bad image" in html
    assert '<img src=x' not in html


def test_edited_captions_are_escaped(admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    post_id = seeded.ids["queued"]
    post = bot.post(post_id)
    response = act(admin, post_id, "edit", caption=XSS_CAPTION, alt_text=post.alt_text or "",
                   headline=post.headline)
    assert response.status_code == 303
    assert bot.post(post_id).caption == XSS_CAPTION
    html = admin.get(f"/posts/{post_id}").text
    assert "<script>alert(3)</script>" not in html
    assert "Keterangan &lt;script&gt;alert(3)&lt;/script&gt; uji" in html


def test_pages_carry_the_security_headers(admin: TestClient, seeded: Seeded) -> None:
    for path in ("/", "/posts", "/bio", "/login", "/healthz",
                 f"/posts/{seeded.ids['posted']}/card.jpg"):
        headers = admin.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
    assert admin.get("/").headers["cache-control"] == "no-store"


def test_no_template_has_an_inline_script_or_style() -> None:
    folder = Path(__file__).resolve().parent.parent / "bot" / "web" / "templates"
    for template in folder.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<script" not in text and "style=" not in text and "<style" not in text, template
        assert not re.search(r"\son[a-z]+=", text), template


# -- images -----------------------------------------------------------------------------

TRAVERSALS = ["/posts/../../etc/passwd", "/posts/..%2F..%2Fetc%2Fpasswd/card.jpg",
              "/posts/{queued}/..%2F..%2Fbot.toml.jpg", "/posts/{queued}/%2e%2e/card.jpg",
              "/posts/-1/card.jpg", "/posts/{queued}/passwd.jpg",
              "/posts/{queued}/card.jpg/../../../etc/passwd", "/static/../app.py",
              "/static/%2e%2e/app.py", "/static/..%2Fapp.py", "/posts/999999/card.jpg"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_images_are_served_by_post_id_never_by_path(admin: TestClient, seeded: Seeded,
                                                     path: str) -> None:
    response = admin.get(path.format(**seeded.ids))
    assert response.status_code == 404, (path, response.status_code)
    assert b"root:" not in response.content and b"import" not in response.content


def test_a_card_path_outside_the_data_dir_is_not_served(admin: TestClient, seeded: Seeded,
                                                         bot: Bot, tmp_path: Path) -> None:
    """A path outside the data dir is read as another process's: only its file name
    counts, and the post's own card is drawn again under it in this data dir's cards/."""
    from io import BytesIO

    from PIL import Image

    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"not for the web")
    post_id = seeded.ids["queued"]
    for path in (secret, bot.data_dir / "cards" / ".." / ".." / "secret.jpg"):
        bot.store.update_post(post_id, card_path=str(path))
        response = admin.get(f"/posts/{post_id}/card.jpg")
        assert response.status_code == 200 and b"not for the web" not in response.content
        assert Image.open(BytesIO(response.content)).size == (1080, 1350)
        assert (bot.data_dir / "cards" / "secret.jpg").is_file()
        (bot.data_dir / "cards" / "secret.jpg").unlink()
    bot.store.update_post(post_id, card_path=str(tmp_path / "notes.txt"))  # not a card
    assert admin.get(f"/posts/{post_id}/card.jpg").status_code == 404


def test_admins_get_cards_and_stories_at_full_size(admin: TestClient, seeded: Seeded) -> None:
    from io import BytesIO

    from PIL import Image

    card = admin.get(f"/posts/{seeded.ids['queued']}/card.jpg")
    story = admin.get(f"/posts/{seeded.ids['queued']}/story.jpg")
    assert Image.open(BytesIO(card.content)).size == (1080, 1350)
    assert Image.open(BytesIO(story.content)).size == (1080, 1920)


# -- actions ----------------------------------------------------------------------------


def test_approve_queues_the_post_with_a_web_event(admin: TestClient, seeded: Seeded,
                                                  bot: Bot) -> None:
    post_id = seeded.ids["pending_approval"]
    response = act(admin, post_id, "approve")
    assert response.status_code == 303 and response.headers["location"] == f"/posts/{post_id}"
    assert bot.post(post_id).status == Status.QUEUED
    [event] = web_events(bot, post_id)
    assert event.actor == f"web:{ADMIN_USER}" and event.to_status == "queued"
    assert "Disetujui" in admin.get(f"/posts/{post_id}").text


def test_skip_needs_a_reason_and_records_it(admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    post_id = seeded.ids["queued"]
    act(admin, post_id, "skip", reason="   ")
    assert bot.post(post_id).status == Status.QUEUED and not web_events(bot, post_id)
    act(admin, post_id, "skip", reason="dobel dengan berita kemarin")
    post = bot.post(post_id)
    assert post.status == Status.SKIPPED
    [event] = web_events(bot, post_id)
    assert "dobel dengan berita kemarin" in event.reason and event.to_status == "skipped"


def test_retry_requeues_a_failed_post(admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    post_id = seeded.ids["failed"]
    act(admin, post_id, "retry")
    post = bot.post(post_id)
    assert post.status == Status.QUEUED and post.attempts == 0
    assert [e.to_status for e in web_events(bot, post_id)] == ["queued"]


def test_post_now_flags_the_post_with_an_event(admin: TestClient, seeded: Seeded,
                                               bot: Bot) -> None:
    post_id = seeded.ids["queued"]
    act(admin, post_id, "publish")
    post = bot.post(post_id)
    assert post.status == Status.QUEUED and post.post_now_at is not None
    [event] = web_events(bot, post_id)
    assert "post now" in event.reason
    queue = bot.store.queued_posts("editorialkaltim")
    assert queue[0].id == post_id  # first in line for the next tick


def test_an_action_on_a_post_that_changed_meanwhile_changes_nothing(
        admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    post_id = seeded.ids["pending_approval"]
    page = admin.get(f"/posts/{post_id}").text
    token = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    version = VERSION_RE.search(page).group(1)  # type: ignore[union-attr]
    bot.approve(post_id, actor="cli:other")  # someone else was quicker
    bot.skip(post_id, reason="changed mind", actor="cli:other")
    for action in ("approve", "skip", "retry", "publish"):
        admin.post(f"/posts/{post_id}/{action}",
                   data={"csrf_token": token, "version": version, "reason": "x"})
        assert bot.post(post_id).status == Status.SKIPPED
    assert not web_events(bot, post_id)
    assert "sudah berubah" in admin.get(f"/posts/{post_id}").text


def test_an_action_the_status_does_not_allow_says_why(admin: TestClient, seeded: Seeded,
                                                     bot: Bot) -> None:
    post_id = seeded.ids["posted"]
    token = csrf(admin, f"/posts/{post_id}")
    admin.post(f"/posts/{post_id}/approve", data={"csrf_token": token})
    assert bot.post(post_id).status == Status.POSTED
    assert "Tidak diubah" in admin.get(f"/posts/{post_id}").text


def test_followup_without_an_open_one_changes_nothing(admin: TestClient, seeded: Seeded,
                                                      bot: Bot) -> None:
    post_id = seeded.ids["posted"]
    before = bot.post(post_id)
    response = act(admin, post_id, "followup", do="dismiss")
    assert response.status_code == 303
    assert "no open follow-up" in admin.get(f"/posts/{post_id}").text
    assert bot.post(post_id) == before and not web_events(bot, post_id)


def test_an_open_followup_is_listed_and_can_be_dismissed(admin: TestClient, seeded: Seeded,
                                                         bot: Bot) -> None:
    from bot.models import FollowupKind, FollowupState

    post_id = seeded.ids["posted"]
    bot.store.open_followup(post_id=post_id, kind=FollowupKind.CORRECTION, incident="t1",
                            at=datetime.now(UTC), old_title="Lama", new_title="Ralat: <b>baru</b>",
                            marker="Ralat", reason="title changed", permalink=None,
                            actor="poller")
    dashboard = admin.get("/").text
    assert "Tidak ada tindak lanjut terbuka" not in dashboard and "Ralat" in dashboard
    page = admin.get(f"/posts/{post_id}").text
    assert "Ralat: &lt;b&gt;baru&lt;/b&gt;" in page and "Abaikan" in page
    act(admin, post_id, "followup", do="dismiss", reason="sudah benar")
    [record] = bot.followups(post_id=post_id)
    assert record.state == FollowupState.DISMISSED
    assert any(e.kind == "followup" for e in web_events(bot, post_id))
    assert "Tidak ada tindak lanjut terbuka" in admin.get("/").text


def test_an_unknown_action_is_not_found(admin: TestClient, seeded: Seeded) -> None:
    token = csrf(admin, "/")
    response = admin.post(f"/posts/{seeded.ids['queued']}/delete", data={"csrf_token": token})
    assert response.status_code == 404


# -- edit ---------------------------------------------------------------------------------


def test_edit_headline_rerenders_card_and_story(admin: TestClient, seeded: Seeded,
                                                bot: Bot) -> None:
    post_id = seeded.ids["queued"]
    before = bot.post(post_id)
    card_before = Path(before.card_path or "").read_bytes()
    story_before = Path(before.story_path or "").read_bytes()
    response = act(admin, post_id, "edit", caption=before.caption or "",
                   alt_text=before.alt_text or "", headline="Jembatan Sangatta Utara dibuka")
    assert response.status_code == 303
    after = bot.post(post_id)
    assert after.headline == "Jembatan Sangatta Utara dibuka"
    assert Path(after.card_path or "").read_bytes() != card_before
    assert Path(after.story_path or "").read_bytes() != story_before
    assert after.caption == before.caption  # the caption was not touched
    [event] = web_events(bot, post_id)
    assert event.kind == "edit" and "headline" in event.reason
    assert event.data["headline"] == {"from": before.title,
                                      "to": "Jembatan Sangatta Utara dibuka"}


def test_edits_survive_a_rerender(admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    post_id = seeded.ids["queued"]
    before = bot.post(post_id)
    act(admin, post_id, "edit", caption="Keterangan baru dari redaksi.",
        alt_text=before.alt_text or "", headline="Judul pilihan redaksi")
    bot.render_post(post_id, actor="poller")  # e.g. after the article's title changed
    after = bot.post(post_id)
    assert after.caption == "Keterangan baru dari redaksi."
    assert after.headline == "Judul pilihan redaksi"
    assert "Judul pilihan redaksi" in (after.alt_text or "")


@pytest.mark.parametrize(("caption", "message"), [
    ("x" * 2300, "Keterangan terlalu panjang"),
    ("Berita #satu #dua #tiga #empat #lima #enam", "Terlalu banyak tagar"),
])
def test_an_edit_that_breaks_preflight_is_refused_and_nothing_is_lost(
        admin: TestClient, seeded: Seeded, bot: Bot, caption: str, message: str) -> None:
    post_id = seeded.ids["pending_approval"]
    before = bot.post(post_id)
    card_before = Path(before.card_path or "").read_bytes()
    response = act(admin, post_id, "edit", caption=caption, alt_text="alt baru",
                   headline="Judul baru")
    assert response.status_code == 422
    assert message in response.text and "Suntingan ditolak" in response.text
    assert caption[:200] in response.text  # the admin's text is still in the form
    after = bot.post(post_id)
    assert after == before
    assert Path(after.card_path or "").read_bytes() == card_before
    assert not web_events(bot, post_id)
    assert sorted(p.name for p in (bot.data_dir / "cards").glob("*.tmp*")) == []


def test_a_published_post_cannot_be_edited(admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    post_id = seeded.ids["posted"]
    before = bot.post(post_id)
    page = admin.get(f"/posts/{post_id}").text
    assert f'action="/posts/{post_id}/edit"' not in page
    response = act(admin, post_id, "edit", caption="baru", alt_text="baru", headline="baru")
    assert response.status_code == 409
    assert bot.post(post_id) == before


# -- the post log -----------------------------------------------------------------------


def test_the_log_filters_by_status_search_and_date(admin: TestClient, seeded: Seeded) -> None:
    both = admin.get("/posts?status=failed&status=skipped").text
    assert "poros Samarinda" in both and "olimpiade sains" in both
    assert "jembatan baru" not in both
    found = admin.get("/posts?q=festival+erau").text
    assert "Festival Erau" in found and "Harga cabai" not in found
    assert "Tidak ada posting" in admin.get("/posts?q=tidak-ada-judul-seperti-ini").text
    today = datetime.now(UTC).astimezone(load_config(seeded.config).tz).date()
    assert "Festival Erau" in admin.get(f"/posts?since={today}&until={today}").text
    later = today + timedelta(days=1)
    assert "Tidak ada posting" in admin.get(f"/posts?since={later}").text
    bad = admin.get("/posts?since=kemarin").text
    assert "tidak dikenal" in bad


def test_the_log_pages(admin: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
                       ) -> None:
    monkeypatch.setattr("bot.web.app.PAGE_SIZE", 5)
    first = admin.get("/posts").text
    assert "Halaman 1 dari 3" in first
    third = admin.get("/posts?page=3").text
    assert "Halaman 3 dari 3" in third
    assert third.count('class="post-row"') == 14 - 10


def test_csv_export_uses_the_same_filters(admin: TestClient) -> None:
    response = admin.get("/posts.csv?status=posted")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("id,feed,account,article_key,title,link,status")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"posted"}
    assert any("Banjir rob" in r["title"] for r in rows)
    assert admin.get("/posts.csv?since=x").status_code == 400


def test_the_dashboard_shows_feeds_accounts_queue_and_alerts(admin: TestClient, bot: Bot
                                                             ) -> None:
    bot.alerter.alert("feed:utama:failing", "feed utama <b>gagal</b> sejak 1 jam",
                     actor="poller")
    html = admin.get("/").text
    assert "utama" in html and "editorialkaltim" in html
    assert "Terbit hari ini" in html and "3 / 100" in html
    assert "feed utama &lt;b&gt;gagal&lt;/b&gt; sejak 1 jam" in html
    queue = html[html.index("Antrean terbit"):html.index("Tindak lanjut")]
    assert queue.index("anggaran pendidikan") < queue.index("jembatan baru")  # oldest first


# -- /bio -------------------------------------------------------------------------------


def test_bio_shows_only_posted_posts_newest_first(client: TestClient, seeded: Seeded,
                                                  bot: Bot) -> None:
    html = client.get("/bio").text
    titles = ["Festival Erau", "Harga cabai", "Banjir rob"]  # published in this order
    positions = [html.index(t) for t in titles]
    assert positions == sorted(positions)
    for status, post_id in seeded.ids.items():
        if status != "posted":
            assert bot.post(post_id).title.split(":")[0][:25] not in html, status
            assert f"/posts/{post_id}/" not in html
    assert "Editorial Kaltim: berita pilihan" in html
    assert html.count("utm_medium=bio") == 3 and "utm_medium=social" not in html


@pytest.mark.parametrize("status", ["queued", "pending_approval", "failed", "skipped",
                                    "expired", "seen", "filtered", "publishing"])
def test_bio_thumbnails_of_unposted_posts_are_not_public(client: TestClient, seeded: Seeded,
                                                         status: str) -> None:
    response = client.get(f"/posts/{seeded.ids[status]}/card.jpg?size=thumb")
    assert response.status_code == 303


def test_bio_thumbnails_are_small_and_cached(client: TestClient, seeded: Seeded) -> None:
    path = f"/posts/{seeded.ids['posted']}/card.jpg?size=thumb"
    response = client.get(path)
    assert response.status_code == 200 and len(response.content) < 60_000
    assert "public" in response.headers["cache-control"]
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(response.content)).size == (360, 450)


def test_bio_answers_conditional_gets(client: TestClient, bot: Bot, seeded: Seeded) -> None:
    first = client.get("/bio")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/bio", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/bio", headers={"if-modified-since": modified}).status_code == 304
    bot.publishing.publish_post(bot.post(seeded.ids["queued"]), actor="scheduler")
    changed = client.get("/bio", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_bio_is_empty_but_fine_before_anything_is_posted(tmp_path: Path, data_dir: Path,
                                                         server: FeedServer) -> None:
    from tests.feedkit import write_config

    config = tmp_path / "empty.toml"
    write_config(config, server.url("/nothing/"))
    empty = Bot(load_config(config), data_dir=data_dir)
    try:
        with TestClient(create_app(empty, settings())) as client:
            assert "Belum ada berita" in client.get("/bio").text
    finally:
        empty.close()


# -- /healthz ---------------------------------------------------------------------------


def test_healthz_reports_store_polls_and_accounts(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["store"] == "ok" and data["ok"] is True
    assert 0 <= data["last_poll_age_s"] < 600
    assert data["accounts"]["editorialkaltim"]["state"] == "active"
    assert data["feeds"]["utama"]["stale"] is False


def test_healthz_is_503_when_polls_stopped(seeded: Seeded, data_dir: Path) -> None:
    later = Bot(load_config(seeded.config), data_dir=data_dir,
                clock=lambda: datetime.now(UTC) + timedelta(minutes=16))
    try:
        with TestClient(create_app(later, settings())) as client:
            response = client.get("/healthz")
            assert response.status_code == 503
            assert response.json()["feeds"]["utama"]["stale"] is True
    finally:
        later.close()


def test_healthz_is_503_when_the_store_is_unusable(client: TestClient, bot: Bot) -> None:
    with bot.store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE feed_accounts")
        conn.exec_driver_sql("ALTER TABLE feeds RENAME TO feeds_gone")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["store"].startswith("error")


# -- post now, through the worker -------------------------------------------------------


def _closed_now(tmp_path: Path, server: FeedServer, data_dir: Path) -> Bot:
    """A bot whose only posting window opens in three hours, with a cap of one a day."""
    from tests.feedkit import Item, Route, rss, write_config

    tz_now = datetime.now(UTC).astimezone(load_config_tz())
    start = (tz_now + timedelta(hours=3)).strftime("%H:%M")
    end = (tz_now + timedelta(hours=4)).strftime("%H:%M")
    server.routes["/closed/"] = Route(body=rss([
        Item(post_id=n, title=f"Berita {n}", slug=f"b-{n}", link=server.url(f"/b-{n}/"),
             published=datetime.now(UTC) - timedelta(minutes=n)) for n in (1, 2)]))
    config = tmp_path / "closed.toml"
    write_config(config, server.url("/closed/"), feeds_extra="backlog = 2", schedule=(
        f'[schedule]\nwindows = ["{start}-{end}"]\nmin_gap = "3h"\ndaily_cap = 1\n'
        'max_age = "3650d"\n'))
    bot = Bot(load_config(config), data_dir=data_dir)
    bot.poll()
    return bot


def load_config_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Makassar")


def test_post_now_goes_out_at_the_next_tick_outside_the_window(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    bot = _closed_now(tmp_path, server, data_dir)
    try:
        queue = bot.store.queued_posts("editorialkaltim")
        assert bot.publish(actor="scheduler") == []  # the window is closed
        later = queue[-1]  # not the head of the queue: post now jumps it
        bot.post_now(later.id, actor=f"web:{ADMIN_USER}")
        [outcome] = bot.publish(actor="scheduler")
        assert outcome.post_id == later.id and outcome.status == "posted"
        # The flag was for that post only: the next one still waits for its window.
        assert bot.publish(actor="scheduler") == []
        assert [e["post"].id for e in bot.queue_forecast()] == [queue[0].id]
    finally:
        bot.close()


def test_post_now_never_overrides_a_cooldown(tmp_path: Path, data_dir: Path,
                                             server: FeedServer) -> None:
    from bot.models import AccountState

    bot = _closed_now(tmp_path, server, data_dir)
    try:
        post = bot.store.queued_posts("editorialkaltim")[0]
        bot.store.set_account("editorialkaltim", datetime.now(UTC),
                              state=AccountState.COOLDOWN,
                              until=datetime.now(UTC) + timedelta(hours=2),
                              reason="rate limited")
        bot.post_now(post.id, actor="web:redaksi")
        assert bot.publish(actor="scheduler") == []
        assert bot.post(post.id).status == Status.QUEUED
        [entry] = [e for e in bot.queue_forecast() if e["post"].id == post.id]
        assert entry["expected_at"] >= datetime.now(UTC) + timedelta(hours=1)
    finally:
        bot.close()


def test_post_now_refuses_what_would_expire_or_is_not_queued(
        admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    from bot.errors import InvalidAction

    with pytest.raises(InvalidAction, match="approve it first"):
        bot.post_now(seeded.ids["pending_approval"], actor="web:redaksi")
    old = Bot(bot.config.model_copy(update={"schedule": bot.config.schedule.model_copy(
        update={"max_age": timedelta(minutes=1)})}), data_dir=bot.data_dir)
    try:
        with pytest.raises(InvalidAction, match="max_age"):
            old.post_now(seeded.ids["queued"], actor="web:redaksi")
    finally:
        old.close()
    assert bot.post(seeded.ids["queued"]).post_now_at is None


def test_a_card_missing_from_this_disk_is_drawn_again_and_the_store_is_untouched(
        admin: TestClient, seeded: Seeded, bot: Bot) -> None:
    """As on a PaaS, where the web process's disk is not the worker's (or a redeploy
    emptied it): the card is drawn from the store; the post stays as it went out."""
    post_id = seeded.ids["posted"]
    before, events = bot.store.post(post_id), len(bot.timeline(post_id))
    card = Path(before.card_path or "")
    card.unlink()
    response = admin.get(f"/posts/{post_id}/card.jpg")
    assert response.status_code == 200 and response.content[:2] == b"\xff\xd8"
    assert card.is_file()
    assert bot.store.post(post_id) == before
    assert len(bot.timeline(post_id)) == events
