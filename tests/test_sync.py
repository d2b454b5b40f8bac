"""`funnel-sync sync` scenario by scenario: real workbook files, syncs on successive `--today`
dates, and the cells and log rows that result (SPEC §3, §4)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from helpers import (
    CORPUS,
    POOL_OK,
    REPS_OK,
    append_rows,
    append_rows_in,
    edit_ledger,
    flat,
    read_rows,
    read_tables,
    row_by_id,
    run_cli,
    set_fields,
    set_fields_in,
    sha256,
    sync_cli,
    sync_json,
    write_ledger,
)

from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS

D0 = dt.date(2026, 3, 2)  # a Monday; no Chinese public holiday within a week of it
POOL_S, OPPS_S = "公共资源库", "销售机会"
YES = "是"
EVIDENCE_C = {"influencer_contacted": YES, "need_confirmed": YES}
EVIDENCE_B = {**EVIDENCE_C, "quoted": YES}
EVIDENCE_A = {**EVIDENCE_B, "contract_sent": YES}
EVIDENCE_WON = {**EVIDENCE_A, "signed": YES}


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def iso(n: int) -> str:
    return day(n).isoformat()


def sync(path: Path, n: int, *args: str) -> int:
    """Sync on day `n`; returns the exit code (never a crash)."""
    code, _, stderr = sync_cli(path, iso(n), *args)
    assert "Traceback" not in stderr, stderr
    return code


def problems_on(path: Path, n: int, *args: str) -> tuple[int, list[tuple[Any, ...]]]:
    """Sync on day `n` with --format json: (exit code, (sheet, row, column, code) of each)."""
    code, payload = sync_json(path, iso(n), *args)
    return code, flat(payload["problems"])


def _blank(v: Any) -> Any:
    return "" if v is None else v


def pool_log(path: Path, n: int | None = None) -> list[tuple[Any, ...]]:
    """PoolLog rows (customer, action, rep, reason, old value), of day `n` or all."""
    return [
        tuple(_blank(r[f]) for f in ("customer_id", "action", "rep", "reason", "old_value"))
        for r in read_rows(path, "pool_log")
        if n is None or r["time"].date() == day(n)
    ]


def stage_log(path: Path, n: int | None = None) -> list[tuple[Any, ...]]:
    """StageLog rows (opportunity, from, to, result, reason), of day `n` or all."""
    return [
        tuple(
            _blank(r[f]) for f in ("opportunity_id", "from_stage", "to_stage", "result", "reason")
        )
        for r in read_rows(path, "stage_log")
        if n is None or r["time"].date() == day(n)
    ]


def cells(path: Path, spec_key: str, key: str, *fields: str) -> tuple[Any, ...]:
    row = row_by_id(path, spec_key, key)
    return tuple(_date(row[f]) for f in fields)


def _date(v: Any) -> Any:
    """openpyxl reads dates back as midnight datetimes: compare them as dates."""
    if isinstance(v, dt.datetime) and v.time() == dt.time():
        return v.date()
    return v


def today_list(path: Path) -> list[tuple[Any, ...]]:
    return [
        tuple(
            _blank(r[f])
            for f in (
                "rep",
                "priority",
                "stage",
                "customer_id",
                "customer",
                "contact",
                "phone",
                "opportunity_id",
                "reason",
            )
        )
        for r in read_rows(path, "today")
    ]


def opp(opportunity_id: str = "JH001", **values: Any) -> dict[str, Any]:
    """A D-class opportunity of 张三 on KH001, with `values` on top."""
    return {
        "opportunity_id": opportunity_id,
        "customer_id": "KH001",
        "owner": "张三",
        "stage": "D",
        "amount": 50_000,
        **values,
    }


def act(n: int, **values: Any) -> dict[str, Any]:
    """A call by 张三 with KH001 on day `n`."""
    return {
        "date": day(n),
        "rep": "张三",
        "customer_id": "KH001",
        "kind": "电话",
        "hours": 0.5,
        **values,
    }


def customer(cid: str, name: str, region: str, owner: str | None = None, **values: Any) -> dict:
    return {"customer_id": cid, "name": name, "region": region, "owner": owner, **values}


def ledger(tmp_path: Path, name: str = "book.xlsx", **rows: Any) -> Path:
    rows.setdefault("pool", POOL_OK)
    rows.setdefault("reps", REPS_OK)
    return write_ledger(tmp_path / name, **rows)


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "funnel.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------- the first sync


def test_first_sync_adopts_owners_and_classes(tmp_path: Path) -> None:
    path = ledger(
        tmp_path,
        opportunities=[opp("JH001", stage="C", **EVIDENCE_C), opp("JH002", stage="D")],
    )
    assert sync(path, 0) == 0
    assert pool_log(path) == [
        ("KH001", "接管", "张三", "首次同步: 按现状接管", ""),
        ("KH002", "接管", "李四", "首次同步: 按现状接管", ""),
    ]
    assert stage_log(path) == [
        ("JH001", "", "C", "首次接收", "首次同步: 按现状接收"),
        ("JH002", "", "D", "首次接收", "首次同步: 按现状接收"),
    ]
    assert cells(
        path, "opportunities", "JH001", "stage", "confirmed_stage", "stage_entered_on"
    ) == (
        "C",
        "C",
        day(0),
    )
    # owners adopted are not claims: no claim date
    assert cells(path, "pool", "KH001", "owner", "claimed_on", "released_on") == (
        "张三",
        None,
        None,
    )


def test_a_new_opportunity_after_the_first_sync_is_adopted_as_typed(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp("JH001")])
    sync(path, 0)
    append_rows(path, "opportunities", opp("JH002", stage="C", **EVIDENCE_C))
    assert sync(path, 1) == 0
    assert stage_log(path, 1) == [("JH002", "", "C", "首次接收", "新机会: 按填写的分类接收")]
    assert cells(path, "opportunities", "JH002", "confirmed_stage", "stage_entered_on") == (
        "C",
        day(1),
    )


# ------------------------------------------------------------------- classes and stage moves

# (start: the class adopted on day 0 and its evidence; edit typed on day 1;
#  expected StageLog row of day 1 (from, to, result, reason), confirmed class, problem code)
STAGE_MOVES = [
    pytest.param(
        {"stage": "D", **EVIDENCE_C},
        {"stage": "B"},
        ("D", "B", "拒绝", "D → B 跳过了 C, 缺少证据: 已报价。仍按 D 计"),
        "D",
        ("D", "stage-skip"),
        id="D-to-B-without-quote-rejected",
    ),
    pytest.param(
        {"stage": "D"},
        {"stage": "B", **EVIDENCE_B},
        ("D", "B", "接收", "证据齐全"),
        "B",
        None,
        id="D-to-B-with-influencer-need-quote-accepted",
    ),
    pytest.param(
        {"stage": "D", "influencer_contacted": YES},
        {"stage": "C"},
        ("D", "C", "拒绝", "D → C 缺少证据: 需求已确认。仍按 D 计"),
        "D",
        ("D", "stage-evidence-missing"),
        id="D-to-C-without-need-rejected",
    ),
    pytest.param(
        {"stage": "B", **EVIDENCE_B},
        {"stage": "D"},
        ("B", "D", "接收", "退回 D"),
        "D",
        None,
        id="backwards-B-to-D-accepted",
    ),
    pytest.param(
        {"stage": "C", **EVIDENCE_C},
        {"stage": "丢单"},
        ("C", "丢单", "拒绝", "标为丢单但没有填写「丢单原因」: 请填写原因"),
        "C",
        ("P", "lost-without-reason"),
        id="lost-without-reason-rejected",
    ),
    pytest.param(
        {"stage": "C", **EVIDENCE_C},
        {"stage": "丢单", "lost_reason": "价格太高"},
        ("C", "丢单", "接收", "丢单: 价格太高"),
        "丢单",
        None,
        id="lost-with-reason-accepted",
    ),
    pytest.param(
        {"stage": "成交", **EVIDENCE_WON},
        {"stage": "B"},
        ("成交", "B", "拒绝", "已成交的机会只能退回 A 且须在备注说明: B 不接受"),
        "成交",
        ("D", "won-is-final"),
        id="won-to-B-rejected",
    ),
    pytest.param(
        {"stage": "成交", **EVIDENCE_WON},
        {"stage": "A"},
        ("成交", "A", "拒绝", "已成交的机会只能退回 A 且须在备注说明: A 不接受"),
        "成交",
        ("D", "won-is-final"),
        id="won-to-A-without-note-rejected",
    ),
    pytest.param(
        {"stage": "成交", **EVIDENCE_WON},
        {"stage": "A", "notes": "客户要求重签合同"},
        ("成交", "A", "接收", "成交退回 A: 客户要求重签合同"),
        "A",
        None,
        id="won-to-A-with-note-accepted",
    ),
    pytest.param(
        {"stage": "丢单", "lost_reason": "预算取消"},
        {"stage": "C", **EVIDENCE_C},
        ("丢单", "C", "接收", "重新打开, 证据齐全"),
        "C",
        None,
        id="lost-reopened-with-evidence-accepted",
    ),
    pytest.param(
        {"stage": "丢单", "lost_reason": "预算取消"},
        {"stage": "C", "influencer_contacted": YES},
        ("丢单", "C", "拒绝", "丢单 → C 缺少证据: 需求已确认。仍按 丢单 计"),
        "丢单",
        ("D", "stage-evidence-missing"),
        id="lost-reopened-without-evidence-rejected",
    ),
]


@pytest.mark.parametrize(("start", "edit", "logged", "confirmed", "problem"), STAGE_MOVES)
def test_stage_move(
    tmp_path: Path,
    start: dict[str, Any],
    edit: dict[str, Any],
    logged: tuple[str, ...],
    confirmed: str,
    problem: tuple[str, str] | None,
) -> None:
    path = ledger(tmp_path, opportunities=[opp("JH001", **start)])
    sync(path, 0)
    set_fields(path, "opportunities", "JH001", **edit)
    code, problems = problems_on(path, 1)
    accepted = logged[2] == "接收"
    assert stage_log(path, 1) == [("JH001", *logged)]
    assert cells(
        path, "opportunities", "JH001", "stage", "confirmed_stage", "stage_entered_on"
    ) == (
        edit["stage"],
        confirmed,
        day(1) if accepted else day(0),
    )
    check = cells(path, "opportunities", "JH001", "check")[0]
    if problem is None:
        assert (code, check) == (0, None)
        assert [p for p in problems if p[0] == OPPS_S] == []
    else:
        assert code == 1
        assert [p for p in problems if p[0] == OPPS_S] == [(OPPS_S, 2, *problem)]
        assert check == "✗ " + logged[3]


def test_a_new_lost_opportunity_without_reason_stays_reported(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp("JH001")])
    sync(path, 0)
    append_rows(path, "opportunities", opp("JH002", stage="丢单"))
    assert problems_on(path, 1) == (1, [(OPPS_S, 3, "P", "lost-without-reason")])
    assert problems_on(path, 2) == (1, [(OPPS_S, 3, "P", "lost-without-reason")])


def test_an_adoption_warning_survives_a_second_sync_the_same_day(tmp_path: Path) -> None:
    path = ledger(tmp_path, opportunities=[opp("JH001", stage="C")])  # no evidence for C
    code, problems = problems_on(path, 0)
    assert (code, problems) == (0, [(OPPS_S, 2, "D", "stage-unverified")])
    before = sha256(path)
    sync(path, 0)
    assert sha256(path) == before


def test_rejected_move_is_logged_once_counted_at_its_class_until_fixed(tmp_path: Path) -> None:
    """D→B without a quote: rejected, the typed B stays, the opportunity keeps D's cadence;
    the next nights do not log it again; with the quote the same move is accepted."""
    path = ledger(
        tmp_path,
        opportunities=[opp("JH001", **EVIDENCE_C)],
        activities=[act(0, opportunity_id="JH001")],
    )
    sync(path, 0)
    set_fields(path, "opportunities", "JH001", stage="B")
    assert sync(path, 1) == 1
    assert sync(path, 2) == 1
    assert [r[:4] for r in stage_log(path)] == [
        ("JH001", "", "D", "首次接收"),
        ("JH001", "D", "B", "拒绝"),
    ]
    fields = ("stage", "confirmed_stage", "stage_entered_on", "days_in_stage", "next_contact_due")
    # counted at D: D's cadence (14 days), D's days in stage
    assert cells(path, "opportunities", "JH001", *fields) == ("B", "D", day(0), 2, day(14))
    set_fields(path, "opportunities", "JH001", quoted=YES)
    assert sync(path, 3) == 0
    assert stage_log(path, 3) == [("JH001", "D", "B", "接收", "证据齐全")]
    assert cells(path, "opportunities", "JH001", *fields, "check") == (
        "B",
        "B",
        day(3),
        0,
        day(3 + 5),  # B's cadence, counted from the move (later than the last call)
        None,
    )


# ------------------------------------------------------------------------------- the pool

POOL4 = (
    customer("KH001", "甲公司", "华东", "张三"),
    customer("KH002", "乙公司", "华南", "李四"),
    customer("KH003", "丙公司", "华东"),
    customer("KH004", "丁公司", "华南"),
)
POOL_CELLS = ("owner", "claimed_on", "released_on", "check")
OUTSIDE = "张三 负责区域 华东, 不能领取 华南 的客户"

# (owner typed on day 1 per customer; PoolLog rows of day 1; (customer, owner, claimed_on,
#  released_on, 校验) after the sync; problems on the pool sheet; exit code)
POOL_MOVES = [
    pytest.param(
        {"KH003": "张三"},
        [("KH003", "领取", "张三", "", "")],
        ("KH003", "张三", day(1), None, None),
        [],
        0,
        id="claim-accepted",
    ),
    pytest.param(
        {"KH004": "张三"},
        [("KH004", "领取被拒", "张三", OUTSIDE, "张三")],
        ("KH004", "张三", None, None, "✗ " + OUTSIDE),
        [(POOL_S, 5, "J", "claim-outside-region")],
        1,
        id="claim-outside-region-rejected",
    ),
    pytest.param(
        {"KH003": "赵六"},
        [
            (
                "KH003",
                "领取被拒",
                "赵六",
                "「赵六」不在「销售团队」中, 不能领取: 请写团队中的姓名",
                "赵六",
            )
        ],
        (
            "KH003",
            "赵六",
            None,
            None,
            "✗ 「赵六」不在「销售团队」中, 不能领取: 请写团队中的姓名; "
            "✗ 销售「赵六」不在「销售团队」中",
        ),
        [(POOL_S, 4, "J", "claim-unknown-rep"), (POOL_S, 4, "J", "rep-unknown")],
        1,
        id="claim-by-rep-not-on-team-rejected",
    ),
    pytest.param(
        {"KH001": None},
        [("KH001", "释放", "张三", "销售释放", "张三")],
        ("KH001", None, None, day(1), None),
        [],
        0,
        id="release-owner-cleared",
    ),
    pytest.param(
        {"KH002": "释放"},
        [("KH002", "释放", "李四", "销售释放", "李四")],
        ("KH002", "释放", None, day(1), None),
        [],
        0,
        id="release-owner-typed-释放",
    ),
    pytest.param(
        {"KH002": "王经理"},
        [("KH002", "转移", "王经理", "转移, 待经理确认", "李四")],
        ("KH002", "王经理", day(1), None, "⚠ 客户由 李四 转给 王经理: 请经理确认"),
        [(POOL_S, 3, "J", "transfer-flagged")],
        0,
        id="transfer-between-reps-flagged",
    ),
]


@pytest.mark.parametrize(("owners", "logged", "after", "problems", "exit_code"), POOL_MOVES)
def test_pool_move(
    tmp_path: Path,
    owners: dict[str, str | None],
    logged: list[tuple[str, ...]],
    after: tuple[Any, ...],
    problems: list[tuple[Any, ...]],
    exit_code: int,
) -> None:
    path = ledger(tmp_path, pool=POOL4)
    assert sync(path, 0) == 0
    for cid, owner in owners.items():
        set_fields(path, "pool", cid, owner=owner)
    code, found = problems_on(path, 1)
    assert pool_log(path, 1) == logged
    assert (after[0], *cells(path, "pool", after[0], *POOL_CELLS)) == after
    assert ([p for p in found if p[0] == POOL_S], code) == (problems, exit_code)


def test_rejected_claim_is_logged_once_and_cleared_when_fixed(tmp_path: Path) -> None:
    path = ledger(tmp_path, pool=POOL4)
    sync(path, 0)
    set_fields(path, "pool", "KH004", owner="张三")
    assert sync(path, 1) == 1
    assert sync(path, 2) == 1  # the same attempt the next night: not logged again
    assert pool_log(path, 2) == []
    assert cells(path, "pool", "KH004", "check") == ("✗ " + OUTSIDE,)
    set_fields(path, "pool", "KH004", owner=None)  # the rep gives up: nothing to log
    assert sync(path, 3) == 0
    assert pool_log(path, 3) == []
    assert cells(path, "pool", "KH004", *POOL_CELLS) == (None, None, None, None)
    set_fields(path, "pool", "KH004", owner="李四")  # the right rep claims it
    assert sync(path, 4) == 0
    assert pool_log(path, 4) == [("KH004", "领取", "李四", "", "")]


def test_reclaim_inside_the_cooldown_is_rejected_and_accepted_after(tmp_path: Path) -> None:
    path = ledger(tmp_path, pool=POOL4)
    sync(path, 0)
    set_fields(path, "pool", "KH001", owner=None)
    set_fields(path, "pool", "KH002", owner=None)
    sync(path, 1)  # both released on day 1
    set_fields(path, "pool", "KH001", owner="张三")
    set_fields(path, "pool", "KH002", owner="王经理")  # another rep: no cooldown for them
    assert sync(path, 3) == 1
    cooldown = f"张三 于 {iso(1)} 释放了该客户, {iso(8)} 前不能再领取"
    assert pool_log(path, 3) == [
        ("KH001", "领取被拒", "张三", cooldown, "张三"),
        ("KH002", "领取", "王经理", "", ""),
    ]
    assert cells(path, "pool", "KH001", *POOL_CELLS) == ("张三", None, day(1), "✗ " + cooldown)
    assert sync(path, 7) == 1  # last day of the cooldown: still refused, not logged again
    assert pool_log(path, 7) == []
    assert sync(path, 8) == 0
    assert pool_log(path, 8) == [("KH001", "领取", "张三", "", "")]
    assert cells(path, "pool", "KH001", *POOL_CELLS) == ("张三", day(8), day(1), None)


def test_the_201st_customer_of_a_rep_with_max_200_is_refused(tmp_path: Path) -> None:
    pool = [customer(f"KH{i:03d}", f"客户{i}", "华东", "张三") for i in range(1, 201)]
    pool.append(customer("KH201", "客户201", "华东"))
    path = ledger(tmp_path, pool=pool)
    assert sync(path, 0) == 0  # 200 owners adopted
    set_fields(path, "pool", "KH201", owner="张三")
    code, problems = problems_on(path, 1)
    over = "张三 已拥有 200 个客户, 达到上限 200: 先释放不跟进的客户"
    assert (code, problems) == (1, [(POOL_S, 202, "J", "claim-over-cap")])
    assert pool_log(path, 1) == [("KH201", "领取被拒", "张三", over, "张三")]
    # releasing one makes room: the release (row 2) counts before the claim (row 202)
    set_fields(path, "pool", "KH001", owner=None)
    assert sync(path, 2) == 0
    assert pool_log(path, 2) == [
        ("KH001", "释放", "张三", "销售释放", "张三"),
        ("KH201", "领取", "张三", "", ""),
    ]


def test_daily_claim_limit(tmp_path: Path) -> None:
    cfg = config(tmp_path, "[pool]\nmax_claims_per_day = 2\n")
    pool = [*POOL4, *(customer(f"KH01{i}", f"新客户{i}", "华东") for i in range(3))]
    path = ledger(tmp_path, pool=pool)
    sync(path, 0, "--config", cfg)
    for i in range(3):
        set_fields(path, "pool", f"KH01{i}", owner="张三")
    code, problems = problems_on(path, 1, "--config", cfg)
    limit = "张三 今天已领取 2 个客户, 每日上限 2: 明天再领"
    assert (code, problems) == (1, [(POOL_S, 8, "J", "claim-over-daily-limit")])
    assert pool_log(path, 1) == [
        ("KH010", "领取", "张三", "", ""),
        ("KH011", "领取", "张三", "", ""),
        ("KH012", "领取被拒", "张三", limit, "张三"),
    ]
    assert sync(path, 1, "--config", cfg) == 1  # re-run the same day: still 2 claims today
    assert pool_log(path, 1)[-1][:2] == ("KH012", "领取被拒")
    assert sync(path, 2, "--config", cfg) == 0  # a new day
    assert pool_log(path, 2) == [("KH012", "领取", "张三", "", "")]


@pytest.mark.parametrize(("won_counts", "accepted"), [(False, True), (True, False)])
def test_won_counts_toward_cap(tmp_path: Path, won_counts: bool, accepted: bool) -> None:
    cfg = config(
        tmp_path,
        f"[pool]\nmax_owned_per_rep = 2\nwon_counts_toward_cap = {str(won_counts).lower()}\n",
    )
    pool = [*POOL4, customer("KH005", "戊公司", "华东", "张三")]
    won = opp("JH001", stage="成交", **EVIDENCE_WON)
    path = ledger(tmp_path, pool=pool, opportunities=[won])
    sync(path, 0, "--config", cfg)  # 张三 owns KH001 (won) and KH005
    set_fields(path, "pool", "KH003", owner="张三")
    sync(path, 1, "--config", cfg)
    over = "张三 已拥有 2 个客户, 达到上限 2: 先释放不跟进的客户"
    expected = (
        ("KH003", "领取", "张三", "", "")
        if accepted
        else ("KH003", "领取被拒", "张三", over, "张三")
    )
    assert pool_log(path, 1) == [expected]


def test_a_claim_counts_the_cap_after_todays_recycles(tmp_path: Path) -> None:
    """At the cap, a rep claims a new customer on the day one of theirs is recycled: the
    recycle frees the place, so the claim is accepted at once, and a re-sync the same day
    changes nothing (found by the property test: the re-sync used to accept it)."""
    cfg = config(tmp_path, "[pool]\nmax_owned_per_rep = 1\n")
    pool = [customer("KH001", "甲公司", "华东", "张三"), customer("KH002", "乙公司", "华东")]
    path = ledger(tmp_path, pool=pool)
    sync(path, 0, "--config", cfg)  # 张三 adopts KH001; no activity with it
    set_fields(path, "pool", "KH002", owner="张三")
    sync(path, 31, "--config", cfg)
    assert [r[:3] for r in pool_log(path, 31)] == [
        ("KH002", "领取", "张三"),
        ("KH001", "自动回收", "张三"),
    ]
    before = path.read_bytes()
    sync(path, 31, "--config", cfg)
    assert path.read_bytes() == before


def test_a_problem_in_a_log_sheet_reaches_the_sync_output(tmp_path: Path) -> None:
    """The ledger is validated while the log sheets still load; what reading those finds (here
    two columns under one header) is still reported."""
    path = ledger(tmp_path)
    assert sync(path, 0) == 0

    def two_time_columns(wb: Any) -> None:
        wb["资源库日志"]["F1"] = "时间"  # 原值 renamed: 时间 twice

    edit_ledger(path, two_time_columns)
    _, problems = problems_on(path, 1)
    assert ("资源库日志", 1, "F", "header-duplicate") in problems


# ------------------------------------------------------------------------ automatic recycling


def recycle_ledger(tmp_path: Path, **values: Any) -> Path:
    """KH003, KH005, KH006 claimed by 张三 on day 1 (first sync on day 0)."""
    pool = [
        *POOL4,
        customer("KH005", "戊公司", "华东"),
        customer("KH006", "己公司", "华东", phone="13900000006"),
    ]
    path = ledger(tmp_path, pool=pool, **values)
    sync(path, 0)
    for cid in ("KH003", "KH005", "KH006"):
        set_fields(path, "pool", cid, owner="张三")
    sync(path, 1)
    assert [r[:3] for r in pool_log(path, 1)] == [
        (cid, "领取", "张三") for cid in ("KH003", "KH005", "KH006")
    ]
    return path


def test_recycle_on_day_31_with_the_warning_from_day_27(tmp_path: Path) -> None:
    """Claimed on day C with no activity: warned on C+27..C+30, recycled on C+31. An activity
    of the owner restarts the count; another rep's activity does not."""
    path = recycle_ledger(tmp_path)
    c = 1  # the claim day
    append_rows(
        path,
        "activities",
        act(c + 20, customer_id="KH005"),  # the owner's own call
        act(c + 20, customer_id="KH006", rep="李四"),  # someone else's
        act(c + 20, customer_id="KH001"),  # the adopted owners keep theirs
        act(c + 20, customer_id="KH002", rep="李四"),
    )
    reminders = ("KH003", "KH005", "KH006")
    sync(path, c + 26)
    assert [cells(path, "pool", k, "reminder")[0] for k in reminders] == [None, None, None]
    sync(path, c + 27)
    warning = f"27 天未跟进: 3 天内不跟进, {iso(c + 31)} 自动回收到资源库"
    assert [cells(path, "pool", k, "reminder")[0] for k in reminders] == [
        warning,
        None,
        warning,
    ]
    assert today_list(path) == [
        ("张三", 1, "", "KH003", "丙公司", "", "", "", warning),
        ("张三", 2, "", "KH006", "己公司", "", "13900000006", "", warning),
    ]
    sync(path, c + 30)
    last = f"30 天未跟进: 0 天内不跟进, {iso(c + 31)} 自动回收到资源库"
    assert cells(path, "pool", "KH003", "owner", "reminder") == ("张三", last)
    assert pool_log(path, c + 30) == []
    sync(path, c + 31)
    why = "31 天无跟进 (上限 30 天)"
    assert pool_log(path, c + 31) == [
        ("KH003", "自动回收", "张三", why, "张三"),
        ("KH006", "自动回收", "张三", why, "张三"),
    ]
    notice = f"{iso(c + 31)} 已自动回收 (原负责人 张三, {why}): 可重新领取"
    assert cells(path, "pool", "KH003", "owner", "claimed_on", "released_on", "reminder") == (
        None,
        day(c),
        day(c + 31),
        notice,
    )
    assert cells(path, "pool", "KH005", "owner", "reminder") == ("张三", None)  # idle 11 days
    # the recycled rep may not take it straight back: recycling counts as losing it
    set_fields(path, "pool", "KH003", owner="张三")
    assert sync(path, c + 32) == 1
    assert [r[:3] for r in pool_log(path, c + 32)] == [("KH003", "领取被拒", "张三")]
    assert "前不能再领取" in pool_log(path, c + 32)[0][3]


