"""Keeps Instagram and Telegram secrets out of logs, tracebacks and error messages.

instagrapi logs whole response bodies at DEBUG (login responses carry the
``IG-Set-Authorization`` token), exceptions carry request data, and cookies travel in
reprs. Two layers stop them from reaching a log:

- patterns that recognise secrets by shape or by the key they sit under
  (``Bearer IGT:2:…``, ``#PWD_INSTAGRAM:…``, ``sessionid=…``, ``"password": …``,
  also URL-encoded, as in a signed form body; a Telegram bot token ``123456:AA…``,
  which sits inside every Bot API URL that urllib3 logs at DEBUG);
- the literal values the bot handles (the password, the TOTP seed, the session id,
  the Telegram token), registered with :func:`register_secret` the moment they are read.

Install :class:`RedactSecrets` on every log handler with :func:`install_log_redaction`.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

# Keys whose values are secret wherever they appear: JSON, dict reprs, headers,
# cookies, query strings and URL-encoded form bodies.
_SECRET_KEYS = (
    "sessionid", "csrftoken", "authorization", "ig-set-authorization", "ig-u-rur", "ig_u_rur",
    "x-ig-www-claim", "x-ig-set-www-claim", "ig_www_claim", "www-claim", "rur", "shbid",
    "shbts", "password", "enc_password", "new_password1", "new_password2", "totp_seed",
    "totp_secret", "seed", "verification_code", "security_code", "two_factor_identifier",
    "login_nonce", "nonce", "aac", "x-meta-usdid", "usdid", "private_key", "cookie",
    "set-cookie", "x-ig-attest-params", "fernet_key", "secret_key", "bot_secret_key",
    "bot_token", "telegram_bot_token",
)
_QUOTE = r"(?:\"|'|%22|\\\")?"
_SEP = r"\s*(?::|=|%3A|%3D)\s*"
_KEY_VALUE_RE = re.compile(
    rf"(?i)(?P<key>{_QUOTE}\b(?:{'|'.join(re.escape(k) for k in _SECRET_KEYS)})\b{_QUOTE}{_SEP}"
    rf"{_QUOTE}(?:Bearer\s+)?)(?P<value>[^\s\"',;&}}\]\\]+)"
)
_SHAPES = (
    re.compile(r"Bearer\s+IGT:\d+:[A-Za-z0-9+/=_-]+"),
    re.compile(r"(?:#|%23)PWD_[A-Z]+(?::|%3A)\d+(?::|%3A)\d+(?::|%3A)[A-Za-z0-9+/=%]+"),
    # A session id is "<user id>:<token>:<n>:<token>", often URL-encoded.
    re.compile(r"\b\d{5,}(?::|%3A)[A-Za-z0-9]{10,}(?::|%3A)\d+(?::|%3A)[A-Za-z0-9_-]{10,}"),
    # A Telegram bot token, "<bot id>:<35 characters>", also as it follows "/bot" in a URL.
    re.compile(r"(?<![0-9])\d{6,20}(?::|%3A)[A-Za-z0-9_-]{30,}"),
)

_lock = threading.Lock()
_literals: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact this literal value (and its URL-encoded forms) from now on."""
    if not value or len(value) < 4:
        # Too short to redact without mangling ordinary text; such a value is not a
        # credential worth the name anyway.
        return
    with _lock:
        _literals.update({value, quote(value, safe=""), quote_plus(value)})


def redact(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[redacted]``."""
    if not text:
        return text
    with _lock:
        literals = sorted(_literals, key=len, reverse=True)
    for literal in literals:
        if literal in text:
            text = text.replace(literal, REDACTED)
    for shape in _SHAPES:
        text = shape.sub(REDACTED, text)
    return _KEY_VALUE_RE.sub(_keep_key, text)


def _keep_key(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.startswith(REDACTED[:-1]):
        return match.group(0)
    return match.group("key") + REDACTED


class RedactSecrets(logging.Filter):
    """A log filter that redacts secrets from the message and the traceback.

    The traceback is formatted here, redacted and left in ``record.exc_text`` (which
    ``logging.Formatter`` prints); ``record.exc_info`` is cleared so that no formatter
    can print the raw one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# instagrapi logs every request URL at INFO and whole bodies at DEBUG; curl_cffi and
# urllib3 log connection details. The bot's own lines say what matters.
LIBRARY_LOGGERS = ("instagrapi", "private_request", "public_request", "graphql_request",
                   "instagrapi.mixins.user", "curl_cffi", "urllib3")


def install_log_redaction(handler: logging.Handler, *,
                          library_level: int = logging.WARNING) -> None:
    """Add :class:`RedactSecrets` to ``handler`` and quieten instagrapi's own loggers."""
    if not any(isinstance(f, RedactSecrets) for f in handler.filters):
        handler.addFilter(RedactSecrets())
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
