"""A self-contained HTML report of a simulation: where and when energy was used, green vs grid."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from control.reporting.png import png_base64  # noqa: E402
from control.simulate import PolicyRun  # noqa: E402

SUMMARY_COLUMNS = [
    ("energy_mwh", "Energy [MWh]", "{:,.1f}"),
    ("green_energy_mwh", "Green [MWh]", "{:,.1f}"),
    ("grid_energy_mwh", "Grid [MWh]", "{:,.1f}"),
    ("green_share", "Green share", "{:.1%}"),
    ("emissions_tco2", "Emissions [tCO2]", "{:,.1f}"),
    ("deadline_misses", "Deadline misses", "{:d}"),
    ("grid_violation_mwh", "Grid violation [MWh]", "{:,.2f}"),
    ("solve_s_mean", "Decision [s]", "{:.2f}"),
]


def format_table(summary: Mapping[str, Mapping[str, float]]) -> str:
    """Plain-text table of the main numbers per policy (for the terminal)."""
    widths = [max(len(label), 9) + 2 for _, label, _ in SUMMARY_COLUMNS]
    header = f"{'policy':<12}" + "".join(f"{label:>{w}}" for (_, label, _), w in zip(SUMMARY_COLUMNS, widths, strict=True))
    lines = [header, "-" * len(header)]
    for name, numbers in summary.items():
        cells = "".join(f"{fmt.format(numbers[key]):>{w}}" for (key, _, fmt), w in zip(SUMMARY_COLUMNS, widths, strict=True))
        lines.append(f"{name:<12}{cells}")
    return "\n".join(lines)


def energy_by_site_plot(run: PolicyRun) -> str:
    """Stacked hourly energy per site, green (solid) and grid (hatched)."""
    frame = run.site_hour
    green = frame.pivot(index="time", columns="site", values="green_used_mw")
    grid = frame.pivot(index="time", columns="site", values="grid_import_mw")
    sites = list(dict.fromkeys(frame["site"]))
    fig, axes = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True)
    tab10 = plt.get_cmap("tab10")
    colours = [tab10(i) for i in range(tab10.N)]
    axes[0].stackplot(green.index, [green[s] for s in sites], labels=sites, colors=colours[: len(sites)])
    axes[0].set_ylabel("green power used [MW]")
    axes[0].legend(loc="upper left", ncol=4, fontsize=8)
    axes[1].stackplot(grid.index, [grid[s] for s in sites], labels=sites, colors=colours[: len(sites)], alpha=0.6)
    axes[1].set_ylabel("grid power [MW]")
    axes[1].set_xlabel("time (UTC)")
    fig.suptitle(f"{run.policy}: where and when energy was used")
    return png_base64(fig)


def site_totals_plot(runs: Mapping[str, PolicyRun]) -> str:
    """Green and grid energy per site, one bar group per policy."""
    fig, ax = plt.subplots(figsize=(12, 4))
    names = list(runs)
    sites = list(dict.fromkeys(next(iter(runs.values())).site_hour["site"]))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        totals = runs[name].site_hour.groupby("site")[["green_used_mw", "grid_import_mw"]].sum().reindex(sites)
        x = [i + k * width for i in range(len(sites))]
        ax.bar(x, totals["green_used_mw"], width, label=f"{name} green", color=f"C{k}")
        ax.bar(x, totals["grid_import_mw"], width, bottom=totals["green_used_mw"], label=f"{name} grid",
               color=f"C{k}", alpha=0.4, hatch="//")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(sites))], sites, rotation=20)
    ax.set_ylabel("energy [MWh]")
    ax.legend(ncol=len(names), fontsize=8)
    ax.set_title("Energy per site: green (solid) and grid (hatched)")
    return png_base64(fig)


def write_simulation_report(path: Path, summary: dict, runs: Mapping[str, PolicyRun], extra_html: str = "") -> Path:
    """Write ``report.html``: numbers per policy, plots per site and over time, then ``extra_html``
    (the carbon-accounting section)."""
    rows = []
    for name, numbers in summary["policies"].items():
        cells = "".join(f"<td>{html.escape(fmt.format(numbers[key]))}</td>" for key, _, fmt in SUMMARY_COLUMNS)
        rows.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in SUMMARY_COLUMNS)
    images = [f'<img alt="energy per site and policy" src="data:image/png;base64,{site_totals_plot(runs)}">']
    for run in runs.values():
        images.append(f'<img alt="{html.escape(run.policy)} energy over time" '
                      f'src="data:image/png;base64,{energy_by_site_plot(run)}">')
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>codispatch simulation: {html.escape(summary['scenario'])}</title>
<style>body{{font-family:sans-serif;max-width:1250px;margin:auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} img{{max-width:100%}}</style></head>
<body>
<h1>Simulation of scenario <code>{html.escape(summary['scenario'])}</code></h1>
<p>{summary['days']} days, {summary['sites']} data centres, {summary['jobs']} deferrable jobs with release and
deadline inside the period. Each policy decides hour by hour; the hour is then played on the actual
renewable supply: a site uses its own or contracted green power first and draws the rest from the grid at
its region's average emission factor.</p>
<table><tr><th>policy</th>{header}</tr>{''.join(rows)}</table>
<p><b>Green share</b>: energy covered by the site's own or contracted renewables.
<b>Grid violation</b>: energy drawn above a site's grid import limit.
<b>Deadline misses</b>: jobs not finished by their deadline.</p>
{''.join(images)}
{extra_html}
</body></html>"""
    path.write_text(body, encoding="utf-8")
    return path
