"""The shortcuts a 100k-row ledger is read and validated by, each against the plain reading it
stands for: staged reading (read.reading), parse_column, StageState.from_rows, validations run
as their sheets arrive (checks.Validating)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import POOL_OK, REPS_OK, act, opp, write_ledger
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_sync.checks import (
    LEDGER_SHEETS,
    VALIDATIONS,
    Context,
    Validating,
    in_order,
    needs,
    validate,
)
from funnel_sync.config import Config
from funnel_sync.logs import STAGE_RESULTS, StageState
from funnel_sync.parse import (
    normalize_key,
    parse_amount,
    parse_column,
    parse_date,
    parse_kind,
    parse_stage,
    parse_text,
)
from funnel_sync.problems import Problem
from funnel_sync.read import Book, read_book, reading
from funnel_sync.schema import (
    ACTIVITIES,
    OPPORTUNITIES,
    POOL,
    POOL_LOG,
    REPS,
    SHEETS,
    STAGE_LOG,
    TODAY,
)

TODAY_ = dt.date(2026, 11, 30)

# ---- parse_column: the parser of each value, whichever way it gets there ----

_CELLS = st.one_of(
    st.sampled_from(["KH001", " KH001 ", "kh001", "", "  ", "\u200b", "张三", "电话", "D", "A"]),
    st.text(max_size=6),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, float("nan")]),
    st.booleans(),
    st.none(),
    st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
)
_PARSERS: list[Callable[[object], Any]] = [
    parse_text,
    parse_stage,
    parse_kind,
    parse_amount,
    functools.partial(parse_date, order="mdy", date1904=False),
]


def _same(a: list[Any], b: list[Any]) -> bool:
    """Equal lists, NaN equal to NaN."""
    return len(a) == len(b) and all(
        x == y or (x != x and y != y) for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_CELLS, max_size=40),
    st.sampled_from(range(len(_PARSERS))),
    st.integers(1, 300),
)
def test_parse_column_is_the_parser_of_each_value(
    values: list[Any], which: int, repeat: int
) -> None:
    parser = _PARSERS[which]
    column = values * repeat  # long enough to take the memo and the sampled paths
    assert _same(parse_column(parser, column), [parser(v) for v in column])


@pytest.mark.parametrize("distinct", [1, 12, 333, 5_000, 40_000])
def test_a_text_column_of_any_cardinality_is_stripped(distinct: int) -> None:
    column = tuple(f" ID{k % distinct:06d}\u3000" if k % 7 else "" for k in range(40_000))
    assert parse_column(parse_text, column) == [parse_text(v) for v in column]


# ---- StageState: the last counted row of each opportunity ----


def _stage_state_row_by_row(rows: Sequence[Sequence[Any]]) -> StageState:
    """The StageLog read one row at a time, as the rule is written in SPEC: a row counts when
    it has an opportunity and a result; the last counted row of each opportunity decides."""
    codes = {
        normalize_key(n): code for code, names in STAGE_RESULTS.items() for n in (*names, code)
    }
    state = StageState()
    for row in rows:
        cells = list(row) + [""] * (7 - len(row))
        result = codes.get(normalize_key(parse_text(cells[4]) or ""))
        opp_id = parse_text(cells[1])
        if result is None or not opp_id:
            continue
        state.seen = True
        if result == "rejected":
            state.last_rejected[opp_id] = parse_text(cells[3]) or ""
        else:
            state.last_rejected.pop(opp_id, None)
    return state


_LOG_CELLS = st.one_of(
    st.sampled_from(["拒绝", "接收", "首次接收", "rejected", " Rejected ", "ACCEPTED", "x", ""]),
    st.sampled_from(["JH1", "JH2", " JH1 ", "jh1", "B", "C"]),
    st.integers(0, 2),
    st.sampled_from([1.0, True]),
    st.none(),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_LOG_CELLS, max_size=8), max_size=30))
def test_stage_state_is_the_log_read_row_by_row(rows: list[list[Any]]) -> None:
    expected = _stage_state_row_by_row(rows)
    got = StageState.from_rows(rows)
    assert (got.last_rejected, got.seen) == (expected.last_rejected, expected.seen)


def test_a_move_accepted_after_a_rejection_clears_it() -> None:
    row = ["2026-11-01", "JH1", "C", "B", "拒绝", "", "张三"]
    assert StageState.from_rows([row]).last_rejected == {"JH1": "B"}
    later = ["2026-11-02", "JH1", "C", "B", "接收", "", "张三"]
    assert StageState.from_rows([row, later]).last_rejected == {}
    assert StageState.from_rows([later, row]).last_rejected == {"JH1": "B"}


# ---- staged reading, and the validations run as the sheets arrive ----


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Names and references typed the ways teams type them, in every sheet."""
    return write_ledger(
        tmp_path / "book.xlsx",
        pool=[
            *POOL_OK,
            {"customer_id": "KH004", "name": "丁公司", "region": "华东", "owner": " 张三"},
        ],
        opportunities=[
            opp(),
            opp(opportunity_id="JH002", customer_id="kh002", owner="李四", stage="C"),
            opp(opportunity_id="JH003", customer_id="KH009", owner="赵六"),
        ],
        activities=[
            act(opportunity_id="JH001"),
            act(rep="张三 ", opportunity_id="jh001"),
            act(rep="李四\u3000", customer_id="KH002"),
            act(customer_id="KH002", opportunity_id="JH001"),
            act(opportunity_id="JH404"),
            act(date=dt.date(2027, 1, 1)),
            act(rep="赵六", customer_id="ＫＨ００３"),
        ],
        reps=REPS_OK,
    )


