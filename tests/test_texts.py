"""The text catalogue: every code in both languages with the same placeholders, every code the
source names exists, and the converted modules choose no text by language themselves."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path
from typing import get_args

import pytest

from funnel_sync import logs, problems
from funnel_sync.cli import summary_keys
from funnel_sync.config import PHASES
from funnel_sync.funnel import FLOW_STAGES, LAYER_KEYS, STANDARDS
from funnel_sync.report import labels
from funnel_sync.rules.cadence import Stall
from funnel_sync.rules.occasions import ImportantDay, what
from funnel_sync.texts import TEXTS, Said, Text, counted, placeholders, say, strings, template, text

PACKAGE = Path(__file__).resolve().parent.parent / "funnel_sync"

#: The modules whose texts live in the catalogue: none may choose a text by language itself.
#: (The rest of funnel_sync is converted module by module; add each here when it is.)
CONVERTED = (
    "adopt.py",
    "checks.py",
    "cli.py",
    "config.py",
    "demo.py",
    "funnel/__init__.py",
    "funnel/context.py",
    "funnel/figures.py",
    "funnel/frames.py",
    "funnel/measures.py",
    "funnel/plain.py",
    "funnel/quota.py",
    "funnel/roadmap.py",
    "funnel/snapshot.py",
    "funnel/tables.py",
    "init.py",
    "logs.py",
    "mail.py",
    "planning.py",
    "problems.py",
    "read/layout.py",
    "read/package.py",
    "report/__init__.py",
    "report/data.py",
    "report/html.py",
    "report/template.py",
    "rules/__init__.py",
    "rules/claims.py",
    "rules/context.py",
    "rules/counts.py",
    "rules/decisions.py",
    "rules/occasions.py",
    "rules/pool.py",
    "rules/recycling.py",
    "rules/reminders.py",
    "rules/stages.py",
    "runlock.py",
    "scheduler.py",
    "xlsx/errors.py",
    "xlsx/safety.py",
)

_PART = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
_KEBAB = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


# ---- the catalogue itself ----


@pytest.mark.parametrize("code", list(TEXTS))
def test_every_code_has_both_languages_with_the_same_placeholders(code: str) -> None:
    t = TEXTS[code]
    assert t.zh.strip() and t.en.strip()
    assert placeholders(t.zh) == placeholders(t.en), code
    assert all(name.isidentifier() for name in placeholders(t.zh)), "positional or odd field"


@pytest.mark.parametrize("code", list(TEXTS))
def test_every_code_follows_the_naming_pattern(code: str) -> None:
    """area.part[.part…], snake_case; a problem's or a PoolLog action's own code, kebab-case,
    ends its code."""
    *head, last = code.split(".")
    assert head and all(re.fullmatch(_PART, p) for p in head), code
    kebab_allowed = head == ["problem"] or head == ["log", "pool"]
    assert re.fullmatch(_KEBAB if kebab_allowed else _PART, last), code


def test_codes_are_unique() -> None:
    """A dict literal keeps the last of two equal keys silently: read the catalogue's source."""
    tree = ast.parse((PACKAGE / "texts.py").read_text(encoding="utf-8"))
    (catalogue,) = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.AnnAssign)
        and isinstance(n.target, ast.Name)
        and n.target.id == "TEXTS"
        and isinstance(n.value, ast.Dict)
    ]
    keys = [k.value for k in catalogue.keys if isinstance(k, ast.Constant)]
    assert len(keys) == len(catalogue.keys) == len(TEXTS)
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_plural_pairs_are_complete() -> None:
    for code in TEXTS:
        stem, _, form = code.rpartition(".")
        if form in ("one", "other"):
            assert f"{stem}.one" in TEXTS and f"{stem}.other" in TEXTS, code
            assert TEXTS[f"{stem}.one"].zh == TEXTS[f"{stem}.other"].zh, "Chinese has no plural"


# ---- the API ----


