"""The benchmark script runs end to end at 1k opportunities (a smoke test: no timing asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import run as bench


def test_benchmark_runs_at_1k(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cases = ["floor", "check", "sync", "resync", "report"]
    assert (
        bench.main(["--sizes", "1000", "--repeat", "1", "--cases", *cases, "--json", str(out)]) == 0
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["results"]["1000"]) == set(cases)
    for case in cases:
        assert report["results"]["1000"][case]["seconds"] > 0
        assert report["results"]["1000"][case]["rss_mib"] > 0
    assert set(report["ratios"]["1000"]) == {
        "check/floor",
        "sync/floor",
        "resync/floor",
        "report/floor",
    }


def test_benchmark_measures_an_earlier_checkout_beside(tmp_path: Path) -> None:
    """--before DIR: the funnel_sync cases run a second time with DIR's code, in the same run
    (here DIR is this checkout itself: the mechanics, not a comparison)."""
    out = tmp_path / "bench.json"
    here = Path(__file__).resolve().parent.parent
    argv = ["--sizes", "1000", "--repeat", "1", "--cases", "floor", "sync"]
    assert bench.main([*argv, "--before", str(here), "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["results"]["1000"]) == {"floor", "sync", "sync@before"}
    ratios = report["ratios"]["1000"]
    assert {"sync/floor", "sync@before/floor", "sync/sync@before"} <= set(ratios)
    assert report["before"] == str(here)
