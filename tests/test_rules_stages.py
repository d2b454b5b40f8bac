"""stage_moves called directly on a Book of literal rows: adoption, accepted and rejected moves,
what each opportunity counts at, and the StageLog rows (no workbook involved)."""

from __future__ import annotations

import datetime as dt

from helpers import TODAY, book_of, context_of, opp, rendered

from funnel_sync.model import Stage
from funnel_sync.rules.decisions import StageDecisions
from funnel_sync.rules.stages import stage_moves

D0 = dt.date(2026, 11, 2)  # the day of an earlier sync
TODAY_D = dt.date.fromisoformat(TODAY)
LOG = [(dt.datetime(2026, 11, 2), "KH001", "接管", "张三", "", "")]  # synced before
SEEN = [(dt.datetime(2026, 11, 2), "JH000", "", "D", "首次接收", "", "张三")]


def _log(decided: StageDecisions, lang: str = "zh") -> list[tuple[object, ...]]:
    return [
        (e.opportunity_id, e.frm, e.to, e.result, rendered(e.reason, lang)) for e in decided.log
    ]


def test_a_first_sync_adopts_every_class_as_found() -> None:
    book = book_of(opportunities=[opp(), opp(opportunity_id="JH002", stage="B", quoted="是")])
    decided = stage_moves(context_of(book))
    assert decided.confirmed == {"JH001": Stage.D, "JH002": Stage.B}
    assert decided.entered == {"JH001": TODAY_D, "JH002": TODAY_D}
    assert _log(decided) == [
        ("JH001", None, Stage.D, "adopted", "首次同步: 按现状接收"),
        ("JH002", None, Stage.B, "adopted", "首次同步: 按现状接收"),
    ]
    assert dict(decided.counts) == {"adopted": 2}


def test_a_new_opportunity_after_the_first_sync_is_adopted_as_typed() -> None:
    book = book_of(opportunities=[opp(stage="C", influencer_contacted="是", need_confirmed="是")])
    decided = stage_moves(context_of(book, stage_log=SEEN))
    assert _log(decided, "zh") == [("JH001", None, Stage.C, "adopted", "新机会: 按填写的分类接收")]


def test_a_move_with_its_evidence_is_accepted_and_enters_today() -> None:
    moved = opp(
        stage="C",
        influencer_contacted="是",
        need_confirmed="是",
        confirmed_stage="D",
        stage_entered_on=D0,
    )
    decided = stage_moves(context_of(book_of(opportunities=[moved]), stage_log=SEEN))
    assert (decided.confirmed, decided.entered) == ({"JH001": Stage.C}, {"JH001": TODAY_D})
    assert _log(decided) == [("JH001", Stage.D, Stage.C, "accepted", "证据齐全")]


def test_a_move_without_evidence_is_rejected_logged_once_and_keeps_its_class() -> None:
    skipping = opp(stage="B", confirmed_stage="D", stage_entered_on=D0)
    book = book_of(opportunities=[skipping])
    decided = stage_moves(context_of(book, stage_log=SEEN))
    assert (decided.confirmed, decided.entered) == ({"JH001": Stage.D}, {"JH001": D0})
    assert [(e.result, e.frm, e.to) for e in decided.log] == [("rejected", Stage.D, Stage.B)]
    assert "跳过了 C" in str(decided.log[0].reason)  # the problem's message, as 校验 shows it
    assert dict(decided.counts) == {"moves_rejected": 1}
    # the next sync finds the rejection in the StageLog: not logged again, still refused
    logged = [*SEEN, (dt.datetime(2026, 11, 30), "JH001", "D", "B", "拒绝", "…", "张三")]
    again = stage_moves(context_of(book, stage_log=logged, today="2026-12-01"))
    assert (again.log, dict(again.counts)) == ([], {"moves_rejected": 1})


def test_moving_back_and_losing_are_accepted_with_their_reason() -> None:
    rows = [
        opp(stage="D", confirmed_stage="B", stage_entered_on=D0),
        opp(opportunity_id="JH002", stage="丢单", lost_reason="预算取消", confirmed_stage="C"),
        opp(opportunity_id="JH003", stage="A", notes="合同重签", confirmed_stage="成交"),
    ]
    decided = stage_moves(context_of(book_of(opportunities=rows), stage_log=SEEN))
    assert _log(decided) == [
        ("JH001", Stage.B, Stage.D, "accepted", "退回 D"),
        ("JH002", Stage.C, Stage.LOST, "accepted", "丢单: 预算取消"),
        ("JH003", Stage.WON, Stage.A, "accepted", "成交退回 A: 合同重签"),
    ]
    assert _log(decided, "en")[0][-1] == "moved back to D"


def test_lost_without_a_reason_on_first_sight_counts_nowhere() -> None:
    book = book_of(opportunities=[opp(stage="丢单")])
    decided = stage_moves(context_of(book))
    assert (decided.confirmed, decided.entered, len(decided.log)) == ({}, {}, 1)
    assert decided.log[0].result == "rejected"


def test_the_customers_with_a_won_opportunity_are_known_once() -> None:
    rows = [
        opp(stage="成交", signed="是", customer_id="KH002", owner="李四"),
        opp(opportunity_id="JH002", stage="A", contract_sent="是"),
    ]
    assert stage_moves(context_of(book_of(opportunities=rows))).won_customers == {"KH002"}


def test_a_duplicate_id_counts_by_its_first_row() -> None:
    rows = [opp(stage="C"), opp(stage="A")]  # both JH001
    decided = stage_moves(context_of(book_of(opportunities=rows)))
    assert decided.confirmed == {"JH001": Stage.C}
