"""Versioned emission-factor sets for location-based accounting: annual per region, or hourly.

A factor set is a TOML file (see ``data/factors/``) with ``name``, ``version``, ``source``,
``gas`` (``"CO2"`` or ``"CO2e"``) and either

* ``kind = "annual"``, ``unit = "kgCO2/kWh"`` (or ``"kgCO2e/kWh"``) and ``[factors]`` keyed by the
  config's region names (``default`` for regions not listed), e.g. China's published provincial
  and regional average factors of one year; or
* ``kind = "hourly"``, ``basis = "direct" | "lca"`` and ``[zones]`` mapping each region to an
  Electricity Maps hourly export (path relative to the factor file): the hour's average
  intensity of the zone [gCO2eq/kWh], and its low-carbon share for the 24/7 CFE score.

kg/kWh equals t/MWh; every factor here is held in t/MWh.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from control.settings import Settings
from forecasts.carbon_electricitymaps import read_electricitymaps

logger = logging.getLogger(__name__)

GASES = ("CO2", "CO2e")
MAX_FACTOR_T_PER_MWH = 2.0


class FactorSetError(ValueError):
    """A factor-set file is missing, malformed, or does not cover the scenario's regions or hours."""


@dataclass(frozen=True)
class FactorTable:
    """Emission factors and clean shares the ledger applies [t/MWh = kg/kWh].

    ``location_t_per_mwh`` is per region (annual set); ``location_hourly_t_per_mwh`` (hours x
    region) replaces it for an hourly set; both None means the intensity each site-hour was
    settled at in the run (``ci_g_per_kwh``), which is the config regions' factor set.
    """

    name: str
    version: str
    location_t_per_mwh: dict[str, float] | None
    residual_t_per_mwh: dict[str, float]
    grid_cfe_share: dict[str, float]
    flags: tuple[str, ...] = field(default=())
    """Data-quality notes (estimated values) shown in reports."""
    gas: str = "CO2"
    """What the factors count: ``CO2`` only, or ``CO2e`` (all Kyoto gases as CO2 equivalent)."""
    location_hourly_t_per_mwh: pd.DataFrame | None = None
    cfe_hourly_share: pd.DataFrame | None = None
    """Hours x region, 0..1: the grid's carbon-free share each hour (hourly sets)."""
    estimated_hourly: pd.DataFrame | None = None
    """Hours x region, bool: the factor of that hour was estimated by the data provider."""
    source: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, factor_file: Path | None = None) -> FactorTable:
        """The config's factor set (``[accounting] factor_file`` or the regions' factors), or
        ``factor_file`` to restate with another set or version."""
        path = factor_file or settings.accounting.factor_file
        regions = [r.name for r in settings.regions]
        loaded = read_factor_set(path, regions) if path is not None else None
        flags, residual, cfe = [], {}, {}
        for region in settings.regions:
            if loaded is not None and loaded.location_t_per_mwh is not None:
                location = loaded.location_t_per_mwh[region.name]
            else:
                location = region.emission_factor_kg_per_kwh
            if region.residual_mix_kg_per_kwh is None:
                residual[region.name] = location
                flags.append(f"region {region.name}: no residual-mix factor configured; the annual location factor "
                             f"({location:.4f} t/MWh) is used for market-based emissions (an estimate)")
            else:
                residual[region.name] = region.residual_mix_kg_per_kwh
            cfe[region.name] = region.grid_cfe_share if region.grid_cfe_share is not None else 0.0
            if region.grid_cfe_share is None and (loaded is None or loaded.cfe_hourly_share is None):
                flags.append(f"region {region.name}: grid carbon-free share not configured; taken as 0 in the CFE score")
        if loaded is None:
            acc = settings.accounting
            return cls(acc.factor_set, acc.factor_set_version, None, residual, cfe, tuple(flags),
                       gas="CO2", source="config regions' emission_factor_kg_per_kwh")
        return cls(loaded.name, loaded.version, loaded.location_t_per_mwh, residual, cfe,
                   tuple(flags) + loaded.flags, loaded.gas, loaded.location_hourly_t_per_mwh,
                   loaded.cfe_hourly_share, loaded.estimated_hourly, loaded.source)

    def location_factor(self, hours: pd.Series, regions: pd.Series, settled_g_per_kwh: pd.Series) -> pd.Series:
        """Location factor [t/MWh] of each (hour, region) row."""
        if self.location_hourly_t_per_mwh is not None:
            return _lookup(self.location_hourly_t_per_mwh, hours, regions, self.name)
        if self.location_t_per_mwh is not None:
            return regions.map(self.location_t_per_mwh).astype(float)
        return settled_g_per_kwh.astype(float) / 1000.0  # g/kWh -> t/MWh

    def site_intensity_g_per_kwh(self, site_region: dict[str, str], index: pd.DatetimeIndex) -> pd.DataFrame:
        """Grid intensity each site sees over ``index`` [gCO2/kWh] (index x site), for the
        simulation and the MPC, so that they count with the same set as the ledger."""
        if self.location_t_per_mwh is None and self.location_hourly_t_per_mwh is None:
            raise FactorSetError(f"factor set {self.name!r} has no factors of its own; give a factor_file")
        hours = pd.Series(index)
        columns = {site: self.location_factor(hours, pd.Series([region] * len(index)), hours).to_numpy() * 1000.0
                   for site, region in site_region.items()}
        return pd.DataFrame(columns, index=index)

    def cfe_share(self, hours: pd.Series, regions: pd.Series) -> pd.Series:
        """Carbon-free share of the grid [0..1] of each (hour, region) row."""
        if self.cfe_hourly_share is not None:
            return _lookup(self.cfe_hourly_share, hours, regions, self.name)
        return regions.map(self.grid_cfe_share).astype(float)


