"""Config validation: every bad value names the file, the key and the problem (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from bot.units import Window, parse_duration, parse_size

REPO = Path(__file__).resolve().parent.parent

VALID = """
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "https://editorialkaltim.com/feed/"
accounts = ["editorialkaltim"]

[[accounts]]
name = "editorialkaltim"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config" / "bot.toml")
    assert config.feeds[0].url == "https://editorialkaltim.com/feed/"
    assert config.accounts[0].publisher == "outbox"
    assert config.timezone == "Asia/Makassar"


def test_minimal_config_gets_embedded_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    schedule = config.schedule_for("editorialkaltim")
    assert schedule.min_gap == timedelta(minutes=20)
    assert schedule.daily_cap == 12
    assert [str(w) for w in schedule.windows] == ["06:00-22:00"]
    assert config.fetch.max_bytes == 10_000_000
    assert config.caption.max_hashtags == 5


@pytest.mark.parametrize(
    ("snippet", "key", "problem"),
    [
        ('[fetch]\ntimeout = "15s"\nretries = 3\n', "fetch.retries", "unknown key 'retries'"),
        ('[schedule]\nmin_gapp = "5m"\n', "schedule.min_gapp", "did you mean 'min_gap'"),
        ('[schedule]\nmin_gap = "5 menit"\n', "schedule.min_gap", "bad duration '5 menit'"),
        ('[schedule]\nwindows = ["25:00-26:00"]\n', "schedule.windows[0]",
         "bad window '25:00-26:00'"),
        ('[schedule]\nwindows = ["06:00-06:00"]\n', "schedule.windows[0]", "empty"),
        ('[schedule]\nwindows = ["6-22"]\n', "schedule.windows[0]", "bad window"),
        ('[schedule]\ndaily_cap = -1\n', "schedule.daily_cap", "greater than or equal to 0"),
        ('[schedule]\nquiet_days = ["31-12-2026"]\n', "schedule.quiet_days[0]", "date"),
        ('[fetch]\nmax_bytes = "10 megabytes"\n', "fetch.max_bytes", "bad size"),
        ('[card]\naccent = "red"\n', "card.accent", "bad colour 'red'"),
        ('[card]\nlogo = "no/such/logo.png"\n', "card.logo", "file not found"),
        ('[card.fonts]\nheadline = "missing.ttf"\n', "card.fonts.headline", "file not found"),
        ('[telegram]\napprovers = [1]\n', "telegram.chat_ids", "required key is missing"),
        ('[telegram]\nchat_ids = []\napprovers = [1]\n', "telegram.chat_ids", "at least 1"),
        ('[telegram]\nchat_ids = [0]\napprovers = [1]\n', "telegram.chat_ids",
         "chat_ids[0] is 0"),
        ('[telegram]\nchat_ids = [-100, -100]\napprovers = [1]\n', "telegram.chat_ids",
         "listed twice"),
        ('[telegram]\nchat_ids = [-100]\napprovers = [-5]\n', "telegram.approvers",
         "negative ids are chats, not people"),
        ('[telegram]\nchat_ids = [-100]\n', "telegram.approvers",
         "nobody may press their buttons"),
        ('[telegram]\nchat_ids = [-100]\napprovers = [1]\nsend = ["alert"]\n',
         "telegram.send[0]", "'alerts'"),
        ('[telegram]\nchat_ids = [-100]\napprovers = [1]\ndigest_at = "9pm"\n',
         "telegram.digest_at", "bad time '9pm'"),
        ('[telegram]\nchat_ids = [-100]\napprovers = [1]\ndigest_at = "24:00"\n',
         "telegram.digest_at", "hours run 00-23"),
        ('[telegram]\nchat_ids = [-100]\napprovers = [1]\ntoken = "x"\n', "telegram.token",
         "did you mean 'token_env'"),
        ('[telegram]\nchat_ids = [-100]\napprovers = [1]\ntoken_env = "TG-TOKEN"\n',
         "telegram.token_env", "bad environment variable name 'TG-TOKEN'"),
        ('[web]\npublic_url = "desk.example"\n', "web.public_url", "bad URL"),
    ],
)
def test_bad_values_name_file_key_and_problem(
    tmp_path: Path, snippet: str, key: str, problem: str
) -> None:
    path = write(tmp_path, VALID + snippet)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (VALID.replace("Asia/Makassar", "Asia/Samarinda"), "timezone",
         "unknown timezone 'Asia/Samarinda'"),
        (VALID.replace('accounts = ["editorialkaltim"]', 'accounts = ["kaltim"]'),
         "feeds[0].accounts[0]", "account 'kaltim' is not defined"),
        (VALID.replace('poll_every', 'x') .replace(
            'accounts = ["editorialkaltim"]', 'accounts = ["editorialkaltim"]\npoll_every = 5'),
         "feeds[0].poll_every", "bad duration 5"),
        (VALID.replace('"https://editorialkaltim.com/feed/"', '"editorialkaltim.com/feed"'),
         "feeds[0].url", "bad URL"),
        (VALID + '[[accounts]]\nname = "editorialkaltim"\n', "accounts[1].name",
         "duplicate account name"),
        (VALID.replace('name = "editorialkaltim"\n', 'name = "editorialkaltim"\n'
                       'publisher = "facebook"\n'), "accounts[0].publisher", "outbox"),
    ],
)
def test_cross_field_problems_are_named(tmp_path: Path, text: str, key: str,
                                        problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert f": {key}: " in str(info.value)
    assert problem in str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_gives_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + '\n[schedule]\nmin_gap = "20m\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "invalid TOML" in str(info.value)
    assert "line 13" in str(info.value)


def test_bad_config_exits_2_with_the_message(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + '[schedule]\nmin_gap = "5 menit"\n')
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(path), "log"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{path}: schedule.min_gap: bad duration '5 menit'" in result.stderr


def test_per_account_schedule_overrides_inherit_the_rest(tmp_path: Path) -> None:
    text = VALID + '[accounts.schedule]\ndaily_cap = 3\n[schedule]\nmin_gap = "45m"\n'
    schedule = load_config(write(tmp_path, text)).schedule_for("editorialkaltim")
    assert schedule.daily_cap == 3
    assert schedule.min_gap == timedelta(minutes=45)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("0s", 0),
     ("1d2h3m4s", 93784)],
)
def test_durations_accept_units_and_compounds(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5 menit", "5", "m5", "", "1.5h", "-5m", "5x"])
def test_bad_durations_are_refused_with_the_word_duration(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("500KB", 500_000), ("10MB", 10_000_000), ("8MiB", 8 * 1024 * 1024),
     ("512KiB", 512 * 1024), ("100B", 100), (2048, 2048)],
)
def test_sizes_read_si_and_binary_units(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [("06:00-22:00", ["06:00", "21:59"], ["05:59", "22:00"]),
     ("22:00-02:00", ["22:00", "23:59", "00:00", "01:59"], ["02:00", "21:59", "12:00"]),
     ("00:00-24:00", ["00:00", "23:59"], [])],
)
def test_windows_include_start_exclude_end_and_cross_midnight(
        window: str, inside: list[str], outside: list[str]) -> None:
    from datetime import time

    parsed = Window.parse(window)
    for text in inside:
        assert parsed.contains(time.fromisoformat(text)), text
    for text in outside:
        assert not parsed.contains(time.fromisoformat(text)), text


def test_the_telegram_section_reads_its_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID + "[telegram]\nchat_ids = [-1001234567890]\n"
                               "approvers = [111111111]\n"))
    assert config.telegram is not None
    assert config.telegram.token_env == "TELEGRAM_BOT_TOKEN"
    assert config.telegram.send == ["alerts", "approvals", "failures", "followups", "digest"]
    assert f"{config.telegram.digest_at:%H:%M}" == "21:00"
    assert config.web.public_url is None
    assert load_config(write(tmp_path, VALID)).telegram is None  # absent means off


def test_a_token_pasted_as_token_env_is_not_echoed(tmp_path: Path) -> None:
    token = "7012345678:AAEkaltimTestTokenXf1ZqW9bV3mN8cR2tY5u"
    path = write(tmp_path, VALID + f'[telegram]\nchat_ids = [-100]\napprovers = [1]\n'
                                   f'token_env = "{token}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "telegram.token_env: bad environment variable name (not shown)" in str(info.value)
    assert token not in str(info.value)
