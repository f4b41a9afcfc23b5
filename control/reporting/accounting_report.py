"""Carbon-accounting report: CSV ledger files and a self-contained HTML section or page.

The HTML is written for a reader who never saw the tool: what was measured, by which standard,
with which factor set and version, how sure the numbers are, and the checks that prove nothing
was lost between job, site and period totals.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import pandas as pd

from control.reporting import accounting_plots as plots
from control.accounting.avoided import emission_unit
from control.accounting.checks import conservation_checks, format_checks
from control.accounting.ledger import Ledger
from control.safe_csv import write_csv

logger = logging.getLogger(__name__)

TOP_JOBS = 15
PAGE_STYLE = ("body{font-family:sans-serif;max-width:1250px;margin:auto} table{border-collapse:collapse;margin:6px 0}"
              " td,th{border:1px solid #ccc;padding:4px 8px;text-align:right} img{max-width:100%}")
SECTION_STYLE = ("<style>.wide{overflow-x:auto} .wide th{background:#f4f4f4;white-space:normal;"
                 "overflow-wrap:anywhere;min-width:4.5em;max-width:8em;font-size:90%;vertical-align:bottom}"
                 " .wide td{font-size:90%;overflow-wrap:anywhere;max-width:24em}"
                 " .estimate{background:#fff6e0;padding:4px 10px;border-left:4px solid #f0a000}</style>")
"""Styles of the accounting section itself, so that it reads the same inside the simulation report."""
RUN_BASIS = "built from the energy actually dispatched and settled hour by hour, never from forecasts"
STORE_BASIS = ("read from the daemon's store: the carbon-ledger rows booked for each settled hour, summed per site "
               "and hour; the data-quality list below says which of them rest on forecasts or filled-in values")
"""How the inventory's numbers came about, for the report's opening sentence."""


def write_ledger_csv(ledger: Ledger, directory: Path, checks: pd.DataFrame | None = None) -> list[Path]:
    """Write the ledger at job-hour, site-hour, site-day and period level (and per job).

    Files: ``job_hour.csv``, ``site_hour.csv``, ``site_day.csv``, ``period.csv``,
    ``job_intensity.csv``, ``conservation.csv`` and, when any, ``rejected_instruments.csv``.
    Times are UTC (ISO 8601); energies MWh; emissions t of the gas in the column name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "job_hour.csv": ledger.job_hour,
        "site_hour.csv": ledger.site_hour,
        "site_day.csv": ledger.site_day(),
        "period.csv": ledger.period(),
        "job_intensity.csv": ledger.job_intensity(),
        "conservation.csv": checks if checks is not None else conservation_checks(ledger),
    }
    if not ledger.rejected_instruments.empty:
        files["rejected_instruments.csv"] = ledger.rejected_instruments
    paths = []
    for name, frame in files.items():
        path = directory / name
        write_csv(frame, path, index=False)
        paths.append(path)
    return paths


