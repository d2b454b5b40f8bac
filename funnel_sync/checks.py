"""Validations over the parsed book: a plain list of functions `(book, ctx) -> problems`."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from funnel_sync.config import Config
from funnel_sync.model import Opportunity, Stage
from funnel_sync.parse import normalize_key
from funnel_sync.problems import Problem, make, sort_key
from funnel_sync.read import Book, SheetLayout
from funnel_sync.schema import ACTIVITIES, OPPORTUNITIES, POOL, REPS, Sheet


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


Validation = Callable[[Book, Context], Iterable[Problem]]


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


def references(book: Book, ctx: Context) -> Iterator[Problem]:
    """Opportunities and activities point at customers, opportunities and reps that exist."""
    loc = _Located(book, ctx)
    customers = {c.customer_id for c in book.customers}
    opportunities: dict[str, Opportunity] = {}
    for o in book.opportunities:
        opportunities.setdefault(o.opportunity_id, o)  # a duplicate ID: the first row counts
    pool, opps = loc.title(POOL), loc.title(OPPORTUNITIES)
    if POOL.key in book.layouts:
        for o in book.opportunities:
            if o.customer_id and o.customer_id not in customers:
                yield loc.at(
                    OPPORTUNITIES,
                    o.source.row,
                    "customer_id",
                    "customer-unknown",
                    value=o.customer_id,
                    pool=pool,
                )
        for a in book.activities:
            if a.customer_id and a.customer_id not in customers:
                yield loc.at(
                    ACTIVITIES,
                    a.source.row,
                    "customer_id",
                    "customer-unknown",
                    value=a.customer_id,
                    pool=pool,
                )
    if OPPORTUNITIES.key in book.layouts:
        for a in book.activities:
            if not a.opportunity_id:
                continue
            opp = opportunities.get(a.opportunity_id)
            if opp is None:
                yield loc.at(
                    ACTIVITIES,
                    a.source.row,
                    "opportunity_id",
                    "opportunity-unknown",
                    value=a.opportunity_id,
                    opportunities=opps,
                )
            elif a.customer_id and opp.customer_id and a.customer_id != opp.customer_id:
                yield loc.at(
                    ACTIVITIES,
                    a.source.row,
                    "customer_id",
                    "opportunity-customer-mismatch",
                    value=a.opportunity_id,
                    expected=opp.customer_id,
                    actual=a.customer_id,
                )


def known_reps(book: Book, ctx: Context) -> Iterator[Problem]:
    """Every owner and activity rep is on the Reps sheet (names were canonicalised on read)."""
    if REPS.key not in book.layouts:
        return
    loc = _Located(book, ctx)
    names = {r.name for r in book.reps}
    reps_title = loc.title(REPS)
    rows: list[tuple[Sheet, int, str, str | None]] = []  # only the rows naming a stranger
    rows += [
        (POOL, c.source.row, "owner", c.owner)
        for c in book.customers
        if c.owner and c.owner not in names
    ]
    rows += [
        (OPPORTUNITIES, o.source.row, "owner", o.owner)
        for o in book.opportunities
        if o.owner and o.owner not in names
    ]
    rows += [
        (ACTIVITIES, a.source.row, "rep", a.rep)
        for a in book.activities
        if a.rep and a.rep not in names
    ]
    for spec, row, field, name in rows:
        if name and name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.5)
            hint = ""
            if close:
                hint = (
                    f": 是否是「{close[0]}」?"
                    if ctx.lang == "zh"
                    else f": did you mean '{close[0]}'?"
                )
            yield loc.at(spec, row, field, "rep-unknown", value=name, reps=reps_title, hint=hint)


def amounts(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    header = ctx.cfg.header(OPPORTUNITIES, "amount")
    for o in book.opportunities:
        if o.amount == 0 and o.stage not in (Stage.LOST, None):
            yield loc.at(OPPORTUNITIES, o.source.row, "amount", "amount-zero", header=header)


def dates(book: Book, ctx: Context) -> Iterator[Problem]:
    """Plausible dates: nothing years ahead by a typo; activities not in the future."""
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


def emails(book: Book, ctx: Context) -> Iterator[Problem]:
    loc = _Located(book, ctx)
    for r in book.reps:
        if r.email and not _EMAIL.match(r.email):
            yield loc.at(REPS, r.source.row, "email", "email-invalid", value=r.email)


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
    return "、".join(names) if cfg.lang == "zh" else ", ".join(names)


VALIDATIONS: list[Validation] = [
    unique_ids,
    references,
    known_reps,
    amounts,
    dates,
    emails,
    stage_moves,
]


def canonicalise(book: Book, ctx: Context) -> tuple[Book, list[Problem]]:
    """Names and IDs as the team means them, once, for every rule after this.

    An owner typed with stray spaces or full-width letters is read as the rep's name (with a
    warning: Excel's own filters would still see two people); a reference typed full-width or
    in lower case (ＫＨ００１, kh001) is read as the ID it matches."""
    reps_by_key = {normalize_key(r.name): r.name for r in book.reps if r.name}
    rep_names = frozenset(reps_by_key.values())
    customer_ids = {normalize_key(c.customer_id): c.customer_id for c in book.customers}
    opportunity_ids: dict[str, str] = {}
    for o in book.opportunities:
        opportunity_ids.setdefault(normalize_key(o.opportunity_id), o.opportunity_id)
    loc = _Located(book, ctx)
    problems: list[Problem] = []
    untrimmed = {(key, row, field): raw for key, row, field, raw in book.untrimmed}
    specs = {s.key: s for s in (POOL, OPPORTUNITIES, ACTIVITIES)}

    def rep(spec: Sheet, row: int, field: str, name: str | None) -> str | None:
        raw = untrimmed.get((spec.key, row, field))
        if not name or (name in rep_names and raw is None):
            return name
        canonical = reps_by_key.get(normalize_key(name))
        if canonical is None:
            return name
        problems.append(
            loc.at(spec, row, field, "rep-name-variant", value=raw or name, name=canonical)
        )
        return canonical

    customer_set = frozenset(customer_ids.values())
    opportunity_set = frozenset(opportunity_ids.values())

    def ref(ids: dict[str, str], known: frozenset[str], value: str | None) -> str | None:
        if not value or value in known:
            return value
        return ids.get(normalize_key(value), value)

    suspicious = {(k, r) for k, r, _, _ in book.untrimmed}

    def odd_name(key: str, row: int, name: str | None) -> bool:
        return bool(name) and (name not in rep_names or (key, row) in suspicious)

    customers = tuple(
        c._replace(owner=rep(specs["pool"], c.source.row, "owner", c.owner))
        if odd_name("pool", c.source.row, c.owner)
        else c
        for c in book.customers
    )
    opportunities = tuple(
        o._replace(
            owner=rep(specs["opportunities"], o.source.row, "owner", o.owner),
            customer_id=ref(customer_ids, customer_set, o.customer_id),
        )
        if odd_name("opportunities", o.source.row, o.owner)
        or (o.customer_id and o.customer_id not in customer_set)
        else o
        for o in book.opportunities
    )
    odd_rows = {r for k, r in suspicious if k == "activities"}
    activities = tuple(
        a._replace(
            rep=rep(specs["activities"], a.source.row, "rep", a.rep),
            customer_id=ref(customer_ids, customer_set, a.customer_id),
            opportunity_id=ref(opportunity_ids, opportunity_set, a.opportunity_id),
        )
        # odd_name inlined: 400k activities at 100k opportunities
        if (a.rep and (a.rep not in rep_names or (odd_rows and a.source.row in odd_rows)))
        or (a.customer_id and a.customer_id not in customer_set)
        or (a.opportunity_id and a.opportunity_id not in opportunity_set)
        else a
        for a in book.activities
    )
    return replace(
        book, customers=customers, opportunities=opportunities, activities=activities
    ), problems


def validate(book: Book, cfg: Config, today: dt.date) -> tuple[Book, list[Problem]]:
    """Run every validation; returns the canonicalised book and all problems, sorted."""
    ctx = Context(cfg, today)
    book, problems = canonicalise(book, ctx)
    problems = list(book.problems) + problems
    for validation in VALIDATIONS:
        problems.extend(validation(book, ctx))
    order = {name: i for i, name in enumerate(book.sheet_names)}
    problems.sort(key=lambda p: (order.get(p.sheet, len(order)), *sort_key(p)))
    return book, problems