def _lookup(table: pd.DataFrame, hours: pd.Series, regions: pd.Series, name: str) -> pd.Series:
    missing_regions = sorted(set(regions) - set(table.columns))
    if missing_regions:
        raise FactorSetError(f"factor set {name!r} has no zone for region(s) {missing_regions}; "
                             f"it covers {list(table.columns)}; add them under [zones]")
    stacked = table.stack()
    keys = pd.MultiIndex.from_arrays([pd.DatetimeIndex(hours), regions])
    values = stacked.reindex(keys)
    if values.isna().any():
        bad = keys[values.isna().to_numpy()]
        raise FactorSetError(
            f"factor set {name!r} has no value for {len(bad)} site-hour(s), first {bad[0][0]} in {bad[0][1]!r}; "
            f"it covers {table.index.min()} .. {table.index.max()}; use a set that covers the period")
    return pd.Series(values.to_numpy(dtype=float), index=hours.index)


def read_factor_set(path: Path, regions: list[str]) -> FactorTable:
    """Read a factor-set TOML (module docstring) for the config's ``regions``.

    Residual-mix and clean-share entries of the returned table are empty; ``FactorTable.
    from_settings`` fills them from the config.
    """
    path = Path(path)
    if not path.is_file():
        raise FactorSetError(f"factor set {path} does not exist; see data/factors/ for the format")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in ("name", "version"):
        if key not in data:
            raise FactorSetError(f"factor set {path} has no {key!r}; it needs name, version, gas and its factors")
    gas = data.get("gas", "CO2")
    if gas not in GASES:
        raise FactorSetError(f"factor set {path}: gas {gas!r}; allowed {list(GASES)}")
    kind = data.get("kind", "annual")
    common = dict(name=str(data["name"]), version=str(data["version"]), residual_t_per_mwh={},
                  grid_cfe_share={}, gas=gas, source=str(data.get("source", "")))
    if kind == "annual":
        return FactorTable(location_t_per_mwh=_annual(path, data, regions, gas), **common)
    if kind == "hourly":
        hourly, cfe, estimated, flags = _hourly(path, data, regions)
        return FactorTable(location_t_per_mwh=None, location_hourly_t_per_mwh=hourly, cfe_hourly_share=cfe,
                           estimated_hourly=estimated, flags=flags, **common)
    raise FactorSetError(f"factor set {path}: kind {kind!r}; allowed 'annual' or 'hourly'")


def _annual(path: Path, data: dict, regions: list[str], gas: str) -> dict[str, float]:
    unit = f"kg{gas}/kWh"
    if data.get("unit") != unit or "factors" not in data:
        raise FactorSetError(f"factor set {path} has unit {data.get('unit')!r}; an annual {gas} set gives "
                             f"[factors] in {unit!r}")
    factors = {k: float(v) for k, v in data["factors"].items()}
    default = factors.get("default")
    missing = [r for r in regions if r not in factors and default is None]
    if missing:
        raise FactorSetError(f"factor set {path} has no factor for region(s) {missing} and no 'default'")
    bad = {k: v for k, v in factors.items() if not 0 < v <= MAX_FACTOR_T_PER_MWH}
    if bad:
        raise FactorSetError(f"factor set {path}: factors {bad} are outside (0, 2] {unit}; check the unit")
    return {r: factors[r] if r in factors else float(default or 0.0) for r in regions}  # default is set when needed


def _hourly(path: Path, data: dict, regions: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple]:
    basis = data.get("basis", "direct")
    if basis not in ("direct", "lca"):
        raise FactorSetError(f"factor set {path}: basis {basis!r}; allowed 'direct' (operational) or 'lca'")
    zones = data.get("zones", {})
    missing = [r for r in regions if r not in zones]
    if missing:
        raise FactorSetError(f"factor set {path}: region(s) {missing} have no zone file under [zones]")
    ci, cfe, estimated, flags = {}, {}, {}, []
    for region in regions:
        frame, log = read_electricitymaps((path.parent / zones[region]).resolve())
        ci[region] = frame[f"ci_{basis}_g_per_kwh"] / 1000.0
        cfe[region] = frame["low_carbon_pct"] / 100.0
        estimated[region] = frame["estimated"]
        share = float(frame["estimated"].mean())
        if share > 0:
            flags.append(f"region {region}: {share:.1%} of the hourly factors of zone {frame.attrs['zone']} "
                         "were estimated by Electricity Maps")
        for rule, count in log.counts.items():
            flags.append(f"region {region}: zone file repaired ({rule}: {count} rows)")
    return pd.DataFrame(ci), pd.DataFrame(cfe), pd.DataFrame(estimated), tuple(flags)
