"""Versioned emission-factor sets for location-based accounting: annual per region, or hourly.

A factor set is a TOML file (see ``data/factors/``) with ``name``, ``version``, ``source``,
``gas`` (``"CO2"`` or ``"CO2e"``) and either

* ``kind = "annual"``, ``unit = "kgCO2/kWh"`` (or ``"kgCO2e/kWh"``) and ``[factors]`` keyed by the
  config's region names (``default`` for regions not listed), e.g. China's published provincial
  and regional average factors of one year; or
* ``kind = "hourly"``, ``basis = "direct" | "lca"`` and ``[zones]`` mapping each region to an
  Electricity Maps hourly export (path relative to the factor file): the hour's average
  intensity of the zone [gCO2eq/kWh], and its low-carbon share for the 24/7 CFE score.

Without a factor file, the factors follow ``[forecast] carbon`` so that one carbon source feeds
the controller, the settlement and the ledger: ``electricitymaps`` gives an hourly CO2e set built
from the same zone files (direct intensity, the column the controller sees), laid onto the run's
calendar the same way (the data year's month, day and hour, UTC; a typical-year profile), with
the zone's low-carbon share as the hourly CFE share and its estimated-value flags; ``constant``
and ``china_model`` count at the intensity each hour was settled at, CO2.

Market-based emissions take the region's residual-mix factor; a region without one takes the
location factor of the same hour (so market-based equals location-based for energy no
instrument covers, never more), flagged as an estimate.

kg/kWh equals t/MWh; every factor here is held in t/MWh.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from control.errors import InputError

from control.settings import Settings
from forecasts.carbon_electricitymaps import read_electricitymaps

logger = logging.getLogger(__name__)

GASES = ("CO2", "CO2e")
MAX_FACTOR_T_PER_MWH = 2.0


class FactorSetError(InputError):
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
    basis: str = ""
    """What the factor of an hour means, for reports: e.g. ``annual``, ``hourly``, ``settled``."""
    typical_year: bool = False
    """Hourly tables of one data year looked up by UTC month, day and hour (29 Feb -> 28 Feb), as
    the controller's carbon series are (``forecasts.carbon_sources.on_index``)."""
    residual_from_location: tuple[str, ...] = ()
    """Regions without a residual-mix factor: market-based takes the hour's location factor."""

    @classmethod
    def from_settings(cls, settings: Settings, factor_file: Path | None = None) -> FactorTable:
        """The config's factor set (``[accounting] factor_file`` or the regions' factors), or
        ``factor_file`` to restate with another set or version."""
        path = factor_file or settings.accounting.factor_file
        regions = [r.name for r in settings.regions]
        loaded = read_factor_set(path, regions) if path is not None else None
        if loaded is None and settings.forecast.carbon == "electricitymaps":
            loaded = electricitymaps_factor_set(settings.forecast.electricitymaps_files)
        flags, residual, cfe, from_location = [], {}, {}, []
        for region in settings.regions:
            if loaded is not None and loaded.location_t_per_mwh is not None:
                location = loaded.location_t_per_mwh[region.name]
            else:
                location = region.emission_factor_kg_per_kwh
            if region.residual_mix_kg_per_kwh is None:
                residual[region.name] = location
                from_location.append(region.name)
                hourly = loaded is not None and loaded.location_hourly_t_per_mwh is not None
                what = "each hour's location factor is" if hourly else f"the location factor ({location:.4f} t/MWh) is"
                flags.append(f"region {region.name}: no residual-mix factor configured; {what} used for market-based "
                             "emissions (an estimate)")
            else:
                residual[region.name] = region.residual_mix_kg_per_kwh
            cfe[region.name] = region.grid_cfe_share if region.grid_cfe_share is not None else 0.0
            if region.grid_cfe_share is None and (loaded is None or loaded.cfe_hourly_share is None):
                flags.append(f"region {region.name}: grid carbon-free share not configured; taken as 0 in the CFE score")
        if loaded is None:
            acc = settings.accounting
            if settings.forecast.carbon == "china_model":
                source = ("the hourly China regional grid model ([forecast] carbon = china_model), the intensity "
                          "each hour was settled at")
                basis = "hourly (settled)"
            else:
                source, basis = "config regions' emission_factor_kg_per_kwh", "annual"
            return cls(acc.factor_set, acc.factor_set_version, None, residual, cfe, tuple(flags), gas="CO2",
                       source=source, basis=basis, residual_from_location=tuple(from_location))
        return cls(loaded.name, loaded.version, loaded.location_t_per_mwh, residual, cfe,
                   tuple(flags) + loaded.flags, loaded.gas, loaded.location_hourly_t_per_mwh,
                   loaded.cfe_hourly_share, loaded.estimated_hourly, loaded.source, loaded.basis,
                   loaded.typical_year, tuple(from_location))

    def location_factor(self, hours: pd.Series, regions: pd.Series, settled_g_per_kwh: pd.Series) -> pd.Series:
        """Location factor [t/MWh] of each (hour, region) row."""
        if self.location_hourly_t_per_mwh is not None:
            return _lookup(self.location_hourly_t_per_mwh, self._hours(hours), regions, self.name)
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
            return _lookup(self.cfe_hourly_share, self._hours(hours), regions, self.name)
        return regions.map(self.grid_cfe_share).astype(float)

    def residual_factor(self, regions: pd.Series, location_t_per_mwh: pd.Series) -> pd.Series:
        """Residual-mix factor [t/MWh] of each row: the configured one, else the row's location factor."""
        configured = regions.map(self.residual_t_per_mwh).astype(float)
        return configured.where(~regions.isin(self.residual_from_location), location_t_per_mwh.astype(float))

    def estimated(self, hours: pd.Series, regions: pd.Series) -> pd.Series:
        """True where the row's hourly factor was estimated by the data provider."""
        if self.estimated_hourly is None:
            return pd.Series(False, index=hours.index)
        keys = pd.MultiIndex.from_arrays([pd.DatetimeIndex(self._hours(hours)), regions])
        values = self.estimated_hourly.stack().reindex(keys)
        return pd.Series(values.fillna(False).astype(bool).to_numpy(), index=hours.index)

    def _hours(self, hours: pd.Series) -> pd.Series:
        """The table's own hours for ``hours`` (typical-year tables: same UTC month, day and hour)."""
        if not self.typical_year or self.location_hourly_t_per_mwh is None:
            return hours
        times = pd.DatetimeIndex(pd.to_datetime(hours, utc=True))
        year = int(self.location_hourly_t_per_mwh.index[0].year)
        day = np.where((times.month == 2) & (times.day == 29), 28, times.day)
        mapped = pd.to_datetime(pd.DataFrame({"year": year, "month": times.month, "day": day, "hour": times.hour}),
                                utc=True)
        return pd.Series(mapped.to_numpy(), index=hours.index)


