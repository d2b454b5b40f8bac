"""Validations over the parsed book: one list of functions `(book, ctx) -> problems`, each
declaring the sheets it reads, and run as soon as those have arrived (Validating)."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from funnel_sync.config import Config
from funnel_sync.model import Activity, Customer, Opportunity, Stage
from funnel_sync.parse import normalize_key
from funnel_sync.problems import Problem, make, sort_key
from funnel_sync.read import Book, SheetLayout
from funnel_sync.schema import ACTIVITIES, INPUT_SHEETS, OPPORTUNITIES, POOL, REPS, Sheet
from funnel_sync.texts import text


@dataclass(frozen=True)
class Context:
    cfg: Config
    today: dt.date

    @property
    def lang(self) -> str:
        return self.cfg.lang


class _Located:
    """Builds problems located by the book's layouts (sheet name, column letter per field)."""

    def __init__(self, book: Book, ctx: Context) -> None:
        self.book, self.ctx = book, ctx

    def at(self, spec: Sheet, row: int, field: str | None, code: str, **params: Any) -> Problem:
        layout: SheetLayout | None = self.book.layouts.get(spec.key)
        sheet = layout.name if layout else self.ctx.cfg.sheet_title(spec)
        column = layout.letter(field) if layout and field else None
        return make(
            code, lang=self.ctx.lang, sheet=sheet, row=row, column=column, field=field, **params
        )

    def title(self, spec: Sheet) -> str:
        layout = self.book.layouts.get(spec.key)
        return layout.name if layout else self.ctx.cfg.sheet_title(spec)


Check = Callable[[Book, Context], Iterable[Problem]]


@dataclass(frozen=True)
class Validation:
    """A check and the sheets it reads: it runs as soon as those have arrived (and their names
    and IDs have been canonicalised), whatever else is still loading."""

    needs: frozenset[str]  # sheet keys
    check: Check

    def __call__(self, book: Book, ctx: Context) -> Iterable[Problem]:
        return self.check(book, ctx)


def needs(*sheets: Sheet) -> Callable[[Check], Validation]:
    """`@needs(POOL, OPPORTUNITIES)` over a check: the sheets it reads (no others need to have
    arrived: the book it is given may lack them)."""

    def declare(check: Check) -> Validation:
        return Validation(frozenset(spec.key for spec in sheets), check)

    return declare


