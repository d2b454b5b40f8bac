"""numpy and pandas values as plain Python values (NaN and NaT as None, dates as dates): what
the report's figures hold, so that a template, the e-mail and the JSON read them as they are."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from funnel_sync.model import Stage


def _num(value: Any) -> float:
    v = float(value) if value is not None else 0.0
    return 0.0 if math.isnan(v) else v


def _int(value: Any) -> int:
    return int(_num(value))


def _maybe(value: Any, digits: int = 1) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else round(v, digits)


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as Python values; NaN/NaT as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    return value


_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def _column(series: pd.Series) -> list[Any]:
    """A column as plain Python values: dates as dates, NaN/NaT as None, numpy as Python."""
    if pd.api.types.is_datetime64_any_dtype(series):
        # datetime64[D] → object gives datetime.date (and None for NaT) in C
        return list(series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(object))
    if pd.api.types.is_float_dtype(series):
        return [None if v != v else v for v in series.tolist()]
    values = series.tolist()
    if set(map(type, values)) <= _PLAIN_TYPES:  # _plain would return each value as it is
        return values
    return [_plain(v) for v in values]


def _grouped(series: pd.Series) -> dict[Any, Any]:
    return {k: _plain(v) for k, v in series.to_dict().items()}


def stage_code(value: int | None) -> str:
    return Stage(value).code if value is not None and value >= 0 else ""


#: stage_code(i) at index i + 1, for i from -1 (no class) to the last Stage
_STAGE_CODE_TABLE = np.array([stage_code(i) for i in range(-1, max(Stage) + 1)], dtype=object)


def _stage_codes(values: pd.Series) -> pd.Series:
    """stage_code of an int column of classes (-1 for none), by table lookup."""
    return pd.Series(_STAGE_CODE_TABLE[values.to_numpy() + 1], index=values.index, dtype=object)
