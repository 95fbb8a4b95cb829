"""The desk in a real browser: Debian's chromium, driven by Playwright, against a real
``bot web`` subprocess on a store seeded with posts in every status.

It logs in, filters the log, opens a post, approves one, edits a caption, opens /bio,
and takes screenshots at 1280 px and 360 px (kept in the test's tmp dir, and copied
to ``$BOT_SCREENSHOTS`` when that is set, for people to look at).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.feedkit import FeedServer
from tests.webkit import ADMIN_PASSWORD, ADMIN_USER, Seeded, seed, web_env

CHROMIUM = "/usr/bin/chromium"
# The elements that stick out past the right edge of the screen, for the failure message.
WIDER_THAN_SCREEN = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' +
                   Math.round(e.getBoundingClientRect().right))"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def desk(tmp_path: Path, data_dir: Path, server: FeedServer) -> Iterator[tuple[str, Seeded]]:
    seeded = seed(tmp_path, data_dir, server)
    port = free_port()
    env = {**os.environ, **web_env(data_dir, seeded.config)}
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "web", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2):
                        break
                except urllib.error.HTTPError:
                    break  # 503 still means the desk answers
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("bot web did not start:\n" + log_path.read_text())
                time.sleep(0.1)
            yield base, seeded
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert process.returncode in (0, -15), log_path.read_text()


def keep(shot: Path) -> None:
    target = os.environ.get("BOT_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)


def test_the_desk_in_a_real_browser(desk: tuple[str, Seeded], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, seeded = desk
    ids = seeded.ids
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="id-ID")
            def failed(response: Any) -> None:
                # The refused edit below answers 422 on purpose; nothing else may fail.
                if response.status >= 400 and not (response.status == 422 and
                                                   response.url.endswith("/edit")):
                    errors.append(f"{response.status} {response.url}")

            def console(message: Any) -> None:
                # A CSP violation is a console error; failed loads are judged by failed().
                if message.type == "error" and "Failed to load resource" not in message.text:
                    errors.append(message.text)

            page.on("response", failed)
            page.on("console", console)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(30_000)

            # Logs in (the desk sends a stranger to the login page first).
            page.goto(base + "/posts")
            expect(page).to_have_url(f"{base}/login?next=%2Fposts")
            page.fill("input[name=username]", ADMIN_USER)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(base + "/posts")
            expect(page.locator(".post-row")).to_have_count(14)

            # Filters the log: only failed and pending_approval posts.
            page.check("input[name=status][value=failed]", force=True)
            page.check("input[name=status][value=pending_approval]", force=True)
            page.click("text=Terapkan")
            expect(page.locator(".post-row")).to_have_count(3)
            expect(page.locator(".post-row .badge").first).to_be_visible()
            # The headline with a script tag is text, and no script ran.
            page.fill("input[name=q]", "")
            page.goto(base + "/posts?q=banjir")
            expect(page.locator(".row-title")).to_have_text(
                ["<script>alert(1)</script> Banjir rob di Samarinda"])

            # The dashboard, at desk width.
            page.goto(base + "/")
            expect(page.locator("h1")).to_have_text("Dasbor")
            shot = tmp_path / "desk-1280.png"
            page.screenshot(path=str(shot), full_page=True)
            keep(shot)

            # Opens a post waiting for approval, approves it, sees its status change.
            page.goto(base + "/posts?status=pending_approval")
            page.click(f"a[href='/posts/{ids['pending_approval']}'] >> nth=-1")
            expect(page).to_have_url(f"{base}/posts/{ids['pending_approval']}")
            expect(page.locator(".row-meta .badge")).to_have_text("menunggu persetujuan")
            natural = page.eval_on_selector(".media img", "img => img.naturalWidth")
            assert natural == 1080
            shot = tmp_path / "post-1280.png"
            page.screenshot(path=str(shot), full_page=True)
            keep(shot)
            page.click("button:has-text('Setujui')")
            expect(page.locator(".flash-ok")).to_contain_text("Disetujui")
            expect(page.locator(".row-meta .badge")).to_have_text("antre")

            # Edits its caption; a caption breaking Instagram's limit is refused first.
            page.fill("textarea[name=caption]", "#a #b #c #d #e #f terlalu banyak tagar")
            page.click("text=Simpan suntingan")
            expect(page.locator(".edit .flash-error")).to_contain_text("Terlalu banyak tagar")
            expect(page.locator("textarea[name=caption]")).to_have_value(
                "#a #b #c #d #e #f terlalu banyak tagar")
            page.fill("textarea[name=caption]", "Keterangan baru dari redaksi.\n\n#Kaltim")
            page.click("text=Simpan suntingan")
            expect(page.locator(".flash-ok")).to_contain_text("Suntingan disimpan")
            expect(page.locator("pre.caption")).to_have_text(
                "Keterangan baru dari redaksi.\n\n#Kaltim")
            expect(page.locator(".timeline")).to_contain_text(f"web:{ADMIN_USER}")

            # The phone: dashboard and a post at 360 px, with nothing wider than the screen.
            phone = browser.new_page(viewport={"width": 360, "height": 740},
                                     device_scale_factor=2, locale="id-ID")
            phone.on("response", failed)
            phone.on("console", console)
            phone.on("pageerror", lambda e: errors.append(str(e)))
            phone.context.add_cookies(page.context.cookies())
            for name, path in (("desk-360", "/"), ("log-360", "/posts"),
                               ("post-360", f"/posts/{ids['failed']}")):
                phone.goto(base + path)
                width = phone.evaluate("document.documentElement.scrollWidth")
                wide = phone.evaluate(WIDER_THAN_SCREEN)
                assert width <= 360, (path, width, wide)
                shot = tmp_path / f"{name}.png"
                phone.screenshot(path=str(shot), full_page=True)
                keep(shot)

            # Opens /bio as a follower would: no login, posted posts only.
            bio = browser.new_page(viewport={"width": 360, "height": 740},
                                   device_scale_factor=2, locale="id-ID")
            bio.on("response", failed)
            bio.on("console", console)
            bio.on("pageerror", lambda e: errors.append(str(e)))
            bio.goto(base + "/bio")
            expect(bio.locator(".bio-grid li")).to_have_count(3)
            links = bio.eval_on_selector_all(".bio-grid a", "as => as.map(a => a.href)")
            assert all("utm_medium=bio" in link for link in links)
            assert bio.evaluate("document.documentElement.scrollWidth") <= 360
            bio.wait_for_function(
                "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            for name, viewport in (("bio-360", None), ("bio-1280", (1280, 900))):
                if viewport:
                    bio.set_viewport_size({"width": viewport[0], "height": viewport[1]})
                shot = tmp_path / f"{name}.png"
                bio.screenshot(path=str(shot), full_page=True)
                keep(shot)
        finally:
            browser.close()
    assert not errors, errors