def test_rendering() -> None:
    assert text("cli.sync.written", "zh", path="a.xlsx") == "a.xlsx: 已写回"
    assert text("cli.sync.written", "en", path="a.xlsx") == "a.xlsx: written"
    assert TEXTS["cli.sync.written"]("en", path="b") == "b: written"
    fill = template("mail.more", "en")
    assert [fill(n=n) for n in (1, 2)] == ["1 more in the report", "2 more in the report"]
    # a placeholder may be called code or lang: the API's own arguments are positional-only
    item = dict(customer="c", contact="", phone="", due="d", days=3)
    assert text("mail.call_item", "en", code="D", **item).endswith("[D]")
    assert counted("problems.errors", "en", 1) == "1 error"
    assert counted("problems.errors", "en", 0) == "0 errors"
    assert counted("problems.errors", "zh", 2) == "2 个错误"
    assert strings("ledger", "zh") == {"yes": "是", "no": "否"}
    assert Text("甲", "a").of("fr") == "a"  # any language but zh is English


def test_a_rule_says_a_code_and_the_edge_renders_it() -> None:
    said = say("mail.more", n=4)
    assert said == Said("mail.more", (("n", 4),))
    assert said.render("zh") == "另有 4 条, 见报告"
    assert said.render("en") == "4 more in the report"
    with pytest.raises(KeyError):
        say("mail.no-such-text")


def test_placeholders() -> None:
    assert placeholders("{a} {b!r} {c:>4} {d.x} {e[0]} {{f}}") == {"a", "b", "c", "d", "e"}
    assert placeholders("no fields") == frozenset()


# ---- the catalogue and the modules using it ----


def test_problem_messages_come_from_the_catalogue() -> None:
    assert {f"problem.{c}" for c in problems.CATALOGUE} == {
        c for c in TEXTS if c.startswith("problem.")
    }
    for code, entry in problems.CATALOGUE.items():
        assert entry.text is TEXTS[f"problem.{code}"]
        assert (entry.zh, entry.en) == (TEXTS[f"problem.{code}"].zh, TEXTS[f"problem.{code}"].en)
        assert entry.severity in ("error", "warning")


def test_every_summary_line_has_its_text() -> None:
    assert [k for k in summary_keys() if f"summary.{k}" not in TEXTS] == []
    assert {f"summary.{k}" for k in summary_keys()} == {
        c for c in TEXTS if c.startswith("summary.")
    }


def test_log_labels_are_the_engines() -> None:
    """The demo writes its history with the log.* texts; the engine (logs.py) still has its own
    tables until it takes them from the catalogue: they must not drift apart meanwhile."""
    for table, prefix in ((logs.POOL_ACTIONS, "log.pool."), (logs.STAGE_RESULTS, "log.stage.")):
        ours = {
            c.removeprefix(prefix): (t.zh, t.en) for c, t in TEXTS.items() if c.startswith(prefix)
        }
        assert ours == table


def test_the_report_takes_its_words_from_the_catalogue() -> None:
    """The templates' `t` is the report.* texts, unfilled ({{ t.more.format(n=…) }} fills them)."""
    for lang in ("zh", "en"):
        t = labels(lang)
        assert t == strings("report", lang)
        assert t["more"] == TEXTS["report.more"].of(lang)
    assert labels("zh")["funnel"] == "销售漏斗"
    assert labels("en")["title"] == "Weekly funnel report"


def test_every_key_the_figures_name_has_its_text() -> None:
    """The snapshot looks its texts up by a key of the model or the config (`funnel.layer.d`,
    `funnel.phase.training`): each key must have its code, and no code may be left over."""
    expected = {
        "funnel.layer": {k.lower() for k in LAYER_KEYS},
        "funnel.phase": set(PHASES),
        "funnel.action": {s.key.lower() for s in FLOW_STAGES},
        "funnel.standard": set(STANDARDS),
        "funnel.stall": {v.replace("-", "_") for v in get_args(Stall)},
        "funnel.alert_kind": {"goal", "needed"},
        "funnel.scorecard_kind": {"standard", "goal"},
        "occasion": {"birthday", "anniversary", "contact"},
    }
    for prefix, keys in expected.items():
        assert set(strings(prefix, "en")) == keys, prefix


def test_the_important_days_are_named_in_both_languages() -> None:
    day = dt.date(2026, 12, 1)
    assert what(ImportantDay(day, "birthday", "王芳"), "zh") == "王芳生日"
    assert what(ImportantDay(day, "birthday", "王芳"), "en") == "王芳's birthday"
    assert what(ImportantDay(day, "birthday", None), "zh") == "联系人生日"
    assert what(ImportantDay(day, "birthday", None), "en") == "contact's birthday"
    assert what(ImportantDay(day, "anniversary", None), "zh") == "厂庆日"
    assert what(ImportantDay(day, "anniversary", None), "en") == "company anniversary"
    assert what(ImportantDay(day, "holiday", "元旦"), "en") == "元旦"


