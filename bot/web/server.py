"""Running the desk under uvicorn (``bot web``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import uvicorn

from bot.web.app import create_app
from bot.web.auth import WebSettings

if TYPE_CHECKING:
    from bot.core import Bot

log = logging.getLogger(__name__)


def serve(bot: Bot, settings: WebSettings, *, host: str, port: int) -> None:
    """Serve the desk until SIGTERM/SIGINT (uvicorn handles both and drains requests)."""
    app = create_app(bot, settings)
    if not settings.login_enabled:
        log.warning("BOT_ADMIN_USER or BOT_ADMIN_PASSWORD_HASH is not set: only /bio and "
                    "/healthz work until both are")
    # The bot's own logging setup stays in charge (log_config=None); uvicorn reads the
    # client address from X-Forwarded-For only for FORWARDED_ALLOW_IPS (default 127.0.0.1).
    config = uvicorn.Config(app, host=host, port=port, log_config=None, proxy_headers=True,
                            server_header=False, access_log=False, timeout_graceful_shutdown=10)
    uvicorn.Server(config).run()
