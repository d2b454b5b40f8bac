"""The snapshot every report renders: the book aggregated once for the team, each region and
each rep (build_snapshot), and the Jinja context of the team's or one rep's report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from funnel_sync.config import Config
from funnel_sync.days import Days
from funnel_sync.funnel.context import (
    LIST_LIMIT,
    Holiday,
    Period,
    RegionScope,
    ReportContext,
    RepScope,
    TeamScope,
)
from funnel_sync.funnel.figures import scope
from funnel_sync.funnel.frames import LedgerFrames
from funnel_sync.funnel.measures import Measures
from funnel_sync.funnel.quota import rep_scope, team_totals
from funnel_sync.funnel.tables import tables
from funnel_sync.model import Rep
from funnel_sync.read import Book


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The report's figures for the team, each region and each rep."""

    lang: str
    today: dt.date
    period: Period
    currency: str
    team: TeamScope
    regions: tuple[RegionScope, ...]
    reps: tuple[RepScope, ...]
    holidays: tuple[Holiday, ...]
    trailing_days: int = 90

    def rep(self, name: str) -> RepScope:
        for r in self.reps:
            if r.name == name:
                return r
        raise KeyError(name)

    def context(self, rep: str | None = None) -> ReportContext:
        """The context of the team's report, or of one rep's (then `team` is that rep's
        scope, and the lists hold only that rep's rows)."""
        reps = (self.rep(rep),) if rep is not None else self.reps
        main = reps[0] if rep is not None else self.team
        return ReportContext(
            lang=self.lang,
            today=self.today,
            period=self.period,
            currency=self.currency,
            trailing_days=self.trailing_days,
            for_rep=rep,
            team=main,
            regions=() if rep is not None else self.regions,
            reps=reps,
            alerts=tuple(a for r in reps for a in r.alerts),
            scorecard=tuple(i for r in reps for i in r.scorecard.items),
            stalled=main.stalled.items,
            overdue=main.overdue.items,
            important_days=main.important_days.items,
            holidays=self.holidays,
            pool_activity=main.pool_activity.items,
            rejected_moves=main.rejected_moves.items,
        )


def report_reps(book: Book) -> list[Rep]:
    """The reps a report covers: every rep except managers who own no opportunity."""
    owners = {o.owner for o in book.opportunities}
    seen: set[str] = set()
    out = []
    for r in book.reps:
        if r.name and r.name not in seen and (not r.manager or r.name in owners):
            seen.add(r.name)
            out.append(r)
    return out


def build_snapshot(
    book: Book,
    cfg: Config,
    today: dt.date,
    *,
    lang: str | None = None,
    limit: int = LIST_LIMIT,
    ledger: LedgerFrames | None = None,
) -> Snapshot:
    """Aggregate the book once for the report dated `today` (the last day of its week).
    `ledger`: ledger_frames(book), if made already (while the logs loaded)."""
    lang = lang or cfg.lang
    m = Measures(book, cfg, today, lang, limit, ledger)
    cust = m.f.customers
    unowned = cust[cust["owner"].isna()]
    pool_by_region = {
        k: int(v) for k, v in unowned.groupby("region").size().to_dict().items() if k is not None
    }
    team_tb = tables(m, "team")
    team = scope(m, "team", "team", team_tb, len(unowned))
    region_tb = tables(m, "region")
    regions = sorted({r for r in cust["region"].tolist() if isinstance(r, str)})
    by_region = [scope(m, "region", r, region_tb, pool_by_region.get(r, 0)) for r in regions]
    rep_tb = tables(m, "rep")
    rep_scopes = []
    for rep in report_reps(book):
        pool = (
            len(unowned) if rep.all_regions else sum(pool_by_region.get(r, 0) for r in rep.regions)
        )
        own = scope(m, "rep", rep.name, rep_tb, pool)
        rep_scopes.append(rep_scope(m, rep, own, rep_tb, team_tb))
    team_scope, region_scopes = team_totals(team, by_region, rep_scopes, book)
    holidays = tuple(
        Holiday(day, name) for day, name in Days(cfg, today).holidays_within(7) if day > today
    )
    return Snapshot(
        lang,
        today,
        m.period,
        cfg.report.currency,
        team_scope,
        tuple(region_scopes),
        tuple(rep_scopes),
        holidays,
        cfg.report.trailing_days,
    )
