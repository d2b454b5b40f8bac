"""Properties of `funnel-sync sync` over generated ledgers: it never changes a cell the team
owns (under enforce = "flag") but the owners it recycles, and each decision it takes is
explained by a log row or a 校验 message."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from helpers import (
    SPECS,
    edit_ledger,
    read_tables,
    set_fields_in,
    sha256,
    sync_json,
    write_ledger,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel_sync.model import Stage
from funnel_sync.parse import parse_stage

D1 = dt.date(2026, 3, 2)
REPS = ("张三", "李四", "王五")
REGIONS = ("华东", "华南", "华北")
EVIDENCE = (
    "influencer_contacted",
    "need_confirmed",
    "quoted",
    "decision_process_known",
    "budget_confirmed",
    "contract_sent",
    "signed",
)
INPUT = ("pool", "opportunities", "activities", "reps")
RELEASED = (None, "释放", "ＲＥＬＥＡＳＥ")  # blank, or a release word as typed
#: owners as typed: the team, blanks, a name not on the team, release words, stray spaces
OWNERS = st.sampled_from((*REPS, *RELEASED, None, None, "赵六", " 李四 "))
TYPED = st.sampled_from(("D", "C", "B", "A", "成交", "丢单", " b ", "Ａ", "won", "X类"))
CONFIRMED = st.sampled_from((None, None, "D", "C", "B", "A", "成交", "丢单"))
FLAG = st.sampled_from((None, None, "是", "否"))
DAYS = st.integers(-60, 45).map(lambda n: D1 + dt.timedelta(days=n))

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def ledgers(draw: st.DrawFn) -> dict[str, Any]:
    """A small ledger, the config of its pool, the edits typed between the two syncs and the
    second sync's distance from the first."""
    team = REPS[: draw(st.integers(1, 3))]
    regions = st.sampled_from(("华东", "华南", "华北", "华东,华南", "*"))
    reps = [
        {
            "name": name,
            "email": f"rep{i}@example.com",
            "regions": draw(regions),
            "start_date": dt.date(2025, 1, 6),
        }
        for i, name in enumerate(team)
    ]
    pool = [
        {
            "customer_id": f"KH{i:03d}",
            "name": f"客户{i}",
            "region": draw(st.sampled_from(REGIONS)),
            "owner": draw(OWNERS),
            "locked": draw(st.sampled_from((None, None, "是"))),
            "contact_birthday": draw(st.sampled_from((None, "3月5日", "4月2日"))),
        }
        for i in range(1, draw(st.integers(1, 6)) + 1)
    ]
    cids = [c["customer_id"] for c in pool]
    opportunities = []
    for i in range(draw(st.integers(0, 6))):
        confirmed = draw(CONFIRMED)
        opportunities.append(
            {
                "opportunity_id": f"JH{i:03d}",
                "customer_id": draw(st.sampled_from(cids)),
                "owner": draw(st.sampled_from((*team, None))),
                "stage": draw(TYPED),
                "amount": 10_000,
                "planned_advance": draw(st.none() | DAYS),
                **{f: draw(FLAG) for f in EVIDENCE},
                "lost_reason": draw(st.sampled_from((None, "价格太高"))),
                "notes": draw(st.sampled_from((None, "客户要求"))),
                "confirmed_stage": confirmed,
                "stage_entered_on": draw(st.none() | DAYS) if confirmed else None,
            }
        )
    oids = [o["opportunity_id"] for o in opportunities]
    activities = [
        {
            "date": draw(DAYS),
            "rep": draw(st.sampled_from((*team, "赵六"))),
            "customer_id": draw(st.sampled_from(cids)),
            "opportunity_id": draw(st.sampled_from((None, *oids))),
            "kind": "电话",
        }
        for _ in range(draw(st.integers(0, 8)))
    ]
    edits: list[tuple[str, str, dict[str, Any]]] = [
        ("pool", draw(st.sampled_from(cids)), {"owner": draw(OWNERS)})
        for _ in range(draw(st.integers(0, 3)))
    ]
    if oids:
        edits += [
            (
                "opportunities",
                draw(st.sampled_from(oids)),
                {"stage": draw(TYPED), **{f: draw(FLAG) for f in EVIDENCE[:3]}},
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
    config = (
        "[pool]\n"
        f"max_owned_per_rep = {draw(st.integers(1, 3))}\n"
        f"max_claims_per_day = {draw(st.integers(1, 2))}\n"
        f"won_counts_toward_cap = {draw(st.sampled_from(('true', 'false')))}\n"
    )
    return {
        "rows": {
            "reps": reps,
            "pool": pool,
            "opportunities": opportunities,
            "activities": activities,
        },
        "edits": edits,
        "config": config,
        "gap": draw(st.integers(0, 45)),
    }


def state(path: Path) -> dict[str, Any]:
    """The workbook as openpyxl reads it: each input sheet's cells by (sheet, row, field)
    split into the team's and the engine's, each pool/opportunity row's ID, and the logs."""
    tables = read_tables(path, *INPUT, "pool_log", "stage_log")
    user: dict[tuple[str, int, str], Any] = {}
    engine: dict[tuple[str, int, str], Any] = {}
    for key in INPUT:
        spec = SPECS[key]
        for row in tables[key]:
            for col in spec.columns:
                into = engine if col.is_engine else user
                into[(key, row["_row"], col.field)] = row.get(col.field)
    ids = {
        (key, row["_row"]): row[SPECS[key].id_field or ""]
        for key in ("pool", "opportunities")
        for row in tables[key]
    }
    return {
        "user": user,
        "engine": engine,
        "ids": ids,
        "pool_log": [
            _log(r, "customer_id", "action", "rep", "old_value") for r in tables["pool_log"]
        ],
        "stage_log": [
            _log(r, "opportunity_id", "from_stage", "to_stage", "result")
            for r in tables["stage_log"]
        ],
    }


def _log(row: dict[str, Any], *fields: str) -> tuple[Any, ...]:
    return tuple("" if row[f] is None else row[f] for f in fields)


def synced(case: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Write the ledger, sync it on D1, type the edits, sync again `gap` days later; per sync
    the states before and after, the new log rows, the problems and the re-sync's digests."""
    path = write_ledger(folder / "book.xlsx", **case["rows"])
    cfg = folder / "funnel.toml"
    cfg.write_text(case["config"], encoding="utf-8")
    runs = []
    for day, edits in ((D1, []), (D1 + dt.timedelta(days=case["gap"]), case["edits"])):
        if edits:

            def type_in(wb: Any, edits: Any = edits) -> None:
                for key, row_id, values in edits:
                    set_fields_in(wb, key, row_id, **values)

            edit_ledger(path, type_in)
        before = state(path)
        code, payload = sync_json(path, day.isoformat(), "--config", str(cfg))
        assert code in (0, 1)
        after = state(path)
        digest = sha256(path)
        sync_json(path, day.isoformat(), "--config", str(cfg))
        runs.append(
            {
                "day": day,
                "before": before,
                "after": after,
                "pool_log": after["pool_log"][len(before["pool_log"]) :],
                "stage_log": after["stage_log"][len(before["stage_log"]) :],
                "problems": payload["problems"],
                "digests": (digest, sha256(path)),
            }
        )
        assert after["pool_log"][: len(before["pool_log"])] == before["pool_log"]
        assert after["stage_log"][: len(before["stage_log"])] == before["stage_log"]
    return runs


@SETTINGS
@given(case=ledgers())
def test_sync_never_changes_a_user_owned_cell(tmp_path: Path, case: dict[str, Any]) -> None:
    """Only the owners of recycled customers change, each with its PoolLog 自动回收 row
    holding the old value; a second sync the same day writes nothing."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        for run in synced(case, Path(folder)):
            before, after = run["before"]["user"], run["after"]["user"]
            assert before.keys() == after.keys()
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            recycled = {
                (r[0], r[3]) for r in run["pool_log"] if r[1] == "自动回收"
            }  # (customer, old value)
            assert {k[2] for k in changed} <= {"owner"}
            assert {k[0] for k in changed} <= {"pool"}
            assert {
                (run["after"]["ids"][("pool", k[1])], old.strip())
                for k, (old, new) in changed.items()
            } == recycled
            assert all(new is None for _, new in changed.values())
            # a second sync the same day writes nothing
            assert run["digests"][0] == run["digests"][1]


@SETTINGS
@given(case=ledgers())
def test_every_engine_decision_is_explained(tmp_path: Path, case: dict[str, Any]) -> None:
    """A confirmed class changes only with a StageLog row saying so; a typed class the engine
    does not count, and a typed owner it did not confirm, have a 校验 message; 校验 is
    non-empty exactly on the rows with problems; every owner written has a PoolLog row."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        for run in synced(case, Path(folder)):
            before, after = run["before"], run["after"]
            ids = after["ids"]
            # 确认分类: each change is logged as accepted/adopted with the new class
            accepted = {(r[0], r[2]) for r in run["stage_log"] if r[3] in ("接收", "首次接收")}
            for (key, row, field), new in after["engine"].items():
                if field != "confirmed_stage":
                    continue
                old = before["engine"][(key, row, field)]
                if old != new:
                    assert (ids[(key, row)], new) in accepted
            for oid, to in accepted:
                rows = [r for (k, r), i in ids.items() if k == "opportunities" and i == oid]
                assert after["engine"][("opportunities", rows[0], "confirmed_stage")] == to
            # 校验: non-empty exactly where a problem is located, and holds its messages
            located: dict[tuple[str, int], list[str]] = {}
            for p in run["problems"]:
                located.setdefault((p["sheet"], p["row"]), []).append(p["message"])
            titles = {"pool": "公共资源库", "opportunities": "销售机会"}
            for (key, row, field), text in after["engine"].items():
                if field != "check":
                    continue
                messages = located.get((titles[key], row), [])
                assert bool(text) == bool(messages), (key, row, text)
                assert all(m in text for m in messages)
            # a typed class not counted is explained in its row
            for (key, row, field), typed in after["user"].items():
                if key != "opportunities" or field != "stage":
                    continue
                stage = parse_stage(typed)
                confirmed = after["engine"][(key, row, "confirmed_stage")]
                if not isinstance(stage, Stage) or stage.code != confirmed:
                    assert after["engine"][(key, row, "check")], (row, typed, confirmed)
            # a typed owner the PoolLog does not hold is explained in its row
            owners: dict[str, Any] = {}
            for cid, action, rep, _ in after["pool_log"]:
                if action in ("接管", "领取", "转移", "还原"):
                    owners[cid] = rep
                elif action in ("释放", "自动回收"):
                    owners[cid] = ""
            for (key, row, field), typed in after["user"].items():
                if (
                    (key, field) == ("pool", "owner")
                    and typed not in RELEASED
                    and owners.get(ids[(key, row)]) != typed
                ):
                    assert after["engine"][(key, row, "check")], (row, typed)
            # every owner cell the engine wrote has a PoolLog row with the old value
            logged = {(r[0], r[3]) for r in run["pool_log"] if r[1] in ("自动回收", "还原")}
            for (key, row, field), old in before["user"].items():
                if (key, field) == ("pool", "owner") and after["user"][(key, row, field)] != old:
                    assert (ids[(key, row)], old.strip()) in logged
            # claims and releases stamp their dates
            stamped = {
                "领取": "claimed_on",
                "转移": "claimed_on",
                "释放": "released_on",
                "自动回收": "released_on",
            }
            for cid, action, _, _ in run["pool_log"]:
                if action in stamped:
                    row = next(r for (k, r), i in ids.items() if k == "pool" and i == cid)
                    value = after["engine"][("pool", row, stamped[action])]
                    assert value is not None and value.date() == run["day"]
