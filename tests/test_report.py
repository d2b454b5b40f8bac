"""The weekly report's figures, on a small workbook whose numbers are worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from helpers import POOL_OK as POOL_SMALL
from helpers import REPS_OK as REPS_SMALL
from helpers import append_rows, edit_ledger, write_ledger

from funnel_sync.config import Config
from funnel_sync.funnel import Period, Snapshot, build_snapshot, rep_phase
from funnel_sync.funnel.context import LayerSizes, Scope, Totals
from funnel_sync.model import Rep, Source
from funnel_sync.read import read_book

TODAY = dt.date(2026, 11, 30)  # a Monday: the report covers 2026-11-24 … 2026-11-30 (W48)
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'

REPS = (
    {  # trained long ago: months 9+ (coverage target 150 %, annual target 100 %)
        "name": "张三",
        "regions": "华东",
        "start_date": dt.date(2024, 3, 1),
        "annual_quota": 1_200_000,
    },
    {  # training ends 2026-08-15; 3 months later (2026-11-15) months 3–6 begins
        "name": "李四",
        "regions": "华南",
        "start_date": dt.date(2026, 7, 15),
        "annual_quota": 800_000,
    },
    {"name": "王经理", "regions": "*", "start_date": dt.date(2020, 1, 6), "manager": "是"},
)
POOL = (
    {
        "customer_id": "KH001",
        "name": "甲公司",
        "region": "华东",
        "owner": "张三",
        "contact": "赵总",
        "contact_birthday": "12月3日",
    },
    {"customer_id": "KH002", "name": "乙公司", "region": "华南", "owner": "李四"},
    {"customer_id": "KH003", "name": "丙公司", "region": "华东"},
    {"customer_id": "KH004", "name": "丁公司", "region": "华南"},
    {"customer_id": "KH005", "name": SCRIPT, "region": "华南", "owner": "李四"},
    {"customer_id": "KH006", "name": FORMULA, "region": "华东", "owner": "张三"},
)


def _opp(oid: str, cid: str, owner: str, stage: str, amount: int, **kw: Any) -> dict[str, Any]:
    return {
        "opportunity_id": oid,
        "customer_id": cid,
        "owner": owner,
        "stage": stage,
        "amount": amount,
        **kw,
    }


D = dt.date
OPPS = (
    _opp("O1", "KH001", "张三", "D", 100_000, confirmed_stage="D", stage_entered_on=D(2026, 11, 1)),
    _opp(
        "O2",
        "KH001",
        "张三",
        "C",
        200_000,
        confirmed_stage="C",
        stage_entered_on=D(2026, 11, 20),
        planned_advance=D(2026, 12, 3),
    ),
    _opp(
        "O3", "KH006", "张三", "B", 300_000, confirmed_stage="B", stage_entered_on=D(2026, 11, 25)
    ),
    _opp(
        "O4", "KH006", "张三", "A", 400_000, confirmed_stage="A", stage_entered_on=D(2026, 11, 26)
    ),
    _opp(
        "O5",
        "KH001",
        "张三",
        "成交",
        500_000,
        confirmed_stage="成交",
        stage_entered_on=D(2026, 11, 27),
    ),
    _opp(
        "O6",
        "KH001",
        "张三",
        "丢单",
        90_000,
        confirmed_stage="丢单",
        stage_entered_on=D(2026, 11, 28),
        lost_reason="预算取消",
    ),
    _opp("L1", "KH002", "李四", "D", 50_000, confirmed_stage="D", stage_entered_on=D(2026, 11, 29)),
    # never synced: counts at its typed class, planned date passed
    _opp("L2", "KH005", "李四", "B", 80_000, planned_advance=D(2026, 11, 1)),
    _opp(
        "L3",
        "KH002",
        "李四",
        "C",
        120_000,
        confirmed_stage="C",
        stage_entered_on=D(2026, 10, 1),
        planned_advance=D(2026, 11, 20),
    ),
)


def _at(day: dt.date, hour: int = 2) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def _log(day: dt.date, oid: str, frm: str, to: str, result: str, owner: str, **kw: Any) -> dict:
    return {
        "time": _at(day, kw.pop("hour", 2)),
        "opportunity_id": oid,
        "from_stage": frm,
        "to_stage": to,
        "result": result,
        "reason": kw.pop("reason", "证据齐全"),
        "owner": owner,
    }


STAGE_LOG = (
    # this week
    _log(D(2026, 11, 25), "O3", "C", "B", "接收", "张三"),
    _log(D(2026, 11, 26), "O4", "B", "A", "接收", "张三"),
    _log(D(2026, 11, 27), "O5", "A", "成交", "接收", "张三"),
    _log(D(2026, 11, 28), "O6", "C", "丢单", "接收", "张三"),
    _log(D(2026, 11, 29), "L1", "", "D", "首次接收", "李四"),
    _log(D(2026, 11, 30), "L3", "C", "B", "拒绝", "李四", hour=0, reason="缺少证据: 已报价"),
    # last week
    _log(D(2026, 11, 20), "O2", "D", "C", "接收", "张三"),
    _log(D(2026, 11, 18), "O3", "B", "C", "接收", "张三"),
    # earlier, inside the 90-day window
    _log(D(2026, 10, 1), "L3", "D", "C", "接收", "李四"),
    _log(D(2026, 9, 15), "L9", "D", "丢单", "accepted", "李四"),
    # outside the window
    _log(D(2026, 8, 1), "O1", "", "D", "adopted", "张三"),
    _log(D(2026, 8, 15), "O7", "D", "C", "接收", "张三"),
)
POOL_LOG = (
    {
        "time": _at(D(2026, 11, 26)),
        "customer_id": "KH004",
        "action": "领取被拒",
        "rep": "李四",
        "reason": "区域不符",
    },
    {
        "time": _at(D(2026, 11, 27)),
        "customer_id": "KH003",
        "action": "自动回收",
        "rep": "张三",
        "reason": "30 天无跟进",
        "old_value": "张三",
    },
    {"time": _at(D(2026, 11, 28)), "customer_id": "KH001", "action": "领取", "rep": "张三"},
    {"time": _at(D(2026, 11, 10)), "customer_id": "KH002", "action": "领取", "rep": "李四"},
)


def _act(day: dt.date, rep: str, cid: str, kind: str, hours: float, oid: str | None = None) -> dict:
    return {
        "date": day,
        "rep": rep,
        "customer_id": cid,
        "opportunity_id": oid,
        "kind": kind,
        "hours": hours,
    }


ACTIVITIES = (
    _act(D(2026, 11, 23), "李四", "KH002", "拜访", 2, "L3"),  # last week: not counted
    _act(D(2026, 11, 25), "李四", "KH002", "拜访", 2, "L3"),
    _act(D(2026, 11, 26), "李四", "KH005", "拜访", 2),  # customer-level touch
    _act(D(2026, 11, 30), "李四", "KH002", "拜访", 2, "L1"),
    _act(D(2026, 11, 27), "李四", "KH004", "寻找商机", 4),
    _act(D(2026, 11, 28), "李四", "KH004", "寻找商机", 7),
    _act(D(2026, 11, 27), "张三", "KH003", "资料收集", 0.5),
)


def make_book(path: Path, reps: tuple[dict[str, Any], ...] = REPS) -> Path:
    write_ledger(path, pool=POOL, opportunities=OPPS, activities=ACTIVITIES, reps=reps)

    def as_text(wb: Any) -> None:  # typed in Excel as '=HYPERLINK(…): text, not a formula
        cell = wb["公共资源库"]["B7"]
        cell.value = FORMULA
        cell.data_type = "s"

    edit_ledger(path, as_text)
    append_rows(path, "stage_log", *STAGE_LOG)
    append_rows(path, "pool_log", *POOL_LOG)
    return path


def snapshot(path: Path, cfg: Config | None = None, lang: str = "zh") -> Snapshot:
    cfg = cfg or Config()
    return build_snapshot(read_book(path, cfg, engine_sheets=True), cfg, TODAY, lang=lang)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_book(tmp_path_factory.mktemp("report") / "ledger.xlsx")


@pytest.fixture(scope="module")
def snap(book: Path) -> Snapshot:
    return snapshot(book)


def counts(scope: Scope, what: str = "count") -> tuple[Any, ...]:
    return tuple(getattr(layer, what) for layer in scope.layers)


def test_period_is_the_week_ending_on_the_report_date() -> None:
    p = Period.ending(TODAY)
    assert (p.start, p.end, p.label) == (D(2026, 11, 24), D(2026, 11, 30), "2026-W48")
    assert Period.ending(D(2026, 11, 29)).label == "2026-W48"
    assert Period.ending(D(2026, 12, 3)).label == "2026-W49"


def test_phase_from_start_and_training() -> None:
    def rep(start: dt.date, training_end: dt.date | None = None) -> Rep:
        return Rep(Source("x", 2), "r", None, frozenset(), True, start, 1.0, False, training_end)

    cfg = Config()
    assert rep_phase(rep(D(2026, 11, 10)), cfg, TODAY) == "training"
    assert rep_phase(rep(D(2026, 9, 1)), cfg, TODAY) == "months_0_3"  # trained 10-01
    assert rep_phase(rep(D(2026, 7, 15)), cfg, TODAY) == "months_3_6"  # trained 08-15
    assert rep_phase(rep(D(2026, 3, 15)), cfg, TODAY) == "months_6_9"  # trained 04-15
    assert rep_phase(rep(D(2024, 3, 1)), cfg, TODAY) == "months_9_plus"
    assert rep_phase(rep(D(2026, 1, 2), D(2026, 12, 31)), cfg, TODAY) == "training"


def test_funnel_counts_and_amounts(snap: Snapshot) -> None:
    team = snap.team
    # pool reserve = customers without an owner; lost opportunities leave the funnel;
    # L2 was never synced and counts at its typed class B
    assert counts(team) == (2, 2, 2, 2, 1, 1)
    assert counts(team, "amount") == (None, 150_000, 320_000, 380_000, 400_000, 500_000)
    assert counts(team, "weighted") == (None, 15_000, 80_000, 190_000, 320_000, 500_000)
    assert team.open == Totals(count=7, amount=1_250_000, weighted=605_000)
    east, south = snap.regions
    assert (east.name, counts(east)) == ("华东", (1, 1, 1, 1, 1, 1))
    assert (south.name, counts(south)) == ("华南", (1, 1, 1, 1, 0, 0))
    zhang, li = snap.reps  # the manager owns nothing: not in the report
    assert [r.name for r in snap.reps] == ["张三", "李四"]
    assert counts(zhang) == (1, 1, 1, 1, 1, 1)
    assert counts(li) == (1, 1, 1, 1, 0, 0)


def test_weekly_flow_from_the_stage_log(snap: Snapshot) -> None:
    flow = {f.key: f for f in snap.team.flow}
    keys = ("entered", "advanced", "fell_back", "lost")
    assert {k: tuple(f[m] for m in keys) for k, f in flow.items()} == {
        "D": (1, 0, 0, 0),
        "C": (0, 1, 0, 1),
        "B": (1, 1, 0, 0),
        "A": (1, 1, 0, 0),
        "won": (1, 0, 0, 0),
    }
    assert {k: tuple(f[m + "_prev"] for m in keys) for k, f in flow.items()} == {
        "D": (0, 1, 0, 0),
        "C": (2, 0, 0, 0),
        "B": (0, 0, 1, 0),
        "A": (0, 0, 0, 0),
        "won": (0, 0, 0, 0),
    }
    assert flow["C"].entered_delta == -2
    li = snap.rep("李四")
    assert [f.entered for f in li.flow] == [1, 0, 0, 0, 0]
    week = snap.team.trend[-1]
    assert (week.label, week.new, week.advanced, week.won, week.lost) == (
        "W48",
        1,
        3,
        1,
        1,
    )
    assert week.won_amount == 500_000
    assert len(snap.team.trend) == 8


def test_conversion_over_the_trailing_window(snap: Snapshot) -> None:
    conv = {c.from_: (c.advanced, c.lost, c.rate) for c in snap.team.conversion}
    # D: O2 and L3 advanced, L9 lost; O7 (outside 90 days) and adoptions do not count
    assert conv == {"D": (2, 1, 2 / 3), "C": (1, 1, 0.5), "B": (1, 0, 1.0), "A": (1, 0, 1.0)}
    zhang = {c.from_: c.rate for c in snap.rep("张三").conversion}
    assert zhang == {"D": 1.0, "C": 0.5, "B": 1.0, "A": 1.0}
    assert snap.rep("张三").moves == 6
    assert snap.rep("李四").moves == 2


def test_days_in_stage_plan_and_stalled(snap: Snapshot) -> None:
    days = {d.key: (d.target, d.avg_current, d.avg_done, d.stalled) for d in snap.team.days}
    assert days == {
        "D": (14, 15.0, None, 1),  # O1 29 days, L1 1 day
        "C": (30, 35.0, 7.0, 1),  # O2 10, L3 60; O3 stayed in C 11-18 → 11-25
        "B": (30, 2.5, None, 1),  # O3 5, L2 0 (no entry date: enters B today, as a sync has it)
        "A": (21, 4.0, None, 0),
    }
    stalled = snap.team.stalled
    assert stalled.total == 3
    assert [(s.opportunity_id, s.code) for s in stalled.items] == [
        ("L2", "B"),
        ("L3", "C"),
        ("O1", "D"),
    ]
    plan = {p.key: (p.with_plan, p.due_next_week, p.past_due, p.no_plan) for p in snap.team.plan}
    assert plan == {"D": (0, 0, 0, 2), "C": (2, 1, 1, 0), "B": (1, 0, 1, 1), "A": (0, 0, 0, 1)}
    assert snap.team.plan[1].avg_days_late == 10.0  # L3 planned 11-20


def test_overdue_follow_ups(snap: Snapshot) -> None:
    overdue = snap.team.overdue.items
    # O1: entered 11-01 + 14 = 11-15; O2: 11-20 + 7; O4: 11-26 + 3; L3 was visited 11-25
    assert [(o.opportunity_id, o.overdue) for o in overdue] == [
        ("O4", 1),
        ("O2", 3),
        ("O1", 15),
    ]
    assert overdue[0].customer == FORMULA


def test_coverage_and_needed_layers(snap: Snapshot) -> None:
    zhang, li = snap.rep("张三"), snap.rep("李四")
    assert zhang.phase == "months_9_plus" and li.phase == "months_3_6"
    assert zhang.won_ytd == 500_000
    assert zhang.pipeline.weighted == 530_000
    assert zhang.pipeline.coverage == round(530_000 / 1_200_000, 4)
    assert (zhang.pipeline.target_pct, zhang.pipeline.met) == (150, False)
    assert li.pipeline.coverage == round(75_000 / 800_000, 4)
    assert (li.pipeline.target_pct, li.pipeline.met) == (45, False)
    # too little history (min_history 10): the team's rates and average won amount (500k)
    assert zhang.rates_from == "team" and zhang.avg_won == 500_000
    # 700k left → 1.4 deals; A 1.4/1 → 2, B 2, C 1.4/0.5 → 3, D 2.8/(2/3) → 5
    assert zhang.remaining == 700_000 and zhang.deals_needed == 2
    assert zhang.needed == LayerSizes(A=2, B=2, C=3, D=5)
    # 800k left → 1.6 deals; A 2, B 2, C 4, D 5
    assert li.needed == LayerSizes(A=2, B=2, C=4, D=5)
    assert snap.team.pipeline.quota == 2_000_000


def test_own_rates_with_enough_history(book: Path) -> None:
    cfg = Config()
    cfg = dataclasses.replace(cfg, report=dataclasses.replace(cfg.report, min_history=5))
    zhang = snapshot(book, cfg).rep("张三")
    assert zhang.rates_from == "own"
    # own rates D 1.0, C 0.5, B 1.0, A 1.0; own average won 500k: C 1.4/0.5 → 3, D 2.8 → 3
    assert zhang.needed == LayerSizes(A=2, B=2, C=3, D=3)


def test_alerts_that_fire(snap: Snapshot) -> None:
    zhang = [(a.kind, a.layer, a.count, a.target) for a in snap.rep("张三").alerts]
    assert zhang == [
        ("needed", "A", 1, 2),
        ("needed", "B", 1, 2),
        ("needed", "C", 1, 3),
        ("needed", "D", 1, 5),
    ]
    li = snap.rep("李四").alerts
    assert [(a.kind, a.layer, a.count, a.target) for a in li] == [
        ("goal", "B", 1, 8),  # B or better
        ("goal", "A", 0, 4),
        ("goal", "成交", 0, 1),
        ("needed", "A", 0, 2),
        ("needed", "B", 1, 2),
        ("needed", "C", 1, 4),
        ("needed", "D", 1, 5),
    ]
    assert li[1].message == "A 层及以上 只有 0 个, 目标 ≥ 4 (赢得认可): 补充"
    assert li[1].action.startswith("推进 B 层")
    assert li[3].message.startswith("A 层只有 0 个, 需要 ≈ 2 个 (到年底还需成交 ¥800,000)")
    assert li[6].action == "从公共资源库领取客户, 补充 D 层"
    assert len(snap.team.alerts) == 11
    assert [len(r.alerts) for r in snap.regions] == [4, 7]


def test_alerts_that_must_not_fire(tmp_path: Path) -> None:
    reps = (
        {**REPS[0], "annual_quota": 500_000},  # quota already closed this year
        {**REPS[1], "annual_quota": None},  # no quota: nothing needed
        REPS[2],
    )
    snap = snapshot(make_book(tmp_path / "ok.xlsx", reps))
    assert snap.rep("张三").alerts == ()
    assert snap.rep("张三").needed == LayerSizes(A=0, B=0, C=0, D=0)
    li = snap.rep("李四")
    assert [a.kind for a in li.alerts] == ["goal", "goal", "goal"]  # phase goals only
    assert li.needed == LayerSizes(A=None, B=None, C=None, D=None)


def test_scorecard(snap: Snapshot) -> None:
    li = snap.rep("李四").scorecard
    rows = [(i.kind, i.target, i.actual, i.met) for i in li.items]
    assert rows == [
        ("standard", 10, 11.0, True),  # prospecting hours this week: 4 + 7
        ("standard", 6, 3.0, False),  # visits this week (not the one of 11-23)
        ("goal", 8, 1.0, False),
        ("goal", 4, 0.0, False),
        ("goal", 1, 0.0, False),
        ("goal", 45, 9.38, False),  # coverage 75k / 800k
        ("goal", 100, 0.0, False),  # quarter
    ]
    assert (li.met, li.total) == (1, 7)
    zhang = snap.rep("张三").scorecard.items
    assert [(i.target, i.actual, i.met) for i in zhang] == [
        (150, round(100 * 530_000 / 1_200_000, 2), False),
        (100, round(100 * 500_000 / 1_200_000, 2), False),
    ]


def test_pool_activity_rejected_moves_and_important_days(snap: Snapshot) -> None:
    pa = snap.team.pool_activity
    assert (pa.claims, pa.recycles, pa.claims_rejected, pa.releases) == (1, 1, 1, 0)
    assert [(p.customer_id, p.action) for p in pa.items] == [
        ("KH003", "recycle"),
        ("KH004", "claim-rejected"),
    ]
    rejected = snap.team.rejected_moves
    assert rejected.total == 1
    assert rejected.items[0].date == TODAY  # stamped 00:00: still the 30th
    assert (rejected.items[0].from_code, rejected.items[0].to_code) == ("C", "B")
    days = snap.team.important_days.items
    assert [(e.date, e.customer_id, e.rep) for e in days] == [(D(2026, 12, 3), "KH001", "张三")]
    assert snap.rep("李四").important_days.items == ()


def test_figures_trace_back_to_rows(book: Path, snap: Snapshot) -> None:
    """Recompute the rep funnel straight from the parsed rows, without pandas."""
    cfg = Config()
    parsed = read_book(book, cfg, engine_sheets=True)
    for rep in snap.reps:
        mine = [o for o in parsed.opportunities if o.owner == rep.name]
        for layer in rep.layers[1:]:
            code = layer.code if layer.key != "won" else "成交"
            rows = [
                o
                for o in mine
                if (o.confirmed_stage or o.stage) is not None
                and (o.confirmed_stage or o.stage).code == code  # type: ignore[union-attr]
            ]
            assert layer.count == len(rows)
            assert layer.amount == sum(o.amount or 0 for o in rows)


def test_english_snapshot(book: Path) -> None:
    snap = snapshot(book, lang="en")
    li = snap.rep("李四")
    assert li.phase_label == "months 3–6"
    assert li.alerts[1].message == "A or better: only 0, goal ≥ 4 (赢得认可): replenish"
    assert snap.team.layers[0].label == "Pool reserve"


@pytest.mark.parametrize(
    "rows",
    [
        {},
        {"reps": REPS_SMALL, "pool": POOL_SMALL},
        {
            "reps": REPS_SMALL,
            "pool": POOL_SMALL,
            "opportunities": [
                {
                    "opportunity_id": "JH1",
                    "customer_id": "KH001",
                    "owner": "张三",
                    "stage": "D",
                    "amount": 10000,
                }
            ],
            "activities": [
                {
                    "date": dt.date(2026, 11, 20),
                    "rep": "张三",
                    "customer_id": "KH001",
                    "opportunity_id": "JH1",
                    "kind": "电话",
                }
            ],
        },
    ],
    ids=["empty-ledger", "no-opportunities", "only-linked-activities"],
)
def test_small_ledgers_report_without_crashing(tmp_path: Path, rows: dict[str, Any]) -> None:
    """Regression: pandas cannot map through an empty datetime Series; a small team's ledger
    (nothing but reps, or activities all tied to opportunities) must still report."""
    from helpers import run_cli

    path = write_ledger(tmp_path / "small.xlsx", **rows)
    code, _out, err = run_cli(
        "report", str(path), "--out", str(tmp_path / "out"), "--today", "2026-11-30"
    )
    assert code == 0, err
    assert (tmp_path / "out" / "funnel-report-2026-W48.html").exists()
    assert (tmp_path / "out" / "funnel-report-2026-W48.xlsx").exists()