def test_locked_and_won_customers_are_never_recycled(tmp_path: Path) -> None:
    pool = [
        customer("KH001", "甲公司", "华东", "张三"),  # has a won opportunity
        customer("KH002", "乙公司", "华南", "李四"),  # adopted, no activity: recycled
        customer("KH003", "丙公司", "华东", locked=YES),
        customer("KH005", "戊公司", "华东"),  # the same claim without the lock: recycled
    ]
    won = opp("JH001", stage="成交", **EVIDENCE_WON)
    path = ledger(tmp_path, pool=pool, opportunities=[won])
    sync(path, 0)
    set_fields(path, "pool", "KH003", owner="张三")
    set_fields(path, "pool", "KH005", owner="张三")
    sync(path, 1)
    sync(path, 28)  # a locked customer is not even warned
    assert cells(path, "pool", "KH003", "reminder") == (None,)
    assert cells(path, "pool", "KH005", "reminder")[0].startswith("27 天未跟进")
    sync(path, 45)
    assert [r[:3] for r in pool_log(path, 45)] == [
        ("KH002", "自动回收", "李四"),
        ("KH005", "自动回收", "张三"),
    ]
    assert [cells(path, "pool", k, "owner")[0] for k in ("KH001", "KH002", "KH003", "KH005")] == [
        "张三",
        None,
        "张三",
        None,
    ]


