"""The templates' contract with the report's context: every expression of report.html.j2 (and of
the macros it calls) and of every cell of report.xlsx resolves against the typed context of a
real demo snapshot, with StrictUndefined.

Rendering alone checks only the branches a sample takes. Here each template is parsed into
Jinja's tree and walked: every branch is entered whatever its condition (except those that
depend on the kind of report, `for_rep`: a team report never shows a rep's needed layers),
every loop body with the first items of its list, every macro with the arguments of each call.
Every name, attribute and subscript (Name, Getattr, Getitem) is evaluated on its own and must
be defined; where the enclosing conditions hold for the sample, the whole expression is
evaluated too and must not fail. Each loop body must be reached by at least one sample.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pytest
from helpers import run_cli
from jinja2 import nodes

from funnel_sync.config import Config
from funnel_sync.funnel import build_snapshot
from funnel_sync.problems import column_letter
from funnel_sync.read import read_book
from funnel_sync.report import HTML_TEMPLATE, TEMPLATES, XLSX_TEMPLATE, jinja_globals
from funnel_sync.report import excel as excel_report
from funnel_sync.report import html as html_report

MACROS = "_macros.html.j2"
# The demo's week of its first sync has rejected moves and important days; two weeks and two
# syncs later the pool has recycled customers and New Year's Day is in the coming week.
DAYS = ("2026-12-14", "2026-12-21", "2026-12-28")
SAMPLES = (dt.date(2026, 12, 14), dt.date(2026, 12, 28))
LOOKUPS = (nodes.Name, nodes.Getattr, nodes.Getitem)
ITEMS_PER_LOOP = 3
_COMPILED: dict[int, jinja2.Template] = {}  # one template per node of the trees below
_TREES: dict[str, nodes.Template] = {}


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The team's context and every rep's, on each sample date, as make_report renders them."""
    path = tmp_path_factory.mktemp("contract") / "demo.xlsx"
    code, _, err = run_cli(
        "demo", str(path), "--seed", "1", "--opportunities", "1000", "--today", DAYS[0]
    )
    assert code == 0, err
    for day in DAYS:
        code, _, err = run_cli("sync", str(path), "--today", day)
        assert code in (0, 1), err
    cfg = Config()
    book = read_book(path, cfg, engine_sheets=True)
    out = []
    for day in SAMPLES:
        snap = build_snapshot(book, cfg, day)
        for rep in (None, *(r.name for r in snap.reps)):
            context = jinja_globals(snap.context(rep))
            out.append({**context, "html_rows": cfg.report.html_rows})
    return out


