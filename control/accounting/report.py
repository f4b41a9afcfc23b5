"""Carbon-accounting report: CSV ledger files and a self-contained HTML section with plots."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from control.accounting.checks import conservation_checks  # noqa: E402
from control.accounting.ledger import Ledger  # noqa: E402

TOP_JOBS = 15


def write_ledger_csv(ledger: Ledger, directory: Path) -> list[Path]:
    """``job_hour.csv``, ``site_day.csv``, ``period.csv`` and ``job_intensity.csv`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "job_hour.csv": ledger.job_hour,
        "site_day.csv": ledger.site_day(),
        "period.csv": ledger.period(),
        "job_intensity.csv": ledger.job_intensity(),
    }
    if not ledger.rejected_instruments.empty:
        files["rejected_instruments.csv"] = ledger.rejected_instruments
    paths = []
    for name, frame in files.items():
        path = directory / name
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def accounting_html(ledger: Ledger, avoided: pd.DataFrame | None, policy: str,
                    summary_emissions_tco2: float | None = None) -> str:
    """The accounting section of a report (HTML fragment, plots embedded as PNG)."""
    period = ledger.period()
    total = period.set_index("site").loc["TOTAL"]
    checks = conservation_checks(ledger, summary_emissions_tco2)
    parts = [
        f"<h2>Carbon accounting: {html.escape(policy)} run</h2>",
        "<p>Inventory of the electricity the data centres used, from the energy actually dispatched and "
        "settled hour by hour (never from forecasts). Emissions are CO<sub>2</sub> only (tCO2), "
        f"location-based with <b>{html.escape(ledger.factors.name)}</b>, version "
        f"<b>{html.escape(ledger.factors.version)}</b>.</p>",
        "<table><tr><th>facility energy [MWh]</th><th>green used [MWh]</th><th>grid [MWh]</th>"
        "<th>location-based [tCO2]</th><th>market-based [tCO2]</th><th>24/7 CFE score</th></tr>"
        f"<tr><td>{total.facility_energy_mwh:,.1f}</td><td>{total.green_energy_mwh:,.1f}</td>"
        f"<td>{total.grid_energy_mwh:,.1f}</td><td>{total.location_tco2:,.2f}</td>"
        f"<td>{total.market_tco2:,.2f}</td><td>{_pct(total.cfe_score)}</td></tr></table>",
        f'<img alt="hourly supply per site" src="data:image/png;base64,{_supply_plot(ledger)}">',
        f'<img alt="green share and CFE by site" src="data:image/png;base64,{_site_bars(period)}">',
        "<h3>Per site over the period</h3>", _table(period, ["site", "facility_energy_mwh", "onsite_green_mwh",
                                                            "curtailment_absorbed_mwh", "grid_energy_mwh",
                                                            "contracted_mwh", "location_tco2", "market_tco2",
                                                            "green_share", "cfe_score"]),
    ]
    if avoided is not None:
        row = avoided.set_index("site").loc["TOTAL"]
        parts += [
            "<h3>Avoided emissions (estimate, not part of the inventory)</h3>",
            "<p>The same jobs simulated without codispatch (each at its home site as soon as released) "
            "minus what happened, with the same factor set. Migration overhead (checkpoint transfers, "
            f"idle GPUs) is charged to the actual side. Location-based: <b>{row.avoided_location_tco2:,.2f} tCO2</b> "
            f"avoided ({row.counterfactual_location_tco2:,.2f} counterfactual vs {row.actual_location_tco2:,.2f}); "
            f"market-based: <b>{row.avoided_market_tco2:,.2f} tCO2</b>.</p>",
            f'<img alt="avoided emissions by site" src="data:image/png;base64,{_avoided_plot(avoided)}">',
        ]
    jobs = ledger.job_intensity().head(TOP_JOBS)
    parts += [
        f"<h3>Top {len(jobs)} jobs by location-based emissions</h3>",
        f'<img alt="top jobs" src="data:image/png;base64,{_top_jobs_plot(jobs)}">',
        _table(jobs, ["job_id", "work_gpu_h", "facility_energy_mwh", "location_tco2", "location_g_per_gpu_h",
                      "market_g_per_gpu_h"]),
        "<h3>Instruments not counted</h3>",
        ("<p>None.</p>" if ledger.rejected_instruments.empty
         else _table(ledger.rejected_instruments, list(ledger.rejected_instruments.columns))),
        "<h3>Conservation checks</h3>",
        _table(checks, ["identity", "max_abs_difference", "holds"]),
        "<h3>Data quality</h3>",
        "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in ledger.factors.flags) + "</ul>"
        if ledger.factors.flags else "<p>No estimated values.</p>",
        METHODOLOGY,
    ]
    return "\n".join(parts)


METHODOLOGY = """
<h3>Methodology</h3>
<ul>
<li><b>Scope 2, location-based</b> (GHG Protocol Scope 2 Guidance, 2015, ch. 6): grid energy x the
grid-average emission factor of the site's region in the named factor set. Renewable power generated
on site or by co-located plants and used behind the meter has zero emissions.</li>
<li><b>Scope 2, market-based</b> (ch. 6-7): grid energy covered by contractual instruments (PPAs, green
power trading, unbundled certificates) that meet the Scope 2 quality criteria (unique claim, retired,
same market, vintage of the reporting year) at the instrument's factor; the rest at the region's
residual-mix factor. Instruments that fail a criterion are listed and not counted.</li>
<li><b>Supply split</b> per site-hour: on-site/co-located green, green that would otherwise have been
curtailed (absorbed), grid; jobs get each site-hour's split pro rata to their facility energy
(IT energy x PUE, plus idle energy while a migrating job waits for its checkpoint).</li>
<li><b>24/7 carbon-free energy score</b> per hour: (min(load, clean supply) + grid carbon-free share x
grid energy) / load; no carry-over between hours; period scores weight hours by load.</li>
<li><b>Avoided emissions</b>: counterfactual carbon-agnostic dispatch of the same jobs minus actual, an
estimate kept apart from the inventory.</li>
<li>Times are UTC; days in the site-day table are UTC days. Energies are MWh (hourly MW sums).</li>
</ul>
"""


def _pct(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1%}"


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:,.3f}"
        return html.escape(str(value))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame[columns].itertuples(index=False))
    return f"<table><tr>{head}</tr>{rows}</table>"


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _supply_plot(ledger: Ledger) -> str:
    sh = ledger.site_hour
    sites = list(dict.fromkeys(sh["site"]))
    fig, axes = plt.subplots(len(sites), 1, figsize=(12, 1.3 * len(sites) + 0.8), sharex=True, squeeze=False)
    for ax, site in zip(axes[:, 0], sites, strict=True):
        rows = sh[sh["site"] == site]
        ax.stackplot(rows["hour"], rows["onsite_green_mwh"], rows["curtailment_absorbed_mwh"], rows["grid_energy_mwh"],
                     colors=["#2ca02c", "#98df8a", "#7f7f7f"], labels=["on-site green", "absorbed curtailment", "grid"])
        ax.set_ylabel(site, rotation=0, ha="right", fontsize=8)
    axes[0, 0].legend(loc="upper right", ncol=3, fontsize=8)
    axes[0, 0].set_title("hourly supply per site [MWh]")
    axes[-1, 0].set_xlabel("time (UTC)")
    return _png(fig)


def _site_bars(period: pd.DataFrame) -> str:
    sites = period[period["site"] != "TOTAL"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
    x = range(len(sites))
    axes[0].bar([i - 0.2 for i in x], sites["green_share"], width=0.4, label="green share", color="#2ca02c")
    axes[0].bar([i + 0.2 for i in x], sites["cfe_score"], width=0.4, label="24/7 CFE score", color="#1f77b4")
    axes[0].set_xticks(list(x), sites["site"], rotation=30, fontsize=8)
    axes[0].set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    axes[1].bar([i - 0.2 for i in x], sites["location_tco2"], width=0.4, label="location-based", color="#d62728")
    axes[1].bar([i + 0.2 for i in x], sites["market_tco2"], width=0.4, label="market-based", color="#ff7f0e")
    axes[1].set_xticks(list(x), sites["site"], rotation=30, fontsize=8)
    axes[1].set_ylabel("tCO2")
    axes[1].legend(fontsize=8)
    return _png(fig)


def _avoided_plot(avoided: pd.DataFrame) -> str:
    rows = avoided[avoided["site"] != "TOTAL"]
    fig, ax = plt.subplots(figsize=(12, 3))
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], rows["counterfactual_location_tco2"], width=0.4, label="without codispatch", color="#7f7f7f")
    ax.bar([i + 0.2 for i in x], rows["actual_location_tco2"], width=0.4, label="actual", color="#2ca02c")
    ax.set_xticks(list(x), rows["site"], rotation=30, fontsize=8)
    ax.set_ylabel("location-based tCO2")
    ax.legend(fontsize=8)
    return _png(fig)


def _top_jobs_plot(jobs: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(12, 3))
    ax.bar(jobs["job_id"], jobs["location_tco2"], color="#d62728")
    ax.set_ylabel("location-based tCO2")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return _png(fig)
