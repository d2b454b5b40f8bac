"""The report's figures as JSON (`funnel-sync report --format json`): the context the templates
render, for a BI tool or a script that should not parse HTML. Dates are ISO strings, missing
values null; README "The weekly report" lists every key."""

from __future__ import annotations

import json

from funnel_sync.funnel import ReportContext, jsonable


def render_json(context: ReportContext) -> str:
    return json.dumps(jsonable(context), ensure_ascii=False, indent=1) + "\n"