def test_staged_reading_gives_the_book_read_book_gives(ledger: Path) -> None:
    cfg = Config()
    whole = read_book(ledger, cfg, engine_sheets=True)
    waits: list[int] = []
    with reading(ledger, cfg, engine_sheets=True, idle=lambda: waits.append(1)) as sheets:
        book = sheets.ledger()
        logs = sheets.book((STAGE_LOG.key,))
        pool_log = sheets.hand_over(POOL_LOG.key)
        stage_log = sheets.hand_over(STAGE_LOG.key)
        full = sheets.book()
    assert book.activities == whole.activities and book.problems == whole.problems
    assert set(logs.engine_rows) == {STAGE_LOG.key}  # neither the PoolLog nor Today waited for
    assert [pool_log, stage_log] == [whole.engine_rows[k] for k in (POOL_LOG.key, STAGE_LOG.key)]
    assert set(full.engine_rows) == {TODAY.key}  # the logs' rows were handed over
    assert replace(full, engine_rows=whole.engine_rows) == whole
    assert len(waits) <= 1  # the idle hook runs at most once


def test_validations_as_the_sheets_arrive_are_validate(ledger: Path) -> None:
    cfg = Config()
    canonical, plain = validate(read_book(ledger, cfg), cfg, TODAY_)
    with reading(ledger, cfg, engine_sheets=True) as sheets:
        validating = Validating(cfg, TODAY_)
        book = sheets.ledger(validating)
        full = sheets.book()
    assert book == canonical and replace(full, engine_rows={}, layouts=book.layouts) == book
    assert in_order(book, [*book.problems, *validating.problems]) == plain
    codes = {(p.sheet, p.row, p.column, p.code) for p in plain}
    acts = book.layouts[ACTIVITIES.key]
    rep = acts.letter("rep")
    assert (acts.name, 3, rep, "rep-name-variant") in codes  # "张三 " is 张三
    assert (acts.name, 4, rep, "rep-name-variant") in codes  # an ideographic space after it
    assert (acts.name, 6, acts.letter("opportunity_id"), "opportunity-unknown") in codes
    assert (acts.name, 5, acts.letter("customer_id"), "opportunity-customer-mismatch") in codes
    assert (acts.name, 7, acts.letter("date"), "date-future") in codes
    assert (acts.name, 8, rep, "rep-unknown") in codes
    assert canonical.activities[1].opportunity_id == "JH001"
    assert canonical.activities[1].rep == "张三"
    assert canonical.activities[6].customer_id == "KH003"


