"""The results of a sweep: one table of every scenario's figures and parameters, and a study page.

``results_table`` has one row per scenario and policy: ``scenario_id``, ``key``, ``status``,
``error``, the swept keys (one column each, named as in the sweep file), ``days``, ``start``,
``policy``, every figure of that policy in the scenario's ``summary.json``, and
``emissions_cut_vs_agnostic_pct`` when the agnostic counterfactual ran in the same scenario.
A failed scenario has one row with ``status = failed`` and its error.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from control.sweep.execute import ResultCache
from control.safe_csv import write_csv

META_COLUMNS = ["scenario_id", "key", "status", "error"]


def results_table(out_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table of the sweep in ``out_dir`` (from its plan and cached results) and its swept keys."""
    plan = json.loads((out_dir / "plan.json").read_text(encoding="utf-8"))
    cache = ResultCache(out_dir)
    keys = list(plan["keys"])
    rows: list[dict[str, Any]] = []
    for entry in plan["scenarios"]:
        base = {"scenario_id": entry["scenario_id"], "key": entry["key"]}
        params = {k: entry["params"].get(k) for k in keys} | {"days": entry["days"], "start": entry["start"]}
        record = cache.load(entry["key"])
        if record is None:
            error = cache.load_error(entry["key"])
            status = "failed" if error is not None else "missing"
            rows.append(base | {"status": status, "error": (error or {}).get("error", "")} | params)
            continue
        policies = record["summary"]["policies"]
        agnostic = policies.get("agnostic", {}).get("emissions_tco2")
        for name, figures in policies.items():
            row = base | {"status": "done", "error": ""} | params | {"policy": name}
            row |= {k: v for k, v in figures.items() if not isinstance(v, dict | list)}
            if agnostic and name != "agnostic" and figures.get("emissions_tco2") is not None:
                row["emissions_cut_vs_agnostic_pct"] = 100.0 * (agnostic - figures["emissions_tco2"]) / agnostic
            row["jobs"] = record["summary"].get("jobs")
            row["elapsed_s"] = record.get("elapsed_s")
            rows.append(row)
    frame = pd.DataFrame(rows)
    if "policy" not in frame:
        frame["policy"] = None
    return frame, keys


def write_results(out_dir: Path, title: str = "sweep") -> dict[str, Path]:
    """Write ``results.parquet``, ``results.csv`` and ``index.html`` into ``out_dir``."""
    frame, keys = results_table(out_dir)
    paths = {"parquet": out_dir / "results.parquet", "csv": out_dir / "results.csv", "html": out_dir / "index.html"}
    _for_parquet(frame).to_parquet(paths["parquet"], index=False)
    write_csv(frame, paths["csv"], index=False)
    paths["html"].write_text(study_page(frame, keys, title), encoding="utf-8")
    return paths


def _for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Parameter columns can mix ints and floats (or hold strings): give each one type."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            values = out[column].dropna()
            if len(values) and all(isinstance(v, bool | int | float | np.number) for v in values):
                out[column] = pd.to_numeric(out[column])
            else:
                out[column] = out[column].map(lambda v: v if v is None or isinstance(v, str) else json.dumps(v))
    return out


def pareto_front(frame: pd.DataFrame, x: str = "cost", y: str = "emissions_tco2") -> pd.DataFrame:
    """Rows no other row beats on both ``x`` and ``y`` (lower is better), sorted by ``x``."""
    data = frame.dropna(subset=[x, y]).sort_values([x, y])
    keep, best = [], np.inf
    for index, value in zip(data.index, data[y], strict=True):
        if value < best - 1e-12:
            keep.append(index)
            best = value
    return data.loc[keep]


