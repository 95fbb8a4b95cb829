"""``bot check`` lines for Telegram: the seam warning and whether the token works."""

from __future__ import annotations

import os

from bot.checks import CheckResult
from bot.config import Config
from bot.errors import ConfigError, TelegramError
from bot.telegram.client import TelegramClient, check_token, telegram_seam_warning


def telegram_checks(config: Config) -> list[CheckResult]:
    """Warn while ``BOT_TELEGRAM_API`` is set; with ``[telegram]``, call ``getMe``."""
    results: list[CheckResult] = []
    if warning := telegram_seam_warning():
        results.append(CheckResult("telegram-api", "warn", warning))
    telegram = config.telegram
    if telegram is None:
        return results
    try:
        token = check_token(os.environ.get(telegram.token_env), telegram.token_env)
    except ConfigError as exc:
        return [*results, CheckResult("telegram", "fail", str(exc))]
    client = TelegramClient(token, retries=1)
    try:
        me = client.get_me()
    except TelegramError as exc:
        return [*results, CheckResult("telegram", "fail", f"getMe failed: {exc}")]
    finally:
        client.close()
    sends = ", ".join(telegram.send) or "nothing"
    digest = (f"; digest at {telegram.digest_at:%H:%M} {config.timezone}"
              if "digest" in telegram.send else "")
    return [*results, CheckResult(
        "telegram", "ok",
        f"token works: {me.handle} (id {me.id}); {len(telegram.chat_ids)} chat(s), "
        f"{len(telegram.approvers)} approver(s); sends {sends}{digest}")]