def _text_functions(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The names this module calls the catalogue's functions by, and its names for the module."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "funnel_sync.texts":
            names |= {a.asname or a.name for a in node.names if a.name in _CALLS}
        elif isinstance(node, ast.ImportFrom) and node.module == "funnel_sync":
            modules |= {a.asname or a.name for a in node.names if a.name == "texts"}
    return names, modules


_CALLS = {"text", "template", "say", "counted"}


def _codes_used() -> list[tuple[str, int, str, str]]:
    """(file, line, function, code or f-string prefix + "…") of every call of text, template,
    say and counted in funnel_sync whose code is written out."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names, modules = _text_functions(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id in names:
                name = f.id
            elif (
                isinstance(f, ast.Attribute)
                and f.attr in _CALLS
                and isinstance(f.value, ast.Name)
                and f.value.id in modules
            ):
                name = f.attr
            else:
                continue
            arg = node.args[0]
            where = (str(path.relative_to(PACKAGE)), node.lineno, name)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((*where, arg.value))
            elif isinstance(arg, ast.JoinedStr) and arg.values:
                head = arg.values[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    found.append((*where, head.value + "…"))
    return found


def test_every_code_the_source_names_exists() -> None:
    used = _codes_used()
    assert len(used) > 40  # the scan sees the calls
    missing = []
    for file, line, function, code in used:
        if code.endswith("…"):  # an f-string: some code must start so
            ok = any(c.startswith(code[:-1]) for c in TEXTS)
        elif function == "counted":
            ok = f"{code}.one" in TEXTS and f"{code}.other" in TEXTS
        else:
            ok = code in TEXTS
        if not ok:
            missing.append(f"{file}:{line}: {function}({code!r})")
    assert missing == []


def _zh_tests(tree: ast.Module) -> list[ast.AST]:
    """The conditions in the module that compare something with "zh", and the names bound to
    one (`zh = cfg.lang == "zh"`)."""
    compares: list[ast.AST] = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Compare)
        and any(isinstance(x, ast.Constant) and x.value == "zh" for x in (n.left, *n.comparators))
    ]
    ids = {id(c) for c in compares}
    bound = {
        t.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and any(id(v) in ids for v in ast.walk(n.value))
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in bound]
    return compares + names


def _strings(nodes: list[ast.stmt] | list[ast.expr]) -> list[str]:
    return [
        n.value
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


@pytest.mark.parametrize("module", CONVERTED)
def test_converted_modules_choose_no_text_by_language(module: str) -> None:
    """No `zh if lang == "zh" else en` (nor an if-statement doing it) with written-out texts,
    and no local (Chinese, English) table: the module asks the catalogue instead. Choosing
    between two vocabularies of the model (`s.code if zh else s.key`) is not a text."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    tests = {id(t) for t in _zh_tests(tree)}
    branches = []
    for node in ast.walk(tree):
        if isinstance(node, ast.IfExp | ast.If) and any(
            id(n) in tests for n in ast.walk(node.test)
        ):
            arms: list[ast.stmt] | list[ast.expr] = (
                [node.body, node.orelse] if isinstance(node, ast.IfExp) else node.body + node.orelse
            )
            if _strings(arms):
                branches.append(f"{module}:{node.lineno}")
    assert branches == []
    pairs = [
        f"{module}:{n.lineno}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Tuple)
        and len(n.elts) == 2
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.elts)
        and _CJK.search(n.elts[0].value)  # type: ignore[attr-defined]
        and not _CJK.search(n.elts[1].value)  # type: ignore[attr-defined]
    ]
    assert pairs == []
    # nor a pair handed to a helper that picks one (`self.t("全团队", "whole team")`)
    calls = [
        f"{module}:{n.lineno}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and len(n.args) >= 2
        and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in n.args[:2])
        and _CJK.search(n.args[0].value)  # type: ignore[attr-defined]
        and not _CJK.search(n.args[1].value)  # type: ignore[attr-defined]
    ]
    assert calls == []
