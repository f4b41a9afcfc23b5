"""Build a ledger from a simulation run (or the same frames read back from its CSV files)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from control.accounting.instruments import check_instruments
from control.accounting.ledger import FactorTable, Ledger, build_ledger
from control.settings import Settings


class FactorSetError(ValueError):
    """A factor-set file is missing, malformed, or does not cover the scenario's regions."""


def ledger_for_run(settings: Settings, dispatch: pd.DataFrame, site_hour: pd.DataFrame,
                   factor_file: Path | None = None) -> Ledger:
    """Ledger of one run with the config's factors, or restated with ``factor_file``."""
    override, name, version = (None, None, None)
    if factor_file is not None:
        override, name, version = read_factor_set(factor_file, [r.name for r in settings.regions])
    factors = FactorTable.from_settings(settings, override, name, version)
    year = settings.accounting.reporting_year or pd.Timestamp(settings.scenario.start).year
    markets = {s.name: settings.region(s.region).market for s in settings.sites}
    check = check_instruments(settings.accounting.instruments, markets, year)
    return build_ledger(dispatch, site_hour, factors, check.valid, check.rejected)


def read_factor_set(path: Path, regions: list[str]) -> tuple[dict[str, float], str, str]:
    """A versioned location-based factor set (TOML: ``name``, ``version``, ``source``,
    ``unit = "kgCO2/kWh"``, ``[factors]`` keyed by the config's region names, optional
    ``default`` for regions not listed)."""
    path = Path(path)
    if not path.is_file():
        raise FactorSetError(f"factor set {path} does not exist; see data/factors/ for the format")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in ("name", "version", "unit", "factors"):
        if key not in data:
            raise FactorSetError(f"factor set {path} has no {key!r}; it needs name, version, unit and [factors]")
    if data["unit"] != "kgCO2/kWh":
        raise FactorSetError(f"factor set {path} has unit {data['unit']!r}; give factors in 'kgCO2/kWh'")
    factors = {k: float(v) for k, v in data["factors"].items()}
    default = data["factors"].get("default")
    missing = [r for r in regions if r not in factors and default is None]
    if missing:
        raise FactorSetError(f"factor set {path} has no factor for region(s) {missing} and no 'default'")
    bad = {k: v for k, v in factors.items() if not 0 < v <= 2.0}
    if bad:
        raise FactorSetError(f"factor set {path}: factors {bad} are outside (0, 2] kgCO2/kWh; check the unit")
    return {r: factors.get(r, float(default) if default is not None else 0.0) for r in regions}, data["name"], data["version"]
