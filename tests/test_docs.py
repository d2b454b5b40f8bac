"""The docs are tested: every command, option and setting appears in README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from funnel_sync import config
from funnel_sync.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))  # type: ignore[attr-defined]
def test_every_command_and_option_is_documented(name: str) -> None:
    command = main.commands[name]  # type: ignore[attr-defined]
    assert f"funnel-sync {name}" in README
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(opt in README for opt in param.opts), (name, param.opts)
    assert command.help and "Example" in command.help


@pytest.mark.parametrize("key", [k for k, _, _ in config.iter_settings()])
def test_every_setting_is_documented(key: str) -> None:
    assert f"`{key}`" in README, key


def test_quick_start_has_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = quick.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["scripts/demo", "scripts/test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in ci


def test_every_problem_code_is_documented() -> None:
    from funnel_sync.problems import CATALOGUE

    assert [c for c in CATALOGUE if f"`{c}`" not in README] == []