class _Seen:
    """Validations that note what the book they were given held, and say one problem each."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, frozenset[str], int]] = []

    def make(self, name: str, *sheets: Any) -> Any:
        def check(book: Book, ctx: Context) -> list[Problem]:
            self.seen.append((name, frozenset(book.layouts), len(book.activities)))
            return [Problem(name, None, None, None, "test", "warning", name)]

        check.__name__ = name
        return needs(*sheets)(check)


def test_a_validation_runs_as_soon_as_its_sheets_have_arrived(ledger: Path) -> None:
    cfg = Config()
    log = _Seen()
    validations = [
        log.make("activities", ACTIVITIES),
        log.make("pool", POOL),
        log.make("reps", REPS),
        log.make("opportunities and activities", OPPORTUNITIES, ACTIVITIES),
    ]
    with reading(ledger, cfg, engine_sheets=True) as sheets:
        validating = Validating(cfg, TODAY_, validations)
        sheets.ledger(validating)
    order = [name for name, _, _ in log.seen]
    assert order == ["pool", "reps", "activities", "opportunities and activities"]
    arrived = {name: (sheets, acts) for name, sheets, acts in log.seen}
    early = ({POOL.key, OPPORTUNITIES.key, REPS.key}, 0)  # the activities were still loading
    assert arrived["pool"] == early and arrived["reps"] == early
    assert ACTIVITIES.key in arrived["activities"][0] and arrived["activities"][1] == 7
    # said in the list's order, not in the order they ran
    assert [p.message for p in validating.problems[-4:]] == [v.check.__name__ for v in validations]


def test_the_validations_of_a_book_wait_for_its_sheets(ledger: Path) -> None:
    """Without any xlsx: the sheets handed over by hand, as the reading would."""
    cfg = Config()
    book = read_book(ledger, cfg)
    log = _Seen()
    validations = [
        log.make(n, s) for n, s in (("pool", POOL), ("reps", REPS), ("acts", ACTIVITIES))
    ]
    validating = Validating(cfg, TODAY_, validations)
    reps_only = replace(book, customers=(), opportunities=(), activities=())
    validating.arrived(reps_only, frozenset({REPS.key}))
    assert [name for name, _, _ in log.seen] == ["reps"]  # nothing in it to canonicalise
    early = replace(book, activities=())
    mended = validating.arrived(early, frozenset({POOL.key, OPPORTUNITIES.key, REPS.key}))
    # the pool once the names its owners are canonicalised by are there too
    assert [name for name, _, _ in log.seen] == ["reps", "pool"]
    assert [o.customer_id for o in mended.opportunities][1:] == ["KH002", "KH009"]  # kh002
    assert mended.reps == book.reps
    validating.arrived(book, LEDGER_SHEETS)
    assert [name for name, _, _ in log.seen] == ["reps", "pool", "acts"]
    with pytest.raises(AssertionError, match="never ran"):
        _ = Validating(cfg, TODAY_, [log.make("activities", ACTIVITIES)]).problems


def test_each_validation_reads_only_the_sheets_it_declares(ledger: Path) -> None:
    cfg = Config()
    canonical, _ = validate(read_book(ledger, cfg), cfg, TODAY_)
    ctx = Context(cfg, TODAY_)
    rows = {POOL.key: "customers", OPPORTUNITIES.key: "opportunities"}
    rows |= {ACTIVITIES.key: "activities", REPS.key: "reps"}
    for validation in VALIDATIONS:
        others = [s.key for s in SHEETS if s.key not in validation.needs and s.key in rows]
        alone = replace(
            canonical,
            layouts={k: v for k, v in canonical.layouts.items() if k in validation.needs},
            **{rows[k]: () for k in others},
        )
        assert list(validation(alone, ctx)) == list(validation(canonical, ctx)), validation
    assert any(list(v(canonical, ctx)) for v in VALIDATIONS)  # the ledger has problems to find