def accounting_html(ledger: Ledger, avoided: pd.DataFrame | None, policy: str,
                    summary_emissions_tco2: float | None = None, flags: list[str] | None = None,
                    basis: str = RUN_BASIS) -> str:
    """The accounting section of a report (HTML fragment, plots embedded as base64 PNG); ``basis``
    says where the numbers come from (a simulation run, or the store)."""
    unit = emission_unit(ledger)
    gas = "CO<sub>2</sub>" if unit == "tco2" else "CO<sub>2</sub>e"
    label = "tCO2" if unit == "tco2" else "tCO2e"
    period = ledger.period()
    tot = period.set_index("site").loc["TOTAL"]
    checks = conservation_checks(ledger, summary_emissions_tco2)
    f = ledger.factors
    parts = [
        SECTION_STYLE,
        f"<h2>Carbon accounting: {html.escape(policy)} run</h2>",
        f"<p>Scope 2 inventory of the electricity the data centres used from {_when(ledger, 'min')} to "
        f"{_when(ledger, 'max')} (UTC), {html.escape(basis)}. Emissions are <b>{gas}</b> ({label}); the other gas "
        f"is not reported because the factor set does not give it. Location-based factor set: "
        f'<b id="factor-set">{html.escape(f.name)}</b>, version <b id="factor-version">{html.escape(f.version)}</b>.</p>',
        "<table><tr><th>facility energy [MWh]</th><th>green used [MWh]</th><th>grid [MWh]</th>"
        f"<th>location-based [{label}]</th><th>market-based [{label}]</th><th>24/7 CFE score</th></tr>"
        f'<tr><td id="total-energy-mwh">{tot.facility_energy_mwh:,.3f}</td>'
        f'<td id="total-green-mwh">{tot.green_energy_mwh:,.3f}</td><td id="total-grid-mwh">{tot.grid_energy_mwh:,.3f}</td>'
        f'<td id="total-location">{tot[f"location_{unit}"]:,.3f}</td><td id="total-market">{tot[f"market_{unit}"]:,.3f}</td>'
        f'<td id="total-cfe">{_pct(tot.cfe_score)}</td></tr></table>',
        f"<p>{html.escape(format_checks(checks))}.</p>",
        "<h3>Supply</h3>",
        _img("hourly supply stack per site", plots.supply_stack(ledger)),
        _img("green share and CFE by site", plots.shares_by_site(period)),
        "<h3>Emissions by method</h3>",
        _img("emissions by method", plots.emissions_by_method(period, unit)),
        "<h3>Per site over the period</h3>",
        _table(period, table_id="per-site", columns=["site", "it_energy_mwh", "facility_energy_mwh", "onsite_green_mwh", "curtailment_absorbed_mwh",
                        "grid_energy_mwh", "contracted_ppa_mwh", "contracted_green_power_trading_mwh",
                        "contracted_certificate_mwh", "residual_mwh", f"location_{unit}", f"market_{unit}",
                        "green_share", "cfe_score"]),
    ]
    if avoided is not None:
        row = avoided.set_index("site").loc["TOTAL"]
        parts += [
            "<h3>Avoided emissions (estimate, not part of the inventory)</h3>",
            '<p class="estimate">An <b>estimate</b>, shown apart from the inventory above and never subtracted '
            "from it: the same jobs simulated without codispatch (each at its home site as soon as released) "
            "minus what happened, with the same weather, grid and factor set. Migration overhead (checkpoint "
            f"transfers, idle GPUs) is charged to the actual side. Location-based: "
            f'<b id="avoided-location">{row[f"avoided_location_{unit}"]:,.3f}</b> {label} avoided '
            f'({row[f"counterfactual_location_{unit}"]:,.3f} counterfactual vs {row[f"actual_location_{unit}"]:,.3f} '
            f'actual); market-based: <b id="avoided-market">{row[f"avoided_market_{unit}"]:,.3f}</b> {label}.</p>',
            _img("avoided emissions versus the carbon-agnostic baseline", plots.avoided_vs_baseline(avoided, unit)),
            _table(avoided, list(avoided.columns)),
        ]
    jobs = ledger.job_intensity().head(TOP_JOBS)
    per = f"g{unit[1:]}_per_gpu_h"
    parts += [
        f"<h3>Top {len(jobs)} jobs by location-based emissions</h3>",
        _img("top jobs", plots.top_jobs(jobs, unit)),
        f"<p>Intensity in grams of {gas} per reference-GPU hour of work, so that runs can be compared.</p>",
        _table(jobs, ["job_id", "work_gpu_h", "facility_energy_mwh", f"location_{unit}", f"location_{per}",
                      f"market_{per}"]),
        "<h3>Contractual instruments not counted</h3>",
        ("<p>None.</p>" if ledger.rejected_instruments.empty
         else _table(ledger.rejected_instruments, list(ledger.rejected_instruments.columns))),
        "<h3>Conservation checks</h3>",
        "<p>Every energy and emission column summed over jobs equals the site-hour, the supply split adds up "
        "to the facility energy, and day and period totals equal the hourly sum (tolerance 1e-6 MWh or t).</p>",
        _table(checks, ["identity", "max_abs_difference", "holds"], "{:.1e}"),
        "<h3>Data quality</h3>",
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in (flags if flags is not None else f.flags)) + "</ul>",
        methodology(ledger),
    ]
    return "\n".join(parts)