def study_page(frame: pd.DataFrame, keys: list[str], title: str) -> str:
    """A self-contained HTML page: trade-off scatter, Pareto front, one-at-a-time effects, table."""
    from control.reporting.png import plt, png_base64

    done = frame[frame["status"] == "done"]
    failed = frame[frame["status"] != "done"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>",
             f"<h1>Sweep: {html.escape(title)}</h1>",
             f"<p>{done['scenario_id'].nunique()} scenarios done, {len(failed)} failed or missing; "
             f"swept keys: {', '.join(html.escape(k) for k in keys) or 'none'}.</p>"]
    if len(done):
        policies = list(dict.fromkeys(done["policy"]))
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for marker, policy in zip("os^vDx", policies, strict=False):
            rows = done[done["policy"] == policy]
            points = axes[0].scatter(rows["cost"], rows["emissions_tco2"], c=100 * rows["green_share"], cmap="viridis",
                                     vmin=0, vmax=100, marker=marker, label=policy, edgecolors="k", linewidths=0.3)
            front = pareto_front(rows)
            axes[0].plot(front["cost"], front["emissions_tco2"], "-", lw=1, color="tab:red" if policy == policies[-1] else "0.6")
            axes[1].scatter(100 * rows["green_share"], rows["emissions_tco2"], marker=marker, label=policy)
        fig.colorbar(points, ax=axes[0], label="green share [%]")
        axes[0].set(xlabel="grid electricity cost", ylabel="emissions [tCO2]", title="emissions vs cost (line: Pareto front)")
        axes[1].set(xlabel="green share [%]", ylabel="emissions [tCO2]", title="emissions vs green share")
        axes[0].legend(fontsize=8)
        axes[1].legend(fontsize=8)
        parts.append(f"<img src='data:image/png;base64,{png_base64(fig)}'>")
        numeric_keys = [k for k in keys if pd.to_numeric(done[k], errors="coerce").notna().all()]
        if numeric_keys:
            fig, axes = plt.subplots(2, len(numeric_keys), figsize=(4.2 * len(numeric_keys), 6.5), squeeze=False)
            for col, key in enumerate(numeric_keys):
                for policy in policies:
                    rows = done[done["policy"] == policy].assign(_x=lambda d: pd.to_numeric(d[key]))  # noqa: B023
                    mean = rows.groupby("_x")[["green_share", "emissions_tco2"]].mean()
                    axes[0, col].plot(mean.index, 100 * mean["green_share"], "o-", label=policy)
                    axes[1, col].plot(mean.index, mean["emissions_tco2"], "o-", label=policy)
                axes[0, col].set(title=key, ylabel="green share [%]")
                axes[1, col].set(xlabel=key, ylabel="emissions [tCO2]")
            axes[0, 0].legend(fontsize=8)
            fig.suptitle("effect of each swept key (mean over the other keys)")
            parts.append("<h2>Effect of each swept key</h2>")
            parts.append(f"<img src='data:image/png;base64,{png_base64(fig)}'>")
        main = policies[-1]
        front = pareto_front(done[done["policy"] == main])
        parts.append(f"<h2>Pareto front ({html.escape(main)}: cost vs emissions)</h2>")
        parts.append(_table(front, ["scenario_id", *keys, "days", "cost", "emissions_tco2", "green_share"]))
        parts.append("<h2>All scenarios</h2>")
        columns = ["scenario_id", *keys, "days", "policy", "emissions_tco2", "green_share", "cost",
                   "deadline_misses", "grid_violation_mwh", "emissions_cut_vs_agnostic_pct"]
        parts.append(_table(done, [c for c in columns if c in done]))
    if len(failed):
        parts.append("<h2>Failed or missing scenarios</h2>")
        parts.append(_table(failed, ["scenario_id", *keys, "days", "status", "error"]))
    parts.append("<p>Data: results.csv / results.parquet next to this page.</p></body></html>")
    return "\n".join(parts)


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    columns = [c for c in columns if c in frame]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for _, row in frame[columns].iterrows():
        cells = []
        for c in columns:
            value = row[c]
            if isinstance(value, float):
                text = f"{100 * value:.1f}%" if c == "green_share" else f"{value:.4g}"
            else:
                text = "" if value is None else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