def test_an_adopted_owner_is_counted_from_the_last_activity(tmp_path: Path) -> None:
    """Adopted on day 0 with the owner's last call on day -20: idle 31 on day 11."""
    path = ledger(tmp_path, pool=POOL4, activities=[act(-20)])
    sync(path, 0)  # idle 20: kept
    assert cells(path, "pool", "KH001", "owner") == ("张三",)
    sync(path, 7)  # idle 27: warned
    assert str(cells(path, "pool", "KH001", "reminder")[0]).startswith("27 天未跟进")
    sync(path, 11)  # idle 31: recycled
    assert pool_log(path, 11)[0][:3] == ("KH001", "自动回收", "张三")


def test_a_first_sync_recycle_warning_survives_a_second_sync(tmp_path: Path) -> None:
    path = ledger(tmp_path, pool=POOL4, activities=[act(-27)])
    sync(path, 0)
    warned = cells(path, "pool", "KH001", "reminder")
    assert str(warned[0]).startswith("27 天未跟进")
    before = sha256(path)
    sync(path, 0)
    assert (sha256(path), cells(path, "pool", "KH001", "reminder")) == (before, warned)


def test_a_recycled_owner_leaves_no_stale_check(tmp_path: Path) -> None:
    pool = [*POOL4[:3], customer("KH004", "丁公司", "华南", "赵六")]
    path = ledger(tmp_path, pool=pool)
    sync(path, 0)  # 赵六 is adopted as found (and reported: not on the team)
    sync(path, 31)
    assert pool_log(path, 31)[-1][:4] == ("KH004", "自动回收", "赵六", "31 天无跟进 (上限 30 天)")
    assert cells(path, "pool", "KH004", "owner", "check") == (None, None)