def methodology(ledger: Ledger) -> str:
    """The methodology section: standards, formulas, factor set and version."""
    f = ledger.factors
    kind = f.basis or ("hourly" if f.location_hourly_t_per_mwh is not None else "annual")
    source = f" Source: {html.escape(f.source)}." if f.source else ""
    return f"""
<h3>Methodology</h3>
<ul>
<li><b>Standard</b>: GHG Protocol Scope 2 Guidance (WRI/WBCSD, 2015), dual reporting of location- and
market-based totals. Facility energy = IT energy x PUE (plus idle energy while a migrating job waits for
its checkpoint), or the meter reading where one is given.</li>
<li><b>Location-based</b> (ch. 6): grid energy x the grid-average emission factor of the site's region.
Factor set <b>{html.escape(f.name)}</b>, version <b>{html.escape(f.version)}</b> (<span id="factor-basis">{html.escape(kind)}</span> factors,
<span id="factor-gas">{html.escape(f.gas)}</span>).{source} Renewable power generated on site or by co-located plants and used behind
the meter has zero emissions. Restating the period with the same version gives identical numbers.</li>
<li><b>Market-based</b> (ch. 6-7): grid energy covered by contractual instruments (PPAs, green power
trading, unbundled certificates such as China's GEC) that meet the Scope 2 quality criteria (unique
claim, retired for this claim, same market, vintage of the reporting year) at the instrument's factor;
the rest at the region's residual-mix factor (a region without one: the hour's location factor, an estimate). Instruments that fail a criterion are listed and not
counted. Instrument MWh are spread over a site's hours pro rata to its grid energy.</li>
<li><b>Supply split</b> per site-hour: on-site/co-located green, green that would otherwise have been
curtailed (absorbed), grid (covered by instruments, by kind, and residual); jobs get each site-hour's
split and emissions pro rata to their facility energy.</li>
<li><b>24/7 carbon-free energy score</b> per hour: (min(load, clean supply) + grid carbon-free share x
grid energy) / load, with no carry-over between hours (Google, "24/7 Carbon-Free Energy: Methodologies
and Metrics", 2021); period scores weight hours by load.</li>
<li><b>Avoided emissions</b>: counterfactual carbon-agnostic dispatch of the same jobs minus actual, for
each method; an estimate kept apart from the inventory.</li>
<li>Times are UTC; days in the site-day table are UTC days. Energies are MWh.</li>
</ul>
"""


def write_page(path: Path, title: str, body: str) -> Path:
    """A self-contained HTML page around ``body``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{PAGE_STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>""", encoding="utf-8")
    return path


def _when(ledger: Ledger, which: str) -> str:
    hours = ledger.site_hour["hour"]
    if hours.empty:
        return "n/a"
    stamp = hours.min() if which == "min" else hours.max() + pd.Timedelta(hours=1)
    return stamp.strftime("%Y-%m-%d %H:%M")


def _img(alt: str, data: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _pct(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1%}"


def _table(frame: pd.DataFrame, columns: list[str], float_format: str = "{:,.3f}", table_id: str = "") -> str:
    """An HTML table; column names break at their underscores so wide tables fit a 1280 px window."""
    def cell(value) -> str:  # noqa: ANN001
        if isinstance(value, float):
            return "" if pd.isna(value) else float_format.format(value)
        return html.escape(str(value))
    columns = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{html.escape(c).replace('_', '_<wbr>')}</th>" for c in columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame[columns].itertuples(index=False))
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return f'<div class="wide"><table{ident}><tr>{head}</tr>{rows}</table></div>'
