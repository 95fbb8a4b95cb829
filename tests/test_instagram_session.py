"""Instagram sessions: `bot login` (password, 2FA, challenges), import, storage at rest."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from bot.cli import cli
from bot.errors import ConfigError, NeedsHuman, SessionExpired
from bot.models import AccountState
from bot.publishers.instagram.session import (
    LoginResult,
    decode_settings,
    encode_settings,
    import_session,
    load_session,
    login,
    save_session,
)
from bot.redact import RedactSecrets, install_log_redaction
from bot.store import Store
from tests.feedkit import FeedServer, Route, make_items, rss
from tests.ig_emulator import Emulator, totp_now
from tests.igkit import (
    ACCOUNT,
    PASSWORD,
    TOTP_SEED,
    USERNAME,
    log_in,
    make_config,
    make_publisher,
    now,
    post_files,
)


class Human:
    """Plays the person at the terminal: answers prompts from a script, notes them."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, text: str) -> str:
        self.asked.append(text)
        return self.answers.pop(0)


def _login(store: Store, prompt: Human) -> LoginResult:
    config = make_config()
    return login(config.account(ACCOUNT), config=config, store=store, clock=now, prompt=prompt)


# -- import -----------------------------------------------------------------------------


def test_an_imported_session_is_checked_saved_and_used_without_a_password(
        emulator: Emulator, store: Store, tmp_path: Path) -> None:
    config = make_config()
    file = emulator.write_session_file(tmp_path / "session.json", USERNAME)

    result = import_session(config.account(ACCOUNT), file, config=config, store=store,
                            clock=now)

    assert (result.username, result.how) == (USERNAME, "import")
    assert emulator.count("/accounts/current_user/") == 1
    make_publisher(store).publish(post_files(tmp_path))
    assert len(emulator.feed()) == 1
    assert emulator.logins == []


@pytest.mark.parametrize(("content", "problem"), [
    (None, "file not found"),
    ("{not json", "not a JSON file"),
    ("[1, 2]", "no logged-in session"),
    (json.dumps({"uuids": {"uuid": "x"}, "cookies": {}}), "no logged-in session"),
])
def test_a_file_that_is_not_a_session_is_a_config_error_naming_it(
        emulator: Emulator, store: Store, tmp_path: Path, content: str | None,
        problem: str) -> None:
    config = make_config()
    file = tmp_path / "session.json"
    if content is not None:
        file.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match=problem) as caught:
        import_session(config.account(ACCOUNT), file, config=config, store=store, clock=now)

    assert caught.value.file == str(file)
    assert store.account(ACCOUNT).session is None


def test_an_expired_session_is_not_imported(emulator: Emulator, store: Store,
                                             tmp_path: Path) -> None:
    config = make_config()
    file = emulator.write_session_file(tmp_path / "session.json", USERNAME)
    emulator.expire_sessions()

    with pytest.raises(SessionExpired, match="LoginRequired"):
        import_session(config.account(ACCOUNT), file, config=config, store=store, clock=now)
    assert store.account(ACCOUNT).session is None


# -- storage at rest --------------------------------------------------------------------


