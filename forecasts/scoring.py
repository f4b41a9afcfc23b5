"""Forecast scores by horizon: MAE, RMSE, bias and skill against a reference (persistence).

Inputs are *forecast matrices*: a DataFrame indexed by issue time (UTC) with one column per
horizon ``h`` (1..H hours), holding the forecast for the hour starting ``issue + (h - 1) h``;
:func:`actual_matrix` lays the observations out the same way. Pairs where either side is NaN
are skipped, so gaps in the observations are never scored.

Skill: ``1 - RMSE_method / RMSE_reference`` (Murphy 1988; the GEFCom and IEA Wind convention).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def actual_matrix(observed: pd.Series, issues: pd.DatetimeIndex, horizons: np.ndarray) -> pd.DataFrame:
    """Observations laid out as a forecast matrix (hour ``issue + (h - 1) h`` in column ``h``)."""
    values = observed.to_numpy(dtype=float)
    position = observed.index.get_indexer(issues)
    if (position < 0).any():
        raise KeyError(f"issue time {issues[position < 0][0]} is not on the observation index")
    target = position[:, None] + (np.asarray(horizons)[None, :] - 1)
    valid = target < len(values)
    out = np.full(target.shape, np.nan)
    out[valid] = values[target[valid]]
    return pd.DataFrame(out, index=issues, columns=list(horizons))


def scores_by_horizon(forecast: pd.DataFrame, actual: pd.DataFrame, reference: pd.DataFrame | None = None,
                      normaliser: float = 1.0) -> pd.DataFrame:
    """MAE, RMSE, bias (forecast - actual) per horizon, divided by ``normaliser`` (e.g. capacity),
    the number of pairs ``n``, and ``skill`` vs ``reference`` on the same pairs when given."""
    rows = {}
    for h in forecast.columns:
        f, a = forecast[h].to_numpy(float), actual[h].to_numpy(float)
        ok = np.isfinite(f) & np.isfinite(a)
        if reference is not None:
            r = reference[h].to_numpy(float)
            ok &= np.isfinite(r)
        err = f[ok] - a[ok]
        row = {"n": int(ok.sum()), "mae": np.abs(err).mean() / normaliser,
               "rmse": np.sqrt((err**2).mean()) / normaliser, "bias": err.mean() / normaliser}
        if reference is not None:
            ref_rmse = np.sqrt(((r[ok] - a[ok]) ** 2).mean())
            row["skill"] = 1.0 - np.sqrt((err**2).mean()) / ref_rmse if ref_rmse > 0 else np.nan
        rows[int(h)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("horizon_h")


def format_table(table: pd.DataFrame, title: str) -> str:
    """A fixed-width text table of :func:`scores_by_horizon` output."""
    lines = [title, f"{'h':>3} {'n':>7} {'MAE':>8} {'RMSE':>8} {'bias':>8} {'skill':>7}"]
    for h, row in table.iterrows():
        skill = row.get("skill", np.nan)
        lines.append(f"{h:>3} {int(row['n']):>7} {row['mae']:>8.4f} {row['rmse']:>8.4f} {row['bias']:>+8.4f} "
                     f"{skill:>7.3f}")
    return "\n".join(lines)