def _show(node: nodes.Node) -> str:
    """An expression as (roughly) its source, for the failure messages."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_show(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_show(node.node)}[{_show(node.arg)}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Filter):
        inner = _show(node.node) if node.node is not None else ""
        return f"{inner} | {node.name}"
    if isinstance(node, nodes.Call):
        return f"{_show(node.node)}(…)"
    return type(node).__name__


def _kind_conditions(test: nodes.Expr) -> list[nodes.Expr]:
    """The parts of an `if` that ask which report this is (they mention for_rep)."""
    parts: list[nodes.Expr] = []

    def split(node: nodes.Expr) -> Iterator[nodes.Expr]:
        if isinstance(node, nodes.And):
            yield from split(node.left)
            yield from split(node.right)
        else:
            yield node

    for part in split(test):
        names = [part, *part.find_all(nodes.Name)]
        if any(isinstance(n, nodes.Name) and n.name == "for_rep" for n in names):
            parts.append(part)
    return parts


@dataclass
class Walk:
    """Walks one template's tree for one context, recording what it checked."""

    env: jinja2.Environment
    name: str
    macros: Mapping[str, tuple[nodes.Macro, dict[str, Any]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    reached: set[tuple[str, int]] = field(default_factory=set)  # loop bodies entered
    loops: set[tuple[str, int]] = field(default_factory=set)  # every loop seen
    checked: int = 0

    def evaluate(self, expr: nodes.Expr, bindings: Mapping[str, Any]) -> Any:
        """The value of one node of the tree, with `bindings` as the template's context."""
        template = _COMPILED.get(id(expr))
        if template is None:
            tree = nodes.Template([nodes.Assign(nodes.Name("value_", "store"), expr)], lineno=1)
            tree.set_environment(self.env)
            code = self.env.compile(tree, name=self.name)
            template = self.env.template_class.from_code(
                self.env, code, self.env.make_globals(None)
            )
            _COMPILED[id(expr)] = template
        return template.make_module(vars=dict(bindings)).value_

    def fail(self, expr: nodes.Node, message: str) -> None:
        self.failures.append(f"{self.name}:{expr.lineno}: {_show(expr)}: {message}")

    def check(self, expr: nodes.Expr, bindings: Mapping[str, Any], guarded: bool) -> Any:
        """Every lookup in `expr` defined; the whole of it evaluated unless `guarded` (a
        condition around it does not hold for this sample). Its value, or None."""
        for lookup in [expr, *expr.find_all(LOOKUPS)]:
            if not isinstance(lookup, LOOKUPS) or (
                isinstance(lookup, nodes.Name) and lookup.ctx != "load"
            ):
                continue
            self.checked += 1
            try:
                value = self.evaluate(lookup, bindings)
            except jinja2.UndefinedError as e:
                self.fail(lookup, e.message or "undefined")
                return None
            if isinstance(value, jinja2.Undefined):
                self.fail(lookup, "undefined")
                return None
        self.calls(expr, bindings, guarded)
        try:
            return self.evaluate(expr, bindings)
        except Exception as e:
            if not guarded:
                self.fail(expr, f"{type(e).__name__}: {e}")
            return None

    def calls(self, expr: nodes.Expr, bindings: Mapping[str, Any], guarded: bool) -> None:
        """Each macro called in `expr`: its body walked with the call's arguments."""
        for call in [expr, *expr.find_all(nodes.Call)]:
            if not isinstance(call, nodes.Call) or not isinstance(call.node, nodes.Getattr):
                continue
            found = self.macros.get(call.node.attr)
            if found is None:
                continue
            macro, module = found
            params = [a.name for a in macro.args]
            try:
                args = [self.evaluate(a, bindings) for a in call.args]
                kwargs = {k.key: self.evaluate(k.value, bindings) for k in call.kwargs}
                defaults = [self.evaluate(d, bindings) for d in macro.defaults]
            except Exception as e:
                if not guarded:
                    self.fail(call, f"{type(e).__name__}: {e}")
                continue
            values = dict(zip(params[len(params) - len(defaults) :], defaults, strict=True))
            values.update(zip(params, args, strict=False))
            values.update(kwargs)
            inner = Walk(self.env, MACROS, self.macros, self.failures, self.reached, self.loops)
            inner.statements(macro.body, {**bindings, **module, **values}, guarded)
            self.checked += inner.checked

    def truthy(self, test: nodes.Expr, bindings: Mapping[str, Any]) -> bool:
        try:
            return bool(self.evaluate(test, bindings))
        except Exception:
            return False

    def statements(
        self, body: Sequence[nodes.Node], bindings: dict[str, Any], guarded: bool = False
    ) -> None:
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if not isinstance(child, nodes.TemplateData):
                        self.check(child, bindings, guarded)
            elif isinstance(node, nodes.If):
                self.branches(node, bindings, guarded)
            elif isinstance(node, nodes.For):
                self.loop(node, bindings, guarded)
            elif isinstance(node, nodes.Assign):
                value = self.check(node.node, bindings, guarded)
                assert isinstance(node.target, nodes.Name), node.target
                bindings[node.target.name] = value
            elif isinstance(node, nodes.Import):
                template = self.env.get_template(node.template.as_const())
                bindings[node.target] = template.make_module(vars=dict(bindings))
            elif isinstance(node, nodes.Macro):
                continue  # walked at each call
            else:
                raise AssertionError(f"{self.name}:{node.lineno}: {type(node).__name__}?")

    def branches(self, node: nodes.If, bindings: dict[str, Any], guarded: bool) -> None:
        """if / elif / else: a branch for the other kind of report is skipped, every other
        one walked (guarded where its condition does not hold)."""
        taken = False
        for branch in [node, *node.elif_]:
            kind = _kind_conditions(branch.test)
            if kind and not all(self.truthy(k, bindings) for k in kind):
                continue  # `and` stops there: the rest of the test is not evaluated either
            self.check(branch.test, bindings, guarded)
            holds = self.truthy(branch.test, bindings)
            self.statements(branch.body, bindings, guarded or not holds or taken)
            taken = taken or holds
        self.statements(node.else_, bindings, guarded or taken)

    def loop(self, node: nodes.For, bindings: dict[str, Any], guarded: bool) -> None:
        where = (self.name, node.lineno)
        self.loops.add(where)
        found = self.check(node.iter, bindings, guarded)
        items = list(found)[:ITEMS_PER_LOOP] if found is not None else []
        for index, item in enumerate(items):
            inner = dict(bindings)
            if isinstance(node.target, nodes.Tuple):
                for target, value in zip(node.target.items, item, strict=True):
                    assert isinstance(target, nodes.Name)
                    inner[target.name] = value
            else:
                assert isinstance(node.target, nodes.Name)
                inner[node.target.name] = item
            inner["loop"] = types.SimpleNamespace(
                index=index + 1,
                index0=index,
                first=index == 0,
                last=index == len(items) - 1,
                length=len(items),
                previtem=item,
                nextitem=item,
            )
            self.reached.add(where)
            if node.test is not None:  # {% for x in xs if … %}: checked, not obeyed
                self.check(node.test, inner, guarded)
            self.statements(node.body, inner, guarded)
        self.statements(node.else_, bindings, True)


def _parsed(env: jinja2.Environment, source: str, name: str | None = None) -> nodes.Template:
    tree = _TREES.get(source)
    if tree is None:
        tree = _TREES[source] = env.parse(source, name)
    return tree


def _macros(
    env: jinja2.Environment, context: Mapping[str, Any]
) -> dict[str, tuple[nodes.Macro, dict[str, Any]]]:
    """The macros of _macros.html.j2 with the module-level names their bodies see (S, …)."""
    tree = _parsed(env, (TEMPLATES / MACROS).read_text(encoding="utf-8"), MACROS)
    module = env.get_template(MACROS).make_module(vars=dict(context))
    names = {k: getattr(module, k) for k in dir(module) if not k.startswith("_")}
    return {m.name: (m, names) for m in tree.find_all(nodes.Macro)}


def test_every_html_expression_resolves(contexts: list[dict[str, Any]]) -> None:
    env = html_report.environment(TEMPLATES)
    tree = _parsed(env, (TEMPLATES / HTML_TEMPLATE).read_text(encoding="utf-8"), HTML_TEMPLATE)
    failures: set[str] = set()
    reached: set[tuple[str, int]] = set()
    loops: set[tuple[str, int]] = set()
    checked = 0
    for context in contexts:
        walk = Walk(env, HTML_TEMPLATE, _macros(env, context))
        walk.statements(tree.body, dict(context))
        failures.update(walk.failures)
        reached |= walk.reached
        loops |= walk.loops
        checked += walk.checked
    assert not failures, "\n".join(sorted(failures))
    assert sorted(loops - reached) == [], "loops no sample entered"
    macros = _parsed(env, (TEMPLATES / MACROS).read_text(encoding="utf-8"), MACROS)
    every = {(HTML_TEMPLATE, n.lineno) for n in tree.find_all(nodes.For)}
    every |= {(MACROS, n.lineno) for n in macros.find_all(nodes.For)}
    assert loops == every and checked > 1000  # the walk reached the whole template


def test_every_excel_cell_resolves(contexts: list[dict[str, Any]]) -> None:
    env = excel_report.environment()
    failures: set[str] = set()
    lists: dict[str, bool] = {}
    checked = 0
    sheets = list(excel_report.template_sheets(TEMPLATES / XLSX_TEMPLATE))
    for context in contexts:
        for sheet, rows in sheets:
            for r, values in enumerate(rows, 1):
                texts = [(c, v) for c, v in enumerate(values, 1) if isinstance(v, str) and "{" in v]
                marker = next(
                    (
                        excel_report.MARKER.match(v)
                        for _, v in texts
                        if excel_report.MARKER.match(v)
                    ),
                    None,
                )
                samples: list[dict[str, Any]] = [dict(context)]
                if marker is not None:
                    where = f"{sheet}!{r}: {{%row {marker.group('items')}%}}"
                    try:
                        found = list(env.compile_expression(marker.group("items"))(**context))
                    except Exception as e:
                        failures.add(f"{where}: {type(e).__name__}: {e}")
                        continue
                    name = marker.group("name")
                    samples = [
                        {**context, name: item, "index": k + 1}
                        for k, item in enumerate(found[:ITEMS_PER_LOOP])
                    ]
                    lists[where] = lists.get(where, False) or bool(samples)
                for c, text in texts:
                    tree = _parsed(env, excel_report.MARKER.sub("", text))
                    for sample in samples:
                        walk = Walk(env, f"{sheet}!{column_letter(c)}{r}")
                        walk.statements(tree.body, sample)
                        failures.update(walk.failures)
                        checked += walk.checked
    assert not failures, "\n".join(sorted(failures))
    assert sorted(k for k, entered in lists.items() if not entered) == [], "lists never filled"
    assert checked > 500 and len(lists) >= 12
