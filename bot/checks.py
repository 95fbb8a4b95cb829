"""``bot check``: validate everything the bot depends on, one line per check."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.articles import Article
from bot.cards.fonts import HAS_RAQM
from bot.config import Config
from bot.dates import local_time
from bot.errors import BotError
from bot.feeds import fetch_feed, parse_feed
from bot.http import HttpClient
from bot.policy import Policy
from bot.publishers.instagram.transport import instagram_seam_warning
from bot.store import Store, database_url

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class CheckResult:
    """One line of ``bot check``."""

    name: str
    level: Level
    message: str


def _safe_url(url: str) -> str:
    # Never print a database password.
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run_checks(config: Config, data_dir: Path) -> list[CheckResult]:
    """Run every check; never raises for a failed check."""
    results = [CheckResult("config", "ok",
                           f"{len(config.feeds)} feed(s), {len(config.accounts)} account(s), "
                           f"timezone {config.timezone}")]
    if warning := instagram_seam_warning():
        results.append(CheckResult("instagram-api", "warn", warning))
    for account in config.accounts:
        policy = Policy.from_config(config.schedule_for(account.name), config.tz)
        if problem := policy.never_posts():
            results.append(CheckResult(f"schedule {account.name}", "warn",
                                       f"this account can never post: {problem}"))
    http = HttpClient(config.fetch)
    try:
        results.append(_check_render(config, data_dir, http))
        store = None
        try:
            store = Store.open(database_url(data_dir))
            results.append(CheckResult("store", "ok", _safe_url(database_url(data_dir))))
        except BotError as exc:
            results.append(CheckResult("store", "fail", str(exc)))
        for feed in config.feeds:
            try:
                fetched = fetch_feed(http, feed.url)
                parsed = parse_feed(fetched.body, feed_name=feed.name, feed_url=feed.url)
                note = f"; {parsed.bozo_reason}" if parsed.bozo_reason else ""
                results.append(CheckResult(f"feed {feed.name}", "ok",
                                           f"{len(parsed.articles)} entries{note}"))
            except BotError as exc:
                results.append(CheckResult(f"feed {feed.name}", "fail", str(exc)))
        if store is not None:
            results.extend(_check_accounts(config, data_dir, store))
            store.close()
    finally:
        http.close()
    return results


def _check_render(config: Config, data_dir: Path, http: HttpClient) -> CheckResult:
    from bot.captions import CaptionWriter
    from bot.cards import CardRenderer

    sample = Article(key="check#0", feed="check", link=config.site.url + "/?p=0",
                     title="Uji coba kartu: “kutipan”, tanda pisah – dan elipsis…",
                     categories=("Berita",))
    try:
        started = time.perf_counter()
        card = CardRenderer(config.card, config.site, config.tz).render(sample, None)
        card.to_jpeg()
        CaptionWriter(config).write(sample)
        elapsed = (time.perf_counter() - started) * 1000
    except (BotError, OSError) as exc:
        return CheckResult("card", "fail", f"cannot render a card: {exc}")
    if not HAS_RAQM:
        return CheckResult(
            "card", "warn",
            f"fonts load; sample card rendered in {elapsed:.0f} ms; but Pillow has no Raqm "
            "text layout (install FriBiDi, e.g. libfribidi0): no kerning, and Arabic "
            "headlines will fail")
    return CheckResult("card", "ok", f"fonts load; sample card rendered in {elapsed:.0f} ms "
                                     "(Raqm text layout)")


def _check_accounts(config: Config, data_dir: Path, store: Store) -> list[CheckResult]:
    from datetime import UTC, datetime

    from bot.publishers import make_publisher

    results: list[CheckResult] = []
    now = datetime.now(UTC)
    for account in config.accounts:
        name = f"account {account.name}"
        record = store.account(account.name)
        if record.state == "stopped":
            results.append(CheckResult(name, "warn", f"stopped: {record.reason}"))
        elif record.state == "cooldown" and record.until and record.until > now:
            results.append(CheckResult(name, "warn", f"cooldown until "
                                       f"{local_time(record.until, config.tz)}: {record.reason}"))
        if account.publisher == "instagram" and (plain := _plain_session(store, account.name)):
            results.append(CheckResult(f"session {account.name}", "warn", plain))
        try:
            publisher = make_publisher(account, config=config, store=store, data_dir=data_dir,
                                       clock=lambda: datetime.now(UTC))
            try:
                results.append(CheckResult(name, "ok",
                                           f"{account.publisher}: {publisher.check()}"))
            finally:
                publisher.close()
        except BotError as exc:
            results.append(CheckResult(name, "fail", f"{account.publisher}: {exc}"))
    return results


def _plain_session(store: Store, account: str) -> str | None:
    """Why the account's Instagram session is (or will be) readable from the store."""
    from bot.publishers.instagram.session import (
        SECRET_KEY_ENV,
        encryption_key_set,
        session_at_rest,
    )

    at_rest = session_at_rest(store, account)
    key = (f"set {SECRET_KEY_ENV} (a Fernet key) to encrypt it; it is encrypted at the next "
           "save")
    if at_rest == "plain":
        if encryption_key_set():
            return f"the saved Instagram session is in plain text in the store; {key}"
        return (f"the Instagram session is stored in plain text: {SECRET_KEY_ENV} is not "
                f"set; {key}")
    if at_rest is None and not encryption_key_set():
        return (f"{SECRET_KEY_ENV} is not set: the session that `bot login` saves will be "
                "stored in plain text")
    return None
