"""The report's figures as JSON (`funnel-sync report --format json`): the context the templates
render, for a BI tool or a script that should not parse HTML. Dates are ISO strings, missing
values null; README "The weekly report" lists every key."""

from __future__ import annotations

import json
from pathlib import Path

from funnel_sync.funnel import ReportContext, jsonable


def write_json(context: ReportContext, path: Path) -> None:
    """Streamed to the file: at 100k opportunities the team's JSON is some 20 MB, which as one
    string (json.dumps) would cost five times that in memory."""
    with path.open("w", encoding="utf-8") as out:
        json.dump(jsonable(context), out, ensure_ascii=False, indent=1)
        out.write("\n")
