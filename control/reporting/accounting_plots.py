"""Plots of the carbon-accounting report, each returned as a base64 PNG for a self-contained page."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from control.accounting.ledger import Ledger  # noqa: E402
from control.reporting.png import png_base64  # noqa: E402

logger = logging.getLogger(__name__)

SUPPLY = [  # column, label, colour: bottom to top of the stack
    ("onsite_green_mwh", "on-site / co-located green", "#2ca02c"),
    ("curtailment_absorbed_mwh", "absorbed curtailment", "#98df8a"),
    ("contracted_mwh", "grid, covered by instruments", "#17becf"),
    ("residual_mwh", "grid, residual", "#7f7f7f"),
]


def png(fig) -> str:  # noqa: ANN001
    """Render and close ``fig``; base64 PNG text."""
    return png_base64(fig, dpi=80)


def supply_stack(ledger: Ledger) -> str:
    """Hourly supply stack per site [MWh]."""
    sh = ledger.site_hour
    sites = list(dict.fromkeys(sh["site"]))
    fig, axes = plt.subplots(len(sites), 1, figsize=(12, 1.3 * len(sites) + 0.8), sharex=True, squeeze=False)
    for ax, site in zip(axes[:, 0], sites, strict=True):
        rows = sh[sh["site"] == site]
        ax.stackplot(rows["hour"], *[rows[c] for c, _, _ in SUPPLY], colors=[c for _, _, c in SUPPLY],
                     labels=[label for _, label, _ in SUPPLY])
        ax.set_ylabel(site, rotation=0, ha="right", fontsize=8)
    axes[0, 0].legend(loc="upper right", ncol=4, fontsize=8)
    axes[0, 0].set_title("hourly supply per site [MWh]")
    axes[-1, 0].set_xlabel("time (UTC)")
    return png(fig)


def shares_by_site(period: pd.DataFrame) -> str:
    """Green share and 24/7 CFE score per site (and the fleet)."""
    fig, ax = plt.subplots(figsize=(12, 3.2))
    x = list(range(len(period)))
    ax.bar([i - 0.2 for i in x], period["green_share"].fillna(0), width=0.4, label="green share", color="#2ca02c")
    ax.bar([i + 0.2 for i in x], period["cfe_score"].fillna(0), width=0.4, label="24/7 CFE score", color="#1f77b4")
    ax.set_xticks(x, period["site"], rotation=30, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("green share and hourly carbon-free energy score by site")
    ax.legend(fontsize=8)
    return png(fig)


def emissions_by_method(period: pd.DataFrame, unit: str) -> str:
    """Location- and market-based emissions per site."""
    sites = period[period["site"] != "TOTAL"]
    fig, ax = plt.subplots(figsize=(12, 3.2))
    x = list(range(len(sites)))
    ax.bar([i - 0.2 for i in x], sites[f"location_{unit}"], width=0.4, label="location-based", color="#d62728")
    ax.bar([i + 0.2 for i in x], sites[f"market_{unit}"], width=0.4, label="market-based", color="#ff7f0e")
    ax.set_xticks(x, sites["site"], rotation=30, fontsize=8)
    ax.set_ylabel(_label(unit))
    ax.set_title("emissions by method and site")
    ax.legend(fontsize=8)
    return png(fig)


def avoided_vs_baseline(avoided: pd.DataFrame, unit: str) -> str:
    """Counterfactual (carbon-agnostic) vs actual emissions per site, both methods."""
    rows = avoided[avoided["site"] != "TOTAL"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.2), sharey=True)
    x = list(range(len(rows)))
    for ax, method in zip(axes, ("location", "market"), strict=True):
        ax.bar([i - 0.2 for i in x], rows[f"counterfactual_{method}_{unit}"], width=0.4,
               label="without codispatch (estimate)", color="#7f7f7f")
        ax.bar([i + 0.2 for i in x], rows[f"actual_{method}_{unit}"], width=0.4, label="actual", color="#2ca02c")
        ax.set_xticks(x, rows["site"], rotation=30, fontsize=8)
        ax.set_title(f"{method}-based")
    axes[0].set_ylabel(_label(unit))
    axes[0].legend(fontsize=8)
    return png(fig)


LABEL_CHARS = 24
"""Longest axis label drawn in a chart; longer job ids are shortened (the full ids are in the
table under the chart and in the ledger CSV), so the image size does not grow with the id."""


def short_labels(labels: list[str], max_chars: int = LABEL_CHARS) -> list[str]:
    """Labels of at most ``max_chars`` characters: long ones keep their start and end around an
    ellipsis; shortened labels that collide get a ``#n`` so bars stay distinct."""
    out: list[str] = []
    for label in labels:
        text = " ".join(str(label).split())  # newlines and tabs would stretch the axis too
        if len(text) > max_chars:
            keep = max_chars - 1
            text = text[: keep - keep // 3] + "\u2026" + text[len(text) - keep // 3:]
        base, n = text, 2
        while text in out:
            text = f"{base[: max_chars - len(str(n)) - 1]}#{n}"
            n += 1
        out.append(text)
    return out


def top_jobs(jobs: pd.DataFrame, unit: str) -> str:
    """Location-based emissions of the jobs that emitted most."""
    fig, ax = plt.subplots(figsize=(12, 3))
    ax.bar(range(len(jobs)), jobs[f"location_{unit}"], color="#d62728")
    ax.set_xticks(range(len(jobs)), short_labels(list(jobs["job_id"].astype(str))))
    ax.set_ylabel(f"location-based {_label(unit)}")
    ax.set_title("top jobs by location-based emissions")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return png(fig)


def _label(unit: str) -> str:
    return "tCO2" if unit == "tco2" else "tCO2e"
