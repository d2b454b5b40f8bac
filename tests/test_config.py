"""config.toml: defaults, partial overrides, and errors that name the key and the line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from funnel_sync import config
from funnel_sync.cli import main

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_holds_exactly_the_defaults() -> None:
    shipped = config.load(ROOT / "config.toml")
    assert dataclasses.replace(shipped, path=None) == config.Config()


def test_shipped_config_names_every_setting() -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for key, _default, help_text in config.iter_settings():
        section, _, name = key.rpartition(".")
        assert name in text, key
        if section:
            assert f"[{section}" in text, key
        assert help_text


def test_partial_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    cfg = config.load(
        write(
            tmp_path,
            "[pool]\nmax_owned_per_rep = 50\nrecycle_after_days = { B = 60 }\n"
            '[general]\nlanguage = "en"\n',
        )
    )
    assert cfg.pool.max_owned_per_rep == 50
    assert cfg.pool.max_claims_per_day == 20
    assert cfg.pool.recycle_after_days == {"none": 30, "D": 30, "C": 30, "B": 60, "A": 60}
    assert cfg.lang == "en"
    assert cfg.stages == config.Stages()


def test_roadmap_phase_keeps_the_keys_it_does_not_name(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "[roadmap.months_3_6]\nvisits_per_week = 8\n"))
    assert cfg.roadmap.months_3_6["visits_per_week"] == 8
    assert cfg.roadmap.months_3_6["pipeline_coverage_pct"] == 45
    assert len(cfg.roadmap.months_3_6["goals"]) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[pool]\nmax_owned = 5\n", "config.toml:2: pool.max_owned: unknown setting"),
        (
            '[pool]\n\nmax_owned_per_rep = "many"\n',
            "config.toml:3: pool.max_owned_per_rep: expected an integer, got string 'many'",
        ),
        (
            "[pool]\nmax_owned_per_rep = 0\n",
            "config.toml:2: pool.max_owned_per_rep: expected an integer in 1..∞, got 0",
        ),
        ('[pool]\nenforce = "strict"\n', "pool.enforce: expected one of 'flag', 'revert'"),
        ("[stages]\ncadence_days = { E = 3 }\n", "stages.cadence_days: expected keys among"),
        (
            '[stages.evidence]\nB = ["price_talked"]\n',
            "stages.evidence: expected [B] evidence among",
        ),
        ("[stages]\nprobability = { A = 120 }\n", "expected [A] an integer in 0..100, got 120"),
        ('[schedule]\nsync_at = "25:00"\n', 'schedule.sync_at: expected a time "HH:MM"'),
        ("[colour]\nx = 1\n", "config.toml:1: colour: unknown setting"),
        ("language = 'zh'\n", "language: unknown setting"),
        ('[headers.opportunities]\nprice = "价格"\n', "unknown field 'price'"),
        ('[sheets]\ndashboard = "看板"\n', "unknown key 'dashboard'"),
        ("[pool\n", "not valid TOML"),
        (
            '[roadmap.training]\ngoals = [{ class = "E", at_least = 3 }]\n',
            "goal 1: class is one of",
        ),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(config.ConfigError) as err:
        config.load(path)
    assert expected in str(err.value)


def test_cli_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[pool]\nmax_owned_per_rep = -1\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "x.xlsx"), "--config", str(path)])
    assert result.exit_code == 2
    assert "config.toml:2: pool.max_owned_per_rep" in result.stderr
    assert "Traceback" not in result.output


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "x.xlsx"), "--config", str(tmp_path / "nope.toml")]
    )
    assert result.exit_code == 2
    assert "config file not found" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_config_toml_in_the_working_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[general]\nlanguage = "en"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "ledger.xlsx"])
    assert result.exit_code == 0, result.output
    assert "new ledger created" in result.output