def electricitymaps_factor_set(files: dict[str, Path]) -> FactorTable:
    """The hourly CO2e factor set of ``[forecast] carbon = "electricitymaps"``: the zones the
    controller and the settlement use (direct intensity), versioned by the files' contents."""
    ci, cfe, estimated, flags, zones = {}, {}, {}, [], []
    years: set[int] = set()
    digest = hashlib.sha256()
    for region, path in sorted(files.items()):
        frame, log = read_electricitymaps(path)
        digest.update(Path(path).read_bytes())
        ci[region] = frame["ci_direct_g_per_kwh"] / 1000.0
        cfe[region] = frame["low_carbon_pct"] / 100.0
        estimated[region] = frame["estimated"]
        zones.append(f"{region}={frame.attrs['zone']}")
        years.update(int(y) for y in frame.index.year.unique())
        share = float(frame["estimated"].mean())
        if share > 0:
            flags.append(f"region {region}: {share:.1%} of the hourly factors of zone {frame.attrs['zone']} "
                         "were estimated by Electricity Maps")
        for rule, count in log.counts.items():
            flags.append(f"region {region}: zone file repaired ({rule}: {count} rows)")
    if len(years) > 1:
        raise FactorSetError(f"[forecast] electricitymaps_files cover several years {sorted(years)}; give one year's files")
    year = years.pop() if years else 0
    return FactorTable(
        name="Electricity Maps hourly zone intensity (direct)", version=f"{year} sha256:{digest.hexdigest()[:12]}",
        location_t_per_mwh=None, residual_t_per_mwh={}, grid_cfe_share={}, flags=tuple(flags), gas="CO2e",
        location_hourly_t_per_mwh=pd.DataFrame(ci), cfe_hourly_share=pd.DataFrame(cfe),
        estimated_hourly=pd.DataFrame(estimated),
        source=(f"Electricity Maps hourly zone exports of {year} ([forecast] electricitymaps_files: {', '.join(zones)}), "
                "direct (operational) average intensity in gCO2eq/kWh, the series the controller and the settlement "
                "use; laid onto the calendar by UTC month, day and hour"),
        basis="hourly", typical_year=True)


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
        return FactorTable(location_t_per_mwh=_annual(path, data, regions, gas), basis="annual", **common)
    if kind == "hourly":
        hourly, cfe, estimated, flags = _hourly(path, data, regions)
        return FactorTable(location_t_per_mwh=None, location_hourly_t_per_mwh=hourly, cfe_hourly_share=cfe,
                           estimated_hourly=estimated, flags=flags, basis="hourly", **common)
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