@needs(POOL, OPPORTUNITIES, REPS)
def unique_ids(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    for spec, rows in (
        (POOL, book.customers),
        (OPPORTUNITIES, book.opportunities),
        (REPS, book.reps),
    ):
        field = spec.id_field
        assert field is not None
        first: dict[str, int] = {}
        for item in rows:
            key = getattr(item, field)
            if not key:
                continue
            norm = normalize_key(key)
            if norm in first:
                yield loc.at(
                    spec, item.source.row, field, "id-duplicate", value=key, first=first[norm]
                )
            else:
                first[norm] = item.source.row


@needs(POOL, OPPORTUNITIES)
def references(book: Book, ctx: Context) -> Iterator[Problem]:
    """Opportunities point at customers that exist."""
    if POOL.key in book.layouts:
        yield from _unknown_customers(book, ctx, OPPORTUNITIES, book.opportunities)


@needs(POOL, OPPORTUNITIES, ACTIVITIES)
def activity_references(book: Book, ctx: Context) -> Iterator[Problem]:
    """Activities point at customers and opportunities that exist, and agree with them.

    Each distinct reference is judged once and only the rows holding a wrong one are visited
    (400k activities at 100k opportunities, nearly all of them right)."""
    acts = book.activities
    if POOL.key in book.layouts:
        yield from _unknown_customers(book, ctx, ACTIVITIES, acts)
    if OPPORTUNITIES.key not in book.layouts:
        return
    loc = _Located(book, ctx)
    ops = book.opportunities
    # a duplicate ID: the first row counts
    opportunities = dict(zip(map(_OPPORTUNITY_ID, reversed(ops)), reversed(ops), strict=True))
    opps = loc.title(OPPORTUNITIES)
    oids = list(map(_OPPORTUNITY_ID, acts))
    cids = list(map(_CUSTOMER_ID, acts))
    rows = set(_indexes(oids, {x for x in set(oids) if x and x not in opportunities}))
    # each activity's customer as its opportunity has it; its own where there is none
    theirs = {k: o.customer_id for k, o in opportunities.items() if k and o.customer_id}
    differ = map(operator.ne, map(theirs.get, oids, cids), cids)
    rows.update(i for i in itertools.compress(itertools.count(), differ) if cids[i])
    for i in sorted(rows):
        a = acts[i]
        opp = opportunities.get(a.opportunity_id or "")
        if opp is None:
            yield loc.at(
                ACTIVITIES,
                a.source.row,
                "opportunity_id",
                "opportunity-unknown",
                value=a.opportunity_id,
                opportunities=opps,
            )
        else:
            yield loc.at(
                ACTIVITIES,
                a.source.row,
                "customer_id",
                "opportunity-customer-mismatch",
                value=a.opportunity_id,
                expected=opp.customer_id,
                actual=a.customer_id,
            )


def _unknown_customers(
    book: Book, ctx: Context, spec: Sheet, items: Sequence[Opportunity] | Sequence[Activity]
) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    customers = frozenset(map(_CUSTOMER_ID, book.customers))
    pool = loc.title(POOL)
    ids = list(map(_CUSTOMER_ID, items))
    for i in _indexes(ids, {c for c in set(ids) if c and c not in customers}):
        row = items[i].source.row
        yield loc.at(spec, row, "customer_id", "customer-unknown", value=ids[i], pool=pool)


_CUSTOMER_ID = attrgetter("customer_id")
_OPPORTUNITY_ID = attrgetter("opportunity_id")


def _indexes(values: Iterable[object], wanted: AbstractSet[Any]) -> list[int]:
    """The positions of the values in `wanted`, in order: found by C loops, for columns where
    a few rows in 100k need a look."""
    if not wanted:
        return []
    return list(itertools.compress(itertools.count(), map(wanted.__contains__, values)))


@needs(POOL, OPPORTUNITIES, REPS)
def known_reps(book: Book, ctx: Context) -> Iterator[Problem]:
    """Every owner is on the Reps sheet (names were canonicalised on read)."""
    names = {r.name for r in book.reps}
    yield from _strangers(
        book,
        ctx,
        [(POOL, c.source.row, "owner", c.owner) for c in book.customers if c.owner not in names]
        + [
            (OPPORTUNITIES, o.source.row, "owner", o.owner)
            for o in book.opportunities
            if o.owner not in names
        ],
    )


@needs(ACTIVITIES, REPS)
def activity_reps(book: Book, ctx: Context) -> Iterator[Problem]:
    """Every activity's rep is on the Reps sheet."""
    names = {r.name for r in book.reps}
    acts = book.activities
    reps = list(map(attrgetter("rep"), acts))
    strangers = _indexes(reps, {r for r in set(reps) if r not in names})
    rows = [(ACTIVITIES, acts[i].source.row, "rep", reps[i]) for i in strangers]
    yield from _strangers(book, ctx, rows)


def _strangers(
    book: Book, ctx: Context, rows: list[tuple[Sheet, int, str, str | None]]
) -> Iterator[Problem]:
    """rep-unknown for each of these rows naming someone not on the Reps sheet."""
    if REPS.key not in book.layouts:
        return
    loc = _Located(book, ctx)
    names = {r.name for r in book.reps}
    reps_title = loc.title(REPS)
    for spec, row, field, name in rows:
        if name and name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.5)
            hint = ""
            if close:
                hint = text("hint.rep_like", ctx.lang, name=close[0])
            yield loc.at(spec, row, field, "rep-unknown", value=name, reps=reps_title, hint=hint)


