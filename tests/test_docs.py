"""Documentation stays true: every command has help with an example and is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from bot.cli import cli
from bot.config import Config

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    command = cli.commands[name]
    assert command.help, name
    assert "Example:" in command.help, name
    assert f"bot {name}" in command.help, name


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    assert re.search(rf"`bot {name}\b", README), f"bot {name} is not documented in README.md"


def test_every_option_is_in_the_readme() -> None:
    missing = []
    for name in COMMANDS:
        for param in cli.commands[name].params:
            if isinstance(param, click.Option):
                flag = max(param.opts, key=len)
                if flag not in README:
                    missing.append(f"bot {name} {flag}")
    assert not missing, missing


def test_every_config_section_is_in_the_readme() -> None:
    for section in Config.model_fields:
        if section == "timezone":
            continue
        assert f"[{section}]" in README or f"[[{section}]]" in README, section


def test_env_example_lists_every_environment_variable() -> None:
    example = (REPO / "config" / ".env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"\b(BOT_[A-Z_]+|DATABASE_URL|IG_[A-Z_]+)\b", README))
    for name in sorted(names):
        assert name in example, name
