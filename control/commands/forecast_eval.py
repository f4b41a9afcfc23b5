"""``codispatch forecast-eval``: score forecasts on any file of the shared data layouts.

``codispatch forecast-eval solar --measured FILE --capacity-mw X --json OUT [--curtailment-persistence]``
``codispatch forecast-eval wind --power FILE --farm N --nwp FILE --json OUT``
``codispatch forecast-eval carbon --file ZONE.csv.gz --json OUT`` (the carbon blend, Electricity Maps layout)
``codispatch forecast-eval carbon-china --region R --grid-dir DIR --weather-dir DIR --json OUT``
(the hourly AVERAGE intensity model of a regional grid, calibrated to its published factor)

Prints MAE / RMSE / bias / skill vs persistence by horizon, and the coverage of the P10-P90 band
and the pinball loss of conformal quantiles by horizon on held-out data, writes the JSON and a plot next to it
(same name, ``.png``). The work is in :mod:`forecasts.evaluation`.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from forecasts.carbon_china import REGIONS, annual_mean_g_per_kwh, regional_intensity
from forecasts.eval_plots import plot_china_intensity, plot_solar, plot_wind
from forecasts.evaluation import evaluate_carbon, evaluate_solar, evaluate_wind, format_quantile_table
from forecasts.scoring import format_table
from control.safe_csv import write_csv

from control.errors import InputError

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("forecast-eval", help="score solar or wind forecasts on a measured file")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    solar = kinds.add_parser("solar", help="State Grid layout: fit on the first calendar year, score on the next")
    solar.add_argument("--measured", type=Path, required=True, help="plant CSV(.gz) in the State Grid layout")
    solar.add_argument("--capacity-mw", type=float, required=True, help="plant capacity [MW]")
    solar.add_argument("--json", type=Path, required=True, help="output JSON (plot written next to it)")
    solar.add_argument("--curtailment-persistence", action="store_true",
                       help="headline = physical model capped by the export ceiling carried forward from earlier "
                            "days' measured power (both models are always scored; default: physical model)")
    solar.set_defaults(func=run)
    wind = kinds.add_parser("wind", help="GEFCom layout: fit on the first half of the record, score on the rest")
    wind.add_argument("--power", type=Path, required=True, help="train_wp1-4.csv(.gz)")
    wind.add_argument("--farm", type=int, required=True, help="farm number (column wpN)")
    wind.add_argument("--nwp", type=Path, required=True, help="windforecasts_wfN.csv(.gz) of that farm")
    wind.add_argument("--json", type=Path, required=True, help="output JSON (plot written next to it)")
    wind.set_defaults(func=run)
    carbon = kinds.add_parser("carbon", help="Electricity Maps layout: the carbon blend and its quantiles, scored on "
                                             "the second half of the file")
    carbon.add_argument("--file", type=Path, required=True, help="<ZONE>_<year>_hourly.csv(.gz)")
    carbon.add_argument("--json", type=Path, required=True, help="output JSON")
    carbon.set_defaults(func=run)
    china = kinds.add_parser("carbon-china", help="hourly AVERAGE carbon intensity model of a Chinese regional grid")
    china.add_argument("--region", required=True, choices=sorted(REGIONS))
    china.add_argument("--grid-dir", type=Path, required=True, help="../shared/data/grid/china")
    china.add_argument("--weather-dir", type=Path, required=True, help="../shared/data/weather/cswd")
    china.add_argument("--json", type=Path, required=True, help="output JSON (plot and hourly CSV next to it)")
    china.set_defaults(func=run_china)


def run_china(args: argparse.Namespace) -> int:
    model = regional_intensity(args.region, args.grid_dir, args.weather_dir)
    frame = model.frame
    share = (frame["wind_mw"] + frame["solar_mw"]) / frame["demand_mw"]
    result = {
        "kind": "carbon-china",
        "region": args.region,
        "intensity": "AVERAGE (not marginal)",
        "published_g_per_kwh": model.published_g_per_kwh,
        "annual_mean_g_per_kwh": annual_mean_g_per_kwh(model),
        "implied_fossil_g_per_kwh": model.implied_fossil_g_per_kwh,
        "corr_ci_vs_wind_solar_share": float(frame["ci_g_per_kwh"].corr(share)),
        "min_g_per_kwh": float(frame["ci_g_per_kwh"].min()),
        "max_g_per_kwh": float(frame["ci_g_per_kwh"].max()),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    write_csv(frame, args.json.with_suffix(".csv"), index_label="time")
    figure = plot_china_intensity(frame, args.region, args.json.with_suffix(".png"))
    print(f"{args.region}: annual mean {result['annual_mean_g_per_kwh']:.1f} g/kWh (published "
          f"{model.published_g_per_kwh}), implied fossil factor {model.implied_fossil_g_per_kwh:.0f} g/kWh, "
          f"corr(CI, wind+solar share) {result['corr_ci_vs_wind_solar_share']:.2f}; AVERAGE, not marginal")
    print(f"wrote {args.json}, {figure}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.kind == "solar":
        if args.capacity_mw <= 0:
            raise InputError(f"--capacity-mw {args.capacity_mw}: give the plant's capacity in MW (> 0)")
        result, frames = evaluate_solar(args.measured, args.capacity_mw, args.curtailment_persistence)
        for key, label in (("physical", "pvlib model"), ("curtailment_persistence", "+ curtailment persistence")):
            part = result["models"][key]
            headline = " (headline)" if (key == "curtailment_persistence") == result["curtailment_persistence"] else ""
            print(f"{label}{headline}, {result['score_year']} (fitted on {result['fit_year']}): "
                  f"daily_energy_nmae {part['daily_energy_nmae']:.3f} all days, "
                  f"{part['daily_energy_nmae_unflagged']:.3f} unflagged ({result['days_unflagged']} of "
                  f"{result['days_scored']} days); hourly_nrmse {part['hourly_nrmse']:.3f} "
                  f"({part['hourly_nrmse_unflagged']:.3f} unflagged); days capped {part['days_capped']}")
        print(f"flags {result['flag_counts']}")
        title = "blend forecast vs smart persistence (errors in pu of capacity)"
        plot = plot_solar
    elif args.kind == "carbon":
        result, frames = evaluate_carbon(args.file)
        print(format_table(frames["table"], "carbon blend vs persistence (errors in g/kWh)"))
        print(format_quantile_table(frames["quantiles"], "conformal P10/P50/P90, held-out: coverage and pinball [g/kWh]"))
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
        print(f"wrote {args.json}")
        return 0
    else:
        result, frames = evaluate_wind(args.power, args.farm, args.nwp)
        title = f"farm {args.farm}: NWP model vs persistence (errors in pu of capacity)"
        plot = plot_wind
    print(format_table(frames["table"], title))
    print(format_quantile_table(frames["quantiles"], "conformal P10/P50/P90, held-out: coverage and pinball [pu]"))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    figure = plot(result, frames, args.json.with_suffix(".png"))
    print(f"wrote {args.json} and {figure}")
    return 0
