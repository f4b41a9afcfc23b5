"""Plots of ``codispatch forecast-eval`` (PNG next to the JSON)."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

logger = logging.getLogger(__name__)


def plot_solar(result: dict, frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Daily energy model vs measured (flags coloured) and forecast skill by horizon."""
    daily, table = frames["daily"].dropna(subset=["measured", "model"]), frames["table"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for flagged, colour, label in ((False, "tab:blue", "unflagged"), (True, "tab:red", "flagged")):
        part = daily[daily["flagged"] == flagged]
        left.scatter(part["measured"], part["model"], s=8, c=colour, label=f"{label} ({len(part)} d)")
    top = float(max(daily["measured"].max(), daily["model"].max()))
    left.plot([0, top], [0, top], "k--", lw=0.8)
    left.set(xlabel="measured daily energy [MWh]", ylabel="pvlib model [MWh]",
             title=f"{result['score_year']}: nMAE {result['daily_energy_nmae']:.3f} "
                   f"(unflagged {result['daily_energy_nmae_unflagged']:.3f})")
    left.legend()
    right.plot(table.index, table["skill"], marker=".", label="blend")
    right.plot([int(k) for k in result["climatology_skill_vs_persistence"]],
               list(result["climatology_skill_vs_persistence"].values()), marker=".", label="climatology")
    right.axhline(0, color="k", lw=0.8)
    right.set(xlabel="horizon [h]", ylabel="skill vs smart persistence", title="forecast skill by horizon")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_wind(result: dict, frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Skill vs persistence and RMSE by horizon."""
    table, clim = frames["table"], frames["climatology"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.plot(table.index, table["skill"], marker=".", label="NWP model")
    left.plot(clim.index, clim["skill"], marker=".", label="climatology")
    left.axhline(0.25, color="grey", ls="--", lw=0.8, label="target 0.25")
    left.axhline(0, color="k", lw=0.8)
    left.set(xlabel="horizon [h]", ylabel="skill vs persistence", title=f"farm {result['farm']}")
    left.legend()
    right.plot(table.index, table["rmse"], marker=".", label="NWP model")
    right.plot(clim.index, clim["rmse"], marker=".", label="climatology")
    right.set(xlabel="horizon [h]", ylabel="RMSE [pu of capacity]")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_china_intensity(frame: pd.DataFrame, region: str, path: Path) -> Path:
    """AVERAGE carbon intensity of a regional grid against its wind and solar output: one spring
    week (local time) and the hourly scatter of the year."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    week = frame.loc["2018-04-09":"2018-04-15"]
    local = week.index.tz_convert("Asia/Shanghai")
    left.plot(local, week["ci_g_per_kwh"], color="k", label="average CI [g/kWh]")
    twin = left.twinx()
    twin.fill_between(local, 0, week["wind_mw"] / 1e3, alpha=0.4, label="wind [GW]")
    twin.fill_between(local, week["wind_mw"] / 1e3, (week["wind_mw"] + week["solar_mw"]) / 1e3, alpha=0.4,
                      color="gold", label="solar [GW]")
    left.set(ylabel="gCO2/kWh (average, not marginal)", title=f"{region} grid, one week (UTC+8)")
    twin.set_ylabel("GW")
    left.legend(loc="upper left")
    twin.legend(loc="upper right")
    left.tick_params(axis="x", rotation=30)
    share = (frame["wind_mw"] + frame["solar_mw"]) / frame["demand_mw"]
    right.scatter(share, frame["ci_g_per_kwh"], s=2, alpha=0.3)
    right.set(xlabel="(wind + solar) / demand", ylabel="average CI [g/kWh]", title="hourly, whole year")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