def test_with_bot_secret_key_the_session_is_encrypted_at_rest(
        emulator: Emulator, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SECRET_KEY", Fernet.generate_key().decode())
    settings = log_in(store, emulator)
    sessionid = settings["authorization_data"]["sessionid"]

    raw = store.account(ACCOUNT).session or ""

    assert raw.startswith("fernet:")
    assert sessionid not in raw
    assert "authorization" not in raw
    loaded = load_session(store, ACCOUNT)
    assert loaded is not None
    assert loaded.settings["authorization_data"]["sessionid"] == sessionid


def test_without_bot_secret_key_the_session_is_json(emulator: Emulator, store: Store) -> None:
    settings = log_in(store, emulator)
    assert json.loads(store.account(ACCOUNT).session or "") == settings


@pytest.mark.parametrize(("later_key", "readable"), [
    ("same", True),
    ("rotated", True),   # "new,old": the new key encrypts, the old still decrypts
    ("other", False),
    ("unset", False),
])
def test_an_encrypted_session_needs_its_key(
        monkeypatch: pytest.MonkeyPatch, later_key: str, readable: bool) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("BOT_SECRET_KEY", key)
    stored = encode_settings({"authorization_data": {"sessionid": "1234567%3Aabc"}})
    later = {"same": key, "rotated": f"{Fernet.generate_key().decode()},{key}",
             "other": Fernet.generate_key().decode(), "unset": ""}[later_key]
    monkeypatch.setenv("BOT_SECRET_KEY", later)

    if readable:
        assert decode_settings(stored)["authorization_data"]["sessionid"] == "1234567%3Aabc"
    else:
        with pytest.raises(NeedsHuman, match="BOT_SECRET_KEY"):
            decode_settings(stored)


def test_a_plain_session_is_read_then_encrypted_once_a_key_is_set(
        emulator: Emulator, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = log_in(store, emulator)
    monkeypatch.setenv("BOT_SECRET_KEY", Fernet.generate_key().decode())

    loaded = load_session(store, ACCOUNT)
    assert loaded is not None and loaded.settings == settings
    save_session(store, ACCOUNT, loaded.settings, now())
    assert (store.account(ACCOUNT).session or "").startswith("fernet:")


def test_a_bot_secret_key_that_is_not_a_fernet_key_is_a_config_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SECRET_KEY", "hunter2")
    with pytest.raises(ConfigError, match="BOT_SECRET_KEY: not a Fernet key"):
        encode_settings({})


# -- interactive login ------------------------------------------------------------------


@pytest.mark.usefixtures("credentials")
def test_login_with_a_password_saves_a_session_that_publishes(
        emulator: Emulator, store: Store, tmp_path: Path) -> None:
    human = Human()

    result = _login(store, human)

    assert human.asked == []
    assert emulator.logins == [USERNAME]
    assert result.how == "password"
    make_publisher(store).publish(post_files(tmp_path))
    assert len(emulator.feed()) == 1
    assert emulator.logins == [USERNAME]  # the publisher reused the saved session


@pytest.mark.usefixtures("credentials")
def test_two_factor_codes_come_from_the_totp_seed_without_asking(
        emulator: Emulator, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.add_account(USERNAME, PASSWORD, totp_seed=TOTP_SEED)
    monkeypatch.setenv("IG_TOTP_SECRET", TOTP_SEED)
    human = Human()

    _login(store, human)

    assert human.asked == []
    assert emulator.count("/accounts/two_factor_login/") == 1
    assert load_session(store, ACCOUNT) is not None


@pytest.mark.usefixtures("credentials")
def test_without_a_seed_the_two_factor_code_is_asked_for(emulator: Emulator,
                                                        store: Store) -> None:
    emulator.add_account(USERNAME, PASSWORD, totp_seed=TOTP_SEED)
    human = Human(sorted(totp_now(TOTP_SEED))[0])  # any code valid now

    _login(store, human)

    assert len(human.asked) == 1
    assert "Two-factor code" in human.asked[0]
    assert load_session(store, ACCOUNT) is not None


@pytest.mark.usefixtures("credentials")
def test_a_challenge_code_is_asked_for_and_sent(emulator: Emulator, store: Store) -> None:
    emulator.add_account(USERNAME, PASSWORD, challenge_on_login=True)
    human = Human("123456")

    _login(store, human)

    assert len(human.asked) == 1
    assert "security code" in human.asked[0]
    assert emulator.count("/challenge/", "POST") == 1
    assert load_session(store, ACCOUNT) is not None


@pytest.mark.usefixtures("credentials")
def test_a_wrong_password_needs_a_human_and_saves_nothing(
        emulator: Emulator, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IG_PASSWORD", "salah")

    with pytest.raises(NeedsHuman, match="BadPassword"):
        _login(store, Human())
    assert store.account(ACCOUNT).session is None


@pytest.mark.parametrize("missing", ["IG_USERNAME", "IG_PASSWORD"])
def test_login_names_the_missing_variable(emulator: Emulator, store: Store,
                                          monkeypatch: pytest.MonkeyPatch,
                                          missing: str) -> None:
    for name in {"IG_USERNAME", "IG_PASSWORD"} - {missing}:
        monkeypatch.setenv(name, USERNAME if name == "IG_USERNAME" else PASSWORD)

    with pytest.raises(ConfigError, match=missing):
        _login(store, Human())
    assert emulator.hits == []


@pytest.mark.usefixtures("credentials")
def test_login_keeps_the_device_of_the_previous_session(emulator: Emulator,
                                                        store: Store) -> None:
    before = log_in(store, emulator)

    _login(store, Human())

    after = load_session(store, ACCOUNT)
    assert after is not None
    assert after.settings["uuids"]["uuid"] == before["uuids"]["uuid"]
    assert after.settings["uuids"]["phone_id"] == before["uuids"]["phone_id"]
    assert after.settings["authorization_data"]["sessionid"] != \
        before["authorization_data"]["sessionid"]


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize(("state", "after"), [
    (AccountState.STOPPED, AccountState.ACTIVE),
    (AccountState.COOLDOWN, AccountState.COOLDOWN),  # Instagram's cooldown stands
])
def test_login_reactivates_a_stopped_account_only(emulator: Emulator, store: Store,
                                                  state: AccountState,
                                                  after: AccountState) -> None:
    store.set_account(ACCOUNT, now(), state=state, reason="ChallengeRequired")
    store.open_alert(f"account:{ACCOUNT}:stopped", "stopped", now())

    _login(store, Human())

    assert store.account(ACCOUNT).state == after
    still_open = [key for key, _, _ in store.open_alerts()]
    assert (f"account:{ACCOUNT}:stopped" in still_open) is (state != AccountState.STOPPED)


# -- the CLI -----------------------------------------------------------------------------


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f"""
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "https://editorialkaltim.com/feed/"
accounts = ["{ACCOUNT}"]

[[accounts]]
name = "{ACCOUNT}"
publisher = "instagram"
""", encoding="utf-8")
    return path


def test_cli_login_import_saves_the_session_and_prints_no_secret(
        emulator: Emulator, tmp_path: Path) -> None:
    settings_file = emulator.write_session_file(tmp_path / "session.json", USERNAME)
    sessionid = json.loads(settings_file.read_text())["authorization_data"]["sessionid"]

    result = CliRunner().invoke(cli, ["--config", str(_config_file(tmp_path)), "login",
                                      "--import", str(settings_file)])

    assert result.exit_code == 0, result.output
    assert f"logged in as @{USERNAME} (import)" in result.output
    assert sessionid not in result.output
    assert "IGT:" not in result.output


@pytest.mark.usefixtures("credentials")
def test_cli_login_asks_for_the_two_factor_code(emulator: Emulator, tmp_path: Path) -> None:
    emulator.add_account(USERNAME, PASSWORD, totp_seed=TOTP_SEED)
    code = sorted(totp_now(TOTP_SEED))[1]

    result = CliRunner().invoke(cli, ["--config", str(_config_file(tmp_path)), "login"],
                                input=f"{code}\n")

    assert result.exit_code == 0, result.output
    assert "Two-factor code" in result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize(("make", "exit_code"), [("missing", 2), ("expired", 1)])
def test_cli_login_import_failures_exit_with_the_bot_codes(
        emulator: Emulator, tmp_path: Path, make: str, exit_code: int) -> None:
    settings_file = tmp_path / "session.json"
    if make == "expired":
        emulator.write_session_file(settings_file, USERNAME)
        emulator.expire_sessions()

    result = CliRunner().invoke(cli, ["--config", str(_config_file(tmp_path)), "login",
                                      "--import", str(settings_file)])

    assert result.exit_code == exit_code, result.output


# -- secrets never logged ----------------------------------------------------------------


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG, through a handler with only our redaction on it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    install_log_redaction(handler, library_level=logging.DEBUG)
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    for old in saved[1]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for old in saved[1]:
            root.addHandler(old)
        root.setLevel(saved[0])


@pytest.mark.usefixtures("credentials")
def test_no_secret_reaches_the_log_even_at_debug(
        emulator: Emulator, store: Store, tmp_path: Path, log_text: io.StringIO,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IG_TOTP_SECRET", TOTP_SEED)
    result = _login(store, Human())  # instagrapi logs the login answer, token included
    publisher = make_publisher(store)
    publisher.publish(post_files(tmp_path))
    emulator.expire_sessions()
    publisher.publish(post_files(tmp_path, post_id=8))  # a relogin, logged at WARNING
    saved = load_session(store, ACCOUNT)
    assert saved is not None
    # What a careless library or a crash would put in a log line.
    logging.getLogger("instagrapi").debug("settings: %s", saved.settings)
    logging.getLogger("instagrapi").error("boom", exc_info=RuntimeError(
        f"login with {PASSWORD!r}, seed {TOTP_SEED}"))
    text = log_text.getvalue()

    assert "send_login_request" in text  # instagrapi did log the login exchange
    assert result.username in text
    for secret in (PASSWORD, TOTP_SEED, saved.settings["authorization_data"]["sessionid"],
                   "IGT:2:", "#PWD_INSTAGRAM"):
        assert secret not in text
    assert "[redacted]" in text


def test_the_filter_redacts_tracebacks_and_clears_exc_info() -> None:
    record = logging.LogRecord("instagrapi", logging.ERROR, __file__, 1,
                               "login failed for %s", ("user",), None)
    try:
        raise ValueError("Authorization: Bearer IGT:2:eyJzZXNzaW9uaWQiOiAiMTIzIn0=")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)

    RedactSecrets().filter(record)

    assert record.exc_info is None
    assert record.exc_text is not None
    assert "IGT:2:" not in record.exc_text
    assert record.getMessage() == "login failed for user"


@pytest.mark.usefixtures("credentials")
def test_a_totp_seed_that_is_not_base32_is_a_config_error_naming_it(
        emulator: Emulator, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IG_TOTP_SECRET", "not base32 at all!")

    with pytest.raises(ConfigError, match="IG_TOTP_SECRET: not a base32 TOTP seed"):
        _login(store, Human())
    assert emulator.hits == []


@pytest.mark.parametrize("key", [False, True], ids=["no-key-plain-text", "key-encrypted"])
def test_check_says_when_the_session_is_stored_in_plain_text(
        emulator: Emulator, data_dir: Path, server: FeedServer,
        monkeypatch: pytest.MonkeyPatch, key: bool) -> None:
    from bot.checks import run_checks

    if key:
        monkeypatch.setenv("BOT_SECRET_KEY", Fernet.generate_key().decode())
    server.routes["/feed/"] = Route(body=rss(make_items(1)))
    config = make_config(feed_url=server.url("/feed/"))
    store = Store.for_data_dir(data_dir)
    log_in(store, emulator)
    store.close()
    lines = {r.name: r for r in run_checks(config, data_dir)}
    session_line = lines.get(f"session {ACCOUNT}")
    if key:
        assert session_line is None
        assert lines[f"account {ACCOUNT}"].level == "ok"
    else:
        assert session_line is not None and session_line.level == "warn"
        assert "stored in plain text" in session_line.message
        assert "BOT_SECRET_KEY" in session_line.message