# ---------------------------------------------------------------------------- enforce = revert


def test_enforce_revert_restores_owners_and_logs_the_attempts(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[pool]\nenforce = "revert"\n')
    path = ledger(tmp_path, pool=POOL4)
    sync(path, 0, "--config", cfg)
    set_fields(path, "pool", "KH004", owner="张三")  # outside 张三's region
    set_fields(path, "pool", "KH001", owner="李四")  # a transfer
    code, problems = problems_on(path, 1, "--config", cfg)
    assert pool_log(path, 1) == [
        ("KH001", "还原", "张三", "转移未经确认", "李四"),
        ("KH004", "领取被拒", "张三", OUTSIDE, "张三"),
        ("KH004", "还原", "", "领取未通过", "张三"),
    ]
    assert [cells(path, "pool", k, "owner")[0] for k in ("KH001", "KH004")] == ["张三", None]
    # the engine undid both: what remains are notices (the reason stands in the pool log)
    assert (code, problems) == (
        0,
        [(POOL_S, 2, "J", "owner-reverted"), (POOL_S, 5, "J", "owner-cleared")],
    )
    assert cells(path, "pool", "KH004", "check") == (
        "⚠ 「张三」的领取未通过, 负责人已清空 (原因见资源库日志)",
    )
    assert cells(path, "pool", "KH001", "check") == (
        "⚠ 负责人已还原为「张三」(输入的「李四」已记入资源库日志)",
    )
    sync(path, 2, "--config", cfg)
    assert pool_log(path, 2) == []
    assert [cells(path, "pool", k, "owner")[0] for k in ("KH001", "KH004")] == ["张三", None]


def test_enforce_revert_then_a_second_sync_the_same_day_writes_nothing(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[pool]\nenforce = "revert"\n')
    path = ledger(tmp_path, pool=POOL4)
    sync(path, 0, "--config", cfg)
    set_fields(path, "pool", "KH001", owner="李四")
    sync(path, 1, "--config", cfg)
    before = sha256(path)
    sync(path, 1, "--config", cfg)
    assert sha256(path) == before


# ------------------------------------------------------------------------------- reminders

CADENCE_FIELDS = ("days_in_stage", "last_contact", "next_contact_due", "overdue_days", "reminder")


def test_contact_cadence_values_against_hand_computed_dates(tmp_path: Path) -> None:
    """C (cadence 7) adopted on day 0 with a call on day -3: due on day 0 + 7 (the later of
    the last contact and the stage entry); overdue from day 8; a call on day 11 resets it."""
    path = ledger(
        tmp_path,
        opportunities=[opp("JH001", stage="C", **EVIDENCE_C)],
        activities=[act(-3, opportunity_id="JH001")],
    )
    sync(path, 0)
    assert cells(path, "opportunities", "JH001", *CADENCE_FIELDS) == (
        0,
        day(-3),
        day(7),
        None,
        None,
    )
    sync(path, 7)
    assert cells(path, "opportunities", "JH001", *CADENCE_FIELDS) == (
        7,
        day(-3),
        day(7),
        None,
        "今天应联系",
    )
    sync(path, 10)
    assert cells(path, "opportunities", "JH001", *CADENCE_FIELDS) == (
        10,
        day(-3),
        day(7),
        3,
        "逾期 3 天未联系: 今天联系",
    )
    # a customer-level call (no opportunity ID) by anyone counts as contact
    append_rows(path, "activities", act(11, rep="李四"), act(20))  # day 20: in the future
    _, problems = problems_on(path, 12)
    assert cells(path, "opportunities", "JH001", *CADENCE_FIELDS) == (
        12,
        day(11),
        day(18),
        None,
        None,
    )
    assert ("跟进记录", 4, "A", "date-future") in problems
    # a move resets the days in stage and uses the new class's cadence (B: 5)
    set_fields(path, "opportunities", "JH001", stage="B", quoted=YES)
    sync(path, 13)
    assert cells(path, "opportunities", "JH001", *CADENCE_FIELDS, "stage_entered_on") == (
        0,
        day(11),
        day(18),  # max(last contact 11, entered 13) + 5
        None,
        None,
        day(13),
    )


def test_stalled_against_stage_target_days_and_the_planned_advance(tmp_path: Path) -> None:
    path = ledger(
        tmp_path,
        opportunities=[
            opp("JH001", stage="D"),  # D's plan: 14 days
            opp("JH002", stage="C", planned_advance=day(5), **EVIDENCE_C),  # plan: 30 days
        ],
        activities=[act(d) for d in range(0, 20, 3)],  # regular calls: never overdue
    )
    sync(path, 0)
    sync(path, 5)
    assert cells(path, "opportunities", "JH002", "reminder") == (None,)  # due today, not past
    sync(path, 6)
    assert cells(path, "opportunities", "JH002", "reminder") == (
        f"计划进阶日 {iso(5)} 已过: 推进或更新计划",
    )
    sync(path, 14)
    assert cells(path, "opportunities", "JH001", "days_in_stage", "reminder") == (14, None)
    _, payload = sync_json(path, iso(15))
    assert cells(path, "opportunities", "JH001", "days_in_stage", "reminder") == (
        15,
        "在 D 停留 15 天 (计划 14 天): 核实需求, 约到有影响力的人",
    )
    assert payload["summary"]["stalled"] == 2
    assert ("张三", "D", "JH001", "在 D 停留 15 天 (计划 14 天): 核实需求, 约到有影响力的人") in [
        (r[0], r[2], r[7], r[8]) for r in today_list(path)
    ]


def test_today_list_order_for_one_rep(tmp_path: Path) -> None:
    """A before B before C before D; overdue (most days first) before due; stalled last.
    The engine columns are typed in (as a previous sync left them) to place each opportunity."""
    t = 40

    def placed(cid: str, stage: str, entered: int, **values: Any) -> dict[str, Any]:
        evidence = {"D": {}, "C": EVIDENCE_C, "B": EVIDENCE_B, "A": EVIDENCE_A}[stage]
        return opp(
            "JH" + cid[2:],
            customer_id=cid,
            stage=stage,
            confirmed_stage=stage,
            stage_entered_on=day(entered),
            **evidence,
            **values,
        )

    names = {
        "KH011": "A逾期",
        "KH012": "A今天",
        "KH013": "B今天",
        "KH014": "B逾期",
        "KH015": "C今天",
        "KH016": "D今天",
        "KH017": "D逾期停滞",
    }
    pool = [
        *POOL_OK,
        *(
            customer(
                cid, name, "华东", "张三", contact=f"联系人{cid[-2:]}", phone=f"1380000{cid[-4:]}"
            )
            for cid, name in names.items()
        ),
    ]
    opportunities = [  # deliberately not in the expected order
        placed("KH016", "D", t - 14),  # due today
        placed("KH013", "B", t - 5),  # due today
        placed("KH017", "D", t - 20),  # 6 days overdue, 20 days in D: stalled
        placed("KH011", "A", t - 5),  # 2 days overdue
        placed("KH015", "C", t - 7),  # due today
        placed("KH012", "A", t - 3),  # due today
        placed("KH014", "B", t - 10),  # 5 days overdue
        opp(
            "JH002",
            customer_id="KH002",
            owner="李四",
            stage="C",
            confirmed_stage="C",
            stage_entered_on=day(t - 9),
            **EVIDENCE_C,
        ),
    ]
    path = ledger(tmp_path, pool=pool, opportunities=opportunities)
    sync(path, t)

    def row(n: int, stage: str, cid: str, reason: str) -> tuple[Any, ...]:
        return (
            "张三",
            n,
            stage,
            cid,
            names[cid],
            f"联系人{cid[-2:]}",
            f"1380000{cid[-4:]}",
            "JH" + cid[2:],
            reason,
        )

    due = "今天应联系"
    assert today_list(path) == [
        row(1, "A", "KH011", "逾期 2 天未联系: 今天联系"),
        row(2, "A", "KH012", due),
        row(3, "B", "KH014", "逾期 5 天未联系: 今天联系"),
        row(4, "B", "KH013", due),
        row(5, "C", "KH015", due),
        row(6, "D", "KH017", "逾期 6 天未联系: 今天联系"),
        row(7, "D", "KH016", due),
        row(8, "D", "KH017", "在 D 停留 20 天 (计划 14 天): 核实需求, 约到有影响力的人"),
        ("李四", 1, "C", "KH002", "乙公司", "", "", "JH002", "逾期 2 天未联系: 今天联系"),
    ]


def test_important_days_of_won_customers_within_the_lookahead(tmp_path: Path) -> None:
    """Birthdays 7 days ahead are in the reminders and the Today list; 8 days ahead are not;
    a customer without a won opportunity gets no greeting."""
    pool = [
        customer("KH001", "甲公司", "华东", "张三", contact="赵总", contact_birthday="3月9日"),
        customer("KH003", "丙公司", "华东", "张三", contact="钱总", contact_birthday="3月10日"),
        customer("KH005", "戊公司", "华东", "张三", contact="孙总", contact_birthday="3月3日"),
        customer("KH006", "己公司", "华东", "张三", anniversary=dt.date(2001, 3, 4)),
    ]
    won = [
        opp(f"JH00{k}", customer_id=cid, stage="成交", **EVIDENCE_WON)
        for k, cid in enumerate(("KH001", "KH003", "KH006"), 1)
    ]
    open_opp = opp("JH009", customer_id="KH005", stage="D")
    path = ledger(tmp_path, pool=pool, opportunities=[*won, open_opp])
    _, payload = sync_json(path, iso(0))
    assert payload["summary"]["important_days"] == 2
    reminders = {
        k: cells(path, "pool", k, "reminder")[0] for k in ("KH001", "KH003", "KH005", "KH006")
    }
    assert reminders == {
        "KH001": "03-09 赵总生日: 发短信或致电问候",
        "KH003": None,  # 8 days ahead
        "KH005": None,  # not a won customer
        "KH006": "03-04 厂庆日: 发短信或致电问候",
    }
    assert sorted((r[0], r[2], r[3], r[8]) for r in today_list(path)) == [
        ("张三", "成交", "KH001", "03-09 赵总生日: 发短信或致电问候"),
        ("张三", "成交", "KH006", "03-04 厂庆日: 发短信或致电问候"),
    ]
    sync(path, 1)  # a day later 3月10日 is 7 days ahead
    assert cells(path, "pool", "KH003", "reminder") == ("03-10 钱总生日: 发短信或致电问候",)


# ---------------------------------------------------------------------- the command itself


def edited_ledger(tmp_path: Path) -> Path:
    """Synced once on day 0, then a claim and a stage move typed."""
    path = ledger(tmp_path, pool=POOL4, opportunities=[opp("JH001", **EVIDENCE_C)])
    sync(path, 0)
    set_fields(path, "pool", "KH003", owner="张三")
    set_fields(path, "opportunities", "JH001", stage="C")
    return path


def test_dry_run_writes_nothing_and_lists_the_changes(tmp_path: Path) -> None:
    path = edited_ledger(tmp_path)
    before, mtime = sha256(path), os.stat(path).st_mtime_ns
    code, stdout, _ = sync_cli(path, iso(1), "--dry-run")
    assert (code, sha256(path), os.stat(path).st_mtime_ns) == (0, before, mtime)
    assert "(演练: 未写入)" in stdout
    assert f"公共资源库!L4: None → datetime.date{day(1).timetuple()[:3]}" in stdout
    assert "销售机会!R2: 'D' → 'C'" in stdout
    code, payload = sync_json(path, iso(1), "--dry-run")
    assert (code, payload["dry_run"], payload["summary"]["written"]) == (0, True, False)
    changes = {
        (c["sheet"], c["row"], c["column"]): (c["old"], c["new"]) for c in payload["changes"]
    }
    assert changes[(POOL_S, 4, 12)] == (None, iso(1))
    assert changes[(OPPS_S, 2, 18)] == ("D", "C")
    assert sha256(path) == before
    sync(path, 1)  # the real sync writes what the dry run listed
    assert cells(path, "pool", "KH003", "claimed_on") == (day(1),)
    assert cells(path, "opportunities", "JH001", "confirmed_stage") == ("C",)


def test_json_output(tmp_path: Path) -> None:
    path = edited_ledger(tmp_path)
    set_fields(path, "pool", "KH004", owner="张三")
    code, payload = sync_json(path, iso(1))
    assert (code, sorted(payload)) == (1, ["dry_run", "problems", "summary"])
    assert payload["dry_run"] is False
    summary = payload["summary"]
    assert {k: summary[k] for k in ("claims", "claims_rejected", "moves_accepted", "errors")} == {
        "claims": 1,
        "claims_rejected": 1,
        "moves_accepted": 1,
        "errors": 1,
    }
    assert summary["written"] is True and summary["cells_changed"] > 0
    assert flat(payload["problems"], "sheet", "row", "column", "code", "severity") == [
        (POOL_S, 5, "J", "claim-outside-region", "error")
    ]


def test_a_second_sync_on_the_same_date_writes_nothing(tmp_path: Path) -> None:
    path = edited_ledger(tmp_path)
    set_fields(path, "pool", "KH004", owner="张三")  # a rejection too
    set_fields(path, "pool", "KH002", owner=None)  # and a release
    sync(path, 1)
    before, mtime = sha256(path), os.stat(path).st_mtime_ns
    code, stdout, _ = sync_cli(path, iso(1))
    assert (code, sha256(path), os.stat(path).st_mtime_ns) == (1, before, mtime)
    assert "写入的单元格: 0" in stdout and "无变化, 未写入" in stdout


def test_exit_codes(tmp_path: Path) -> None:
    clean = ledger(tmp_path, "clean.xlsx", opportunities=[opp("JH001")])
    assert sync_cli(clean, iso(0))[0] == 0
    broken = ledger(tmp_path, "broken.xlsx", opportunities=[opp("JH001", customer_id="KH999")])
    code, stdout, _ = sync_cli(broken, iso(0))
    assert code == 1
    assert "销售机会!B2: 错误: 客户编号 KH999 不在「公共资源库」中" in stdout
    assert cells(broken, "opportunities", "JH001", "check")[0].startswith("✗ 客户编号 KH999")
    assert sync_cli(clean, "2026-13-01")[0] == 2
    (tmp_path / "notes.xlsx").write_text("not a workbook", encoding="utf-8")
    code, _, stderr = sync_cli(tmp_path / "notes.xlsx", iso(0))
    assert (code, "不是 Excel 工作簿" in stderr) == (2, True)


def test_a_missing_workbook_is_exit_2(tmp_path: Path) -> None:
    code, _, stderr = sync_cli(tmp_path / "missing.xlsx", iso(0))
    assert (code, "找不到文件" in stderr) == (2, True)


def test_workbook_open_in_excel_is_not_written(tmp_path: Path) -> None:
    path = edited_ledger(tmp_path)
    shutil.copy(CORPUS / "~$fibonacci.xlsx", tmp_path / "~$book.xlsx")
    before, mtime = sha256(path), os.stat(path).st_mtime_ns
    code, _, stderr = sync_cli(path, iso(1))
    assert code == 2
    assert "Andreas Lind" in stderr
    assert (sha256(path), os.stat(path).st_mtime_ns) == (before, mtime)
    assert "Traceback" not in stderr


# ------------------------------------------------------------------- a week on the demo team

W0 = dt.date(2026, 11, 30)
INPUT_SHEETS = (POOL, OPPORTUNITIES, ACTIVITIES, REPS)


def snapshot(path: Path) -> dict[str, Any]:
    """One read of the workbook (python-calamine: fast, and a second reader besides
    openpyxl): every user-owned cell of the input sheets by (sheet, row, field), the pool's
    customer ID per row, and the log rows."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    user: dict[tuple[str, int, str], Any] = {}
    ids: dict[int, Any] = {}
    for spec in INPUT_SHEETS:
        rows = book.get_sheet_by_name(spec.zh).to_python(skip_empty_area=False)
        fields = {c.zh: c for c in spec.columns}
        for k, name in enumerate(rows[0]):
            col = fields.get(name)
            if col is None or col.is_engine:
                continue
            for r, values in enumerate(rows[1:], 2):
                if k < len(values) and values[k] not in (None, ""):
                    user[(spec.key, r, col.field)] = values[k]
                    if spec is POOL and col.field == "customer_id":
                        ids[r] = values[k]
    logs = {
        key: [tuple(r) for r in book.get_sheet_by_name(title).to_python()[1:] if any(r)]
        for key, title in (("pool_log", "资源库日志"), ("stage_log", "阶段日志"))
    }
    return {"user": user, "ids": ids, **logs}


def new_rows(before: dict[str, Any], after: dict[str, Any], key: str) -> list[tuple[Any, ...]]:
    """The log rows a sync appended; the rows it found are kept as they were."""
    old = before[key]
    assert after[key][: len(old)] == old
    return after[key][len(old) :]


def test_a_week_on_the_demo_team(tmp_path: Path) -> None:
    """The demo team synced nightly for a week while its reps type in Excel: claims, moves,
    a release, a transfer, a loss, calls every day. Each night logs exactly the edits (plus
    the engine's own recycling), changes no user cell but recycled owners, re-syncs to the
    same bytes, and leaves a file openpyxl and python-calamine read."""
    path = tmp_path / "demo.xlsx"
    code, _, stderr = run_cli("demo", str(path), "--seed", "7", "--today", W0.isoformat())
    assert code == 0, stderr
    rep, other, region = "吴艳", "秦娟", "西南"  # 吴艳 covers 西南 only; 秦娟 covers 华北
    taken: set[str] = set()

    def pick(rows: list[dict[str, Any]], key: str, **match: Any) -> str:
        for r in rows:
            if r[key] not in taken and all(r[f] == v for f, v in match.items()):
                taken.add(r[key])
                return str(r[key])
        raise AssertionError(f"no row with {match}")

    week_log: list[tuple[str, str, str]] = []
    skipped = ""  # the opportunity moved D → A without evidence on day 2
    for n in range(7):
        today = W0 + dt.timedelta(days=n)
        t = read_tables(path, "pool", "opportunities", "pool_log")
        logged = {r["customer_id"] for r in t["pool_log"]}
        free = [r for r in t["pool"] if r["owner"] is None and r["customer_id"] not in logged]
        clean = [
            r for r in t["opportunities"] if not r["check"] and r["stage"] == r["confirmed_stage"]
        ]
        mine = [r for r in t["pool"] if r["owner"] == rep and not r["check"]]
        # the day's edits (sheet, row ID, values) and the log rows they must produce
        edits: list[tuple[str, str, dict[str, Any]]] = []
        expect_pool: list[tuple[str, str, str]] = []
        expect_stage: list[tuple[str, str, str, str]] = []
        if n == 1:  # a claim and a move with its evidence
            cid = pick(free, "customer_id", region=region)
            edits.append(("pool", cid, {"owner": rep}))
            expect_pool.append((cid, "领取", rep))
            oid = pick(clean, "opportunity_id", owner=rep, stage="C")
            edits.append(("opportunities", oid, {"stage": "B", "quoted": YES}))
            expect_stage.append((oid, "C", "B", "接收"))
        elif n == 2:  # a skip without evidence; a claim outside the rep's region
            oid = pick(clean, "opportunity_id", owner=rep, stage="D", influencer_contacted=None)
            edits.append(("opportunities", oid, {"stage": "A"}))
            expect_stage.append((oid, "D", "A", "拒绝"))
            skipped = oid
            cid = pick(free, "customer_id", region="华东")
            edits.append(("pool", cid, {"owner": rep}))
            expect_pool.append((cid, "领取被拒", rep))
        elif n == 3:  # a release; the rejected move typed back (nothing to log)
            cid = pick(mine, "customer_id")
            edits.append(("pool", cid, {"owner": None}))
            expect_pool.append((cid, "释放", rep))
            edits.append(("opportunities", skipped, {"stage": "D"}))
        elif n == 4:  # a transfer
            cid = pick(mine, "customer_id")
            edits.append(("pool", cid, {"owner": other}))
            expect_pool.append((cid, "转移", other))
        elif n == 5:  # lost, with the reason
            oid = pick(clean, "opportunity_id", owner=rep, stage="B")
            edits.append(("opportunities", oid, {"stage": "丢单", "lost_reason": "预算取消"}))
            expect_stage.append((oid, "B", "丢单", "接收"))
        calls = [
            {
                "date": today,
                "rep": rep,
                "customer_id": r["customer_id"],
                "kind": "电话",
                "hours": 0.5,
                "notes": f"第 {n} 天回访",
            }
            for r in mine[-2:]
        ]

        def type_in(wb: Any, edits: Any = edits, calls: Any = calls) -> None:
            for spec_key, key, values in edits:
                set_fields_in(wb, spec_key, key, **values)
            append_rows_in(wb, "activities", *calls)

        if n:
            edit_ledger(path, type_in)
        before = snapshot(path)
        code = sync_cli(path, today.isoformat())[0]
        assert code == 1  # the demo's planted mistakes stay until someone fixes them
        after = snapshot(path)
        pool_rows = new_rows(before, after, "pool_log")
        stage_rows = new_rows(before, after, "stage_log")
        assert {_date(r[0]) for r in pool_rows + stage_rows} <= {today}
        recycled = {r[1] for r in pool_rows if r[2] == "自动回收"}
        assert [r[1:4] for r in pool_rows if r[2] != "自动回收"] == expect_pool
        if n:  # day 0 also logs the demo's planted skip (D → B) the first time it is seen
            assert [r[1:5] for r in stage_rows] == expect_stage
        week_log += [r[1:4] for r in pool_rows]
        # no user cell changed, but the owners of the customers the engine recycled (logged)
        changed = {k for k in before["user"].keys() | after["user"].keys()
                   if before["user"].get(k) != after["user"].get(k)}  # fmt: skip
        assert {(k[0], k[2]) for k in changed} <= {("pool", "owner")}
        assert {after["ids"][k[1]] for k in changed} == recycled
        # the same day again writes nothing (day 4: a transfer's flag is cleared by a
        # second sync; see test_a_transfer_stays_flagged_on_a_second_sync_the_same_day)
        digest = sha256(path)
        assert sync_cli(path, today.isoformat())[0] == code
        if n != 4:
            assert sha256(path) == digest
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        assert all(book.get_sheet_by_name(s).to_python() for s in book.sheet_names)
    assert [a for _, a, _ in week_log if a != "自动回收"] == ["领取", "领取被拒", "释放", "转移"]
    openpyxl.load_workbook(path).close()


def test_a_transfer_stays_flagged_on_a_second_sync_the_same_day(tmp_path: Path) -> None:
    path = ledger(tmp_path, pool=POOL4)
    sync(path, 0)
    set_fields(path, "pool", "KH002", owner="王经理")
    sync(path, 1)
    flagged = cells(path, "pool", "KH002", "check")
    before = sha256(path)
    sync(path, 1)
    assert (sha256(path), cells(path, "pool", "KH002", "check")) == (before, flagged)


def test_today_orders_important_days_by_how_soon_they_come() -> None:
    from funnel_sync.model import Customer, Source, Stage
    from funnel_sync.rules import TodayItem

    def item(cid: str, ahead: int) -> TodayItem:
        c = Customer(Source("公共资源库", 2), cid, "甲", "华东", "张三")
        return TodayItem("张三", Stage.WON, "important-day", 0, c, None, "问候", ahead)

    birthday, anniversary = item("KH001", 7), item("KH002", 2)
    assert sorted([birthday, anniversary], key=TodayItem.sort_key) == [anniversary, birthday]