@needs(OPPORTUNITIES)
def amounts(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    header = ctx.cfg.header(OPPORTUNITIES, "amount")
    for o in book.opportunities:
        if o.amount == 0 and o.stage not in (Stage.LOST, None):
            yield loc.at(OPPORTUNITIES, o.source.row, "amount", "amount-zero", header=header)


@needs(OPPORTUNITIES)
def dates(book: Book, ctx: Context) -> Iterator[Problem]:
    """Plausible dates: nothing years ahead by a typo."""
    loc = _Located(book, ctx)
    limit = (
        ctx.today.replace(year=ctx.today.year + ctx.cfg.reminders.far_future_years)
        if not (ctx.today.month == 2 and ctx.today.day == 29)
        else dt.date(ctx.today.year + ctx.cfg.reminders.far_future_years, 2, 28)
    )
    for o in book.opportunities:
        for field in ("expected_close", "planned_advance"):
            value = getattr(o, field)
            if value is not None and value > limit:
                yield loc.at(
                    OPPORTUNITIES,
                    o.source.row,
                    field,
                    "date-far-future",
                    header=ctx.cfg.header(OPPORTUNITIES, field),
                    value=value.isoformat(),
                )


@needs(ACTIVITIES)
def activity_dates(book: Book, ctx: Context) -> Iterator[Problem]:
    """Activities are not in the future."""
    loc = _Located(book, ctx)
    header = ctx.cfg.header(ACTIVITIES, "date")
    for a in book.activities:
        if a.date is not None and a.date > ctx.today:
            yield loc.at(
                ACTIVITIES,
                a.source.row,
                "date",
                "date-future",
                header=header,
                value=a.date.isoformat(),
            )


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@needs(REPS)
def emails(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    for r in book.reps:
        if r.email and not _EMAIL.match(r.email):
            yield loc.at(REPS, r.source.row, "email", "email-invalid", value=r.email)


@needs(OPPORTUNITIES)
def stage_moves(book: Book, ctx: Context) -> Iterator[Problem]:
    """Each opportunity's class against its last confirmed class and its evidence."""
    loc = _Located(book, ctx)
    for o in book.opportunities:
        verdict = judge_move(o, ctx.cfg)
        if verdict is not None:
            code, params = verdict
            yield loc.at(OPPORTUNITIES, o.source.row, _move_field(code), code, **params)


def _move_field(code: str) -> str:
    return "lost_reason" if code == "lost-without-reason" else "stage"


def missing_evidence(o: Opportunity, stage: Stage, cfg: Config) -> list[str]:
    """Evidence fields required to enter `stage` that the opportunity lacks."""
    missing = []
    for f in cfg.evidence_for(stage):
        present = bool(o.owner) if f == "owner" else getattr(o.evidence, f)
        if not present:
            missing.append(f)
    return missing


def judge_move(o: Opportunity, cfg: Config) -> tuple[str, dict[str, object]] | None:
    """None when the typed class is acceptable; else (problem code, message parameters).

    Shared by `check` (report) and `sync` (enforce). An error blocks the move (the opportunity
    keeps counting at its confirmed class). A class that is accepted but stands without all its
    evidence (adopted as found, moved back, or evidence unticked since) is the warning
    `stage-unverified`, the same on every sync until the evidence is filled in."""
    to, frm = o.stage, o.confirmed_stage
    if to is None:
        return None
    if frm is Stage.WON and to is not Stage.WON:
        # 成交 is final: only back to A, with a note saying why
        if to is Stage.A and o.notes:
            return _unverified(o, to, cfg)
        return "won-is-final", {"to": to.code}
    if to is Stage.LOST:
        if not o.lost_reason:  # also for a 丢单 adopted or confirmed before: always needs one
            return "lost-without-reason", {"header": cfg.header(OPPORTUNITIES, "lost_reason")}
        return None
    if frm is None or to <= frm:
        return _unverified(o, to, cfg)  # adopted, unchanged, or moved back
    # forwards; a lost opportunity reopened needs the evidence of every class up to `to`
    steps = _steps(max(frm, Stage.LOST), to)
    lacking = [f for s in steps for f in missing_evidence(o, s, cfg)]
    if not lacking:
        return _unverified(o, to, cfg)
    params: dict[str, object] = {"frm": frm.code, "to": to.code, "missing": _fields(lacking, cfg)}
    if len(steps) > 1 and frm is not Stage.LOST:
        skipped = [s for s in steps[:-1] if missing_evidence(o, s, cfg)] or steps[:-1]
        params["skipped"] = "、".join(s.code for s in skipped)
        return "stage-skip", params
    return "stage-evidence-missing", params


@functools.cache
def _steps(after: Stage, to: Stage) -> tuple[Stage, ...]:
    """The classes a move from `after` to `to` enters, in order (looked up per opportunity)."""
    return tuple(s for s in Stage if after < s <= to and s is not Stage.LOST)


def _unverified(o: Opportunity, to: Stage, cfg: Config) -> tuple[str, dict[str, object]] | None:
    lacking = [f for s in _steps(Stage.LOST, to) for f in missing_evidence(o, s, cfg)]
    if lacking:
        return "stage-unverified", {"to": to.code, "missing": _fields(lacking, cfg)}
    return None


def _fields(fields: list[str], cfg: Config) -> str:
    names = [cfg.header(OPPORTUNITIES, f) for f in dict.fromkeys(fields)]
    return text("list.separator", cfg.lang).join(names)


#: Every validation, in the order their problems are listed (however they were timed).
VALIDATIONS: list[Validation] = [
    unique_ids,
    references,
    known_reps,
    amounts,
    dates,
    emails,
    stage_moves,
    activity_references,
    activity_reps,
    activity_dates,
]


class _Canon:
    """Names and IDs as the team means them, once, for every rule after this.

    An owner typed with stray spaces or full-width letters is read as the rep's name (with a
    warning: Excel's own filters would still see two people); a reference typed full-width or
    in lower case (ＫＨ００１, kh001) is read as the ID it matches. Built from the customers,
    opportunities and reps (NEEDS); then mends the rows of each sheet in _MENDED, the
    activities when they have arrived too."""

    NEEDS: ClassVar[frozenset[str]] = frozenset({POOL.key, OPPORTUNITIES.key, REPS.key})

    def __init__(self, book: Book, ctx: Context) -> None:
        self.ctx = ctx
        self.reps_by_key = {normalize_key(r.name): r.name for r in book.reps if r.name}
        self.rep_names = frozenset(self.reps_by_key.values())
        ids = list(map(_CUSTOMER_ID, book.customers))
        self.customer_ids = dict(zip(map(normalize_key, ids), ids, strict=True))  # last counts
        ids = list(map(_OPPORTUNITY_ID, reversed(book.opportunities)))
        self.opportunity_ids = dict(zip(map(normalize_key, ids), ids, strict=True))  # first
        self.customer_set = frozenset(self.customer_ids.values())
        self.opportunity_set = frozenset(self.opportunity_ids.values())

    def mend(self, book: Book, key: str) -> tuple[Book, list[Problem]]:
        """The book with the rows of the sheet `key` (a key of _MENDED) canonicalised, and
        what was said doing it."""
        spec, attr, name, refs = _MENDED[key]
        known = {
            "customer_id": (self.customer_ids, self.customer_set),
            "opportunity_id": (self.opportunity_ids, self.opportunity_set),
        }
        rows = _Rows(self, book)
        changes: dict[str, Any] = {
            attr: rows.mend(spec, getattr(book, attr), name, {f: known[f] for f in refs})
        }
        return replace(book, **changes), rows.problems

    @staticmethod
    def ref(ids: dict[str, str], known: frozenset[str], value: str | None) -> str | None:
        if not value or value in known:
            return value
        return ids.get(normalize_key(value), value)


class _Rows:
    """Canonicalising the rows of one book: where the problems are located, and said."""

    def __init__(self, canon: _Canon, book: Book) -> None:
        self.canon, self.book = canon, book
        self.loc = _Located(book, canon.ctx)
        self.untrimmed = {(key, row, field): raw for key, row, field, raw in book.untrimmed}
        self.problems: list[Problem] = []

    def rep(self, spec: Sheet, row: int, field: str, name: str | None) -> str | None:
        raw = self.untrimmed.get((spec.key, row, field))
        if not name or (name in self.canon.rep_names and raw is None):
            return name
        canonical = self.canon.reps_by_key.get(normalize_key(name))
        if canonical is None:
            return name
        self.problems.append(
            self.loc.at(spec, row, field, "rep-name-variant", value=raw or name, name=canonical)
        )
        return canonical

    def mend(
        self,
        spec: Sheet,
        items: Sequence[_Item],
        name: str,
        refs: dict[str, tuple[dict[str, str], frozenset[str]]],
    ) -> tuple[_Item, ...]:
        """The rows with the rep's name in field `name` and the IDs in `refs` (field → the
        IDs by normalised form, and as typed) as the team means them: only the rows with
        something to mend are visited (400k activities at 100k opportunities)."""
        mended = list(items)
        mend = self.odd(spec, mended, name)
        for field, (_, known) in refs.items():
            mend.update(self.unknown(mended, field, known))
        for i in sorted(mend):
            row = mended[i]
            fields: dict[str, Any] = {
                name: self.rep(spec, row.source.row, name, getattr(row, name))
            }
            for field, (ids, known) in refs.items():
                fields[field] = _Canon.ref(ids, known, getattr(row, field))
            mended[i] = row._replace(**fields)
        return tuple(mended)

    def odd(self, spec: Sheet, items: Sequence[Any], field: str) -> set[int]:
        """The rows whose name is not a rep's as typed, or was typed with spaces around."""
        names = list(map(attrgetter(field), items))
        rep_names = self.canon.rep_names
        odd = _indexes(names, {n for n in set(names) if n and n not in rep_names})
        spaced = {row for key, row, _, _ in self.book.untrimmed if key == spec.key}
        rows = _indexes(map(_ROW, items), spaced)
        return {*odd, *(i for i in rows if names[i])}

    @staticmethod
    def unknown(items: Sequence[Any], field: str, known: frozenset[str]) -> list[int]:
        values = list(map(attrgetter(field), items))
        return _indexes(values, {v for v in set(values) if v and v not in known})


_ROW = attrgetter("source.row")
_Item = TypeVar("_Item", Customer, Opportunity, Activity)
#: The sheets whose rows are canonicalised, in that order: per sheet key, the sheet, the Book's
#: field of its rows, the field naming a rep, and the fields referring to customers or
#: opportunities.
_MENDED: dict[str, tuple[Sheet, str, str, tuple[str, ...]]] = {
    POOL.key: (POOL, "customers", "owner", ()),
    OPPORTUNITIES.key: (OPPORTUNITIES, "opportunities", "owner", ("customer_id",)),
    ACTIVITIES.key: (ACTIVITIES, "activities", "rep", ("customer_id", "opportunity_id")),
}


class Validating:
    """The validations of one book, each run as soon as the sheets it needs have arrived and
    been canonicalised: handed to read.Reading.ledger, which calls `arrived` as each sheet
    loads, the sync checks every other sheet while the activities load, and those while the
    logs load. The canon is built once the customers, opportunities and reps are there, and
    mends each sheet's rows as it arrives after that."""

    def __init__(
        self, cfg: Config, today: dt.date, validations: Sequence[Validation] = VALIDATIONS
    ) -> None:
        self.ctx = Context(cfg, today)
        self.validations = tuple(validations)
        self.found: dict[int, list[Problem]] = {}  # by index in validations, once run
        self.canon: _Canon | None = None
        self.canonical: set[str] = set()  # the sheets arrived and mended
        self.mended: list[Problem] = []  # what canonicalising said

    def arrived(self, book: Book, sheets: frozenset[str]) -> Book:
        """`book` holds the sheets of `sheets` (their rows as read); returns it canonicalised,
        having run every validation whose sheets are all there now."""
        book = self._canonicalise(book, sheets)
        for index, validation in enumerate(self.validations):
            if index not in self.found and validation.needs <= self.canonical:
                self.found[index] = list(validation(book, self.ctx))
        return book

    @property
    def problems(self) -> list[Problem]:
        """What canonicalising said, then each validation's problems in the list's order."""
        waiting = [v.check.__name__ for i, v in enumerate(self.validations) if i not in self.found]
        assert not waiting, f"never ran, their sheets never arrived: {waiting}"
        found = (self.found[i] for i in range(len(self.validations)))
        return [*self.mended, *itertools.chain.from_iterable(found)]

    def _canonicalise(self, book: Book, sheets: frozenset[str]) -> Book:
        self.canonical.update(sheets - _MENDED.keys())  # nothing in them to mend
        if self.canon is None and sheets >= _Canon.NEEDS:
            self.canon = _Canon(book, self.ctx)
        if self.canon is not None:
            for key in _MENDED:
                if key in sheets and key not in self.canonical:
                    book, said = self.canon.mend(book, key)
                    self.mended += said
                    self.canonical.add(key)
        return book


#: Every ledger sheet: a book read whole has them all.
LEDGER_SHEETS = frozenset(s.key for s in INPUT_SHEETS)


def validate(book: Book, cfg: Config, today: dt.date) -> tuple[Book, list[Problem]]:
    """Run every validation over a book read whole; returns the canonicalised book and all
    problems, reading's and the validations', sorted."""
    validating = Validating(cfg, today)
    book = validating.arrived(book, LEDGER_SHEETS)
    return book, in_order(book, [*book.problems, *validating.problems])


def in_order(book: Book, problems: Iterable[Problem]) -> list[Problem]:
    """The problems sheet by sheet in the workbook's order, then by row, column and code."""
    order = {name: i for i, name in enumerate(book.sheet_names)}
    return sorted(problems, key=lambda p: (order.get(p.sheet, len(order)), *sort_key(p)))
