"""A 31-province model of China's inter-provincial grid, built from the PyPSA-China data.

Data (``../shared/data/grid/china/``, from PyPSA-China, see the data README):

* ``edges_current.csv.gz``: existing inter-provincial corridors, province A, province B,
  capacity [MW] (56 corridors);
* ``Hourly_demand_of_31_province_China_modified_V2.1.csv.gz``: 8760 h x 31 provinces [MW];
* ``*_capacity.csv``: installed capacity per province [MW].

Assumptions (the data has no impedances and no dispatch; stated here and in docs/grid.md):

* One 500 kV bus per province at its capital. Each corridor is a line whose length is the
  great-circle distance between the two capitals times a route factor of 1.2, with typical
  500 kV quad-bundle overhead-line parameters (r 0.028 ohm/km, x 0.27 ohm/km, c 13 nF/km), and
  as many parallel circuits as needed at 1,000 MW each (about the surge-impedance loading of a
  500 kV line). Its thermal rating is the corridor capacity from the data. HVDC corridors are
  modelled as such AC equivalents: their flow is then set by impedances, not by a schedule, which
  overstates how freely power spreads; a data centre's effect on corridor loading is what matters
  here, and it is small and linear either way.
* Generation: each province generates the national demand of the hour times its share of
  installed capacity (coal, hydro, nuclear, wind, solar; coal capacities in the file are additions
  per period and are summed). This is a capacity-proportional dispatch, not a market outcome; it
  yields plausible west-to-east transfers. Hubei, in the centre of the network, is the slack.
* Corridors already loaded beyond their rating by this dispatch are not the data centres'
  doing: the controller keeps their flow from getting worse (see ``GridLimits``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandapower as pp

from forecasts.carbon_china import DEMAND_FILE
from forecasts.carbon_china import read_demand as read_province_demand
from grid_models.errors import GridInputError

logger = logging.getLogger(__name__)

CAPITALS = {
    "Anhui": (31.86, 117.28), "Beijing": (39.90, 116.40), "Chongqing": (29.56, 106.55),
    "Fujian": (26.07, 119.30), "Gansu": (36.06, 103.83), "Guangdong": (23.13, 113.26),
    "Guangxi": (22.82, 108.32), "Guizhou": (26.65, 106.63), "Hainan": (20.04, 110.34),
    "Hebei": (38.04, 114.51), "Heilongjiang": (45.80, 126.53), "Henan": (34.75, 113.62),
    "Hubei": (30.59, 114.31), "Hunan": (28.23, 112.94), "InnerMongolia": (40.84, 111.75),
    "Jiangsu": (32.06, 118.80), "Jiangxi": (28.68, 115.86), "Jilin": (43.82, 125.32),
    "Liaoning": (41.80, 123.43), "Ningxia": (38.49, 106.23), "Qinghai": (36.62, 101.78),
    "Shaanxi": (34.34, 108.94), "Shandong": (36.65, 117.12), "Shanghai": (31.23, 121.47),
    "Shanxi": (37.87, 112.55), "Sichuan": (30.57, 104.07), "Tianjin": (39.34, 117.36),
    "Tibet": (29.65, 91.17), "Xinjiang": (43.83, 87.62), "Yunnan": (25.04, 102.71),
    "Zhejiang": (30.27, 120.15),
}
"""Provincial capitals [deg lat, deg lon]: where each province's bus sits."""

DEMAND_CODES = {
    "AH": "Anhui", "BJ": "Beijing", "CQ": "Chongqing", "FJ": "Fujian", "GS": "Gansu",
    "GD": "Guangdong", "GX": "Guangxi", "GZ": "Guizhou", "HI": "Hainan", "HE": "Hebei",
    "HL": "Heilongjiang", "HA": "Henan", "HB": "Hubei", "HN": "Hunan", "NM": "InnerMongolia",
    "JS": "Jiangsu", "JX": "Jiangxi", "JL": "Jilin", "LN": "Liaoning", "NX": "Ningxia",
    "QH": "Qinghai", "SN": "Shaanxi", "SD": "Shandong", "SH": "Shanghai", "SX": "Shanxi",
    "SC": "Sichuan", "TJ": "Tianjin", "XJ": "Xinjiang", "XZ": "Tibet", "YN": "Yunnan",
    "ZJ": "Zhejiang",
}
"""Column codes of the hourly demand file -> province names used in the edge file."""

ROUTE_FACTOR = 1.2
R_OHM_PER_KM, X_OHM_PER_KM, C_NF_PER_KM = 0.028, 0.27, 13.0
CIRCUIT_MW = 1000.0
VN_KV = 500.0
SLACK = "Hubei"


class ChinaDataError(GridInputError):
    """The China grid data files are missing or do not have the expected layout."""


@dataclass(frozen=True)
class ChinaGrid:
    """The pandapower network and the hourly injections that drive it."""

    net: pp.pandapowerNet
    bus_of: dict[str, int]
    """Province name -> pandapower bus id."""
    demand_mw: pd.DataFrame
    """Hour of year (0..8759) x province [MW]."""
    generation_share: pd.Series
    """Share of national generation per province (sums to 1)."""

    def injections_mw(self, hour_of_year: np.ndarray) -> np.ndarray:
        """(n_hour, n_bus) net injections (generation - demand) in bus order [MW]."""
        demand = self.demand_mw.iloc[np.asarray(hour_of_year) % len(self.demand_mw)]
        total = demand.sum(axis=1).to_numpy()[:, None]
        gen = total * self.generation_share[demand.columns].to_numpy()[None, :]
        inj = gen - demand.to_numpy()
        order = [self.bus_of[p] for p in demand.columns]
        out = np.zeros((len(inj), len(self.net.bus)))
        pos = {int(b): k for k, b in enumerate(self.net.bus.index)}
        out[:, [pos[b] for b in order]] = inj
        return out


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def read_corridors(path: Path) -> pd.DataFrame:
    """Corridors: ``a``, ``b``, ``capacity_mw`` (file without header)."""
    if not path.is_file():
        raise ChinaDataError(f"corridor file {path} not found; point [grid] china_data at the PyPSA-China data folder")
    frame = pd.read_csv(path, header=None, names=["a", "b", "capacity_mw"])
    unknown = sorted(set(frame.a).union(frame.b) - set(CAPITALS))
    if unknown:
        raise ChinaDataError(f"{path}: unknown province names {unknown}; expected {sorted(CAPITALS)}")
    if (frame.capacity_mw <= 0).any():
        raise ChinaDataError(f"{path}: corridor capacities must be > 0 MW")
    return frame


def read_demand(folder: Path) -> pd.DataFrame:
    """Hourly provincial demand [MW] of the PyPSA-China folder, columns renamed to province names,
    8760 rows (read by :func:`forecasts.carbon_china.read_demand`, the one reader of the file)."""
    frame = read_province_demand(Path(folder))
    missing = sorted(set(DEMAND_CODES) - set(frame.columns))
    if missing:
        raise ChinaDataError(f"{Path(folder) / DEMAND_FILE}: missing province columns {missing}")
    return frame[list(DEMAND_CODES)].rename(columns=DEMAND_CODES)


def read_capacity_mw(folder: Path) -> pd.Series:
    """Installed capacity per province [MW]: coal (summed additions), hydro, nuclear, wind, solar."""
    total = pd.Series(0.0, index=sorted(CAPITALS))
    coal = pd.read_csv(folder / "coal_capacity.csv").set_index("Subnational unit (province, state)")
    total = total.add(coal.sum(axis=1), fill_value=0.0)
    for name, column in (("hydroelectricity_capacity.csv", "hydro_capacity"), ("nuclear_capacity.csv", "2020"),
                         ("onwind_capacity.csv", "2020"), ("offwind_capacity.csv", "2020"),
                         ("solar_capacity.csv", "2020")):
        frame = pd.read_csv(folder / name)
        frame = frame.set_index(frame.columns[0])
        total = total.add(frame[column].astype(float), fill_value=0.0)
    return total.reindex(sorted(CAPITALS)).fillna(0.0)


def build_china_grid(folder: str | Path, planned: bool = False) -> ChinaGrid:
    """Build the 31-province network from the PyPSA-China data folder."""
    folder = Path(folder)
    corridors = read_corridors(folder / ("edges_current_FCG.csv.gz" if planned else "edges_current.csv.gz"))
    demand = read_demand(folder)
    capacity = read_capacity_mw(folder)
    net = pp.create_empty_network(name="china-31-province")
    bus_of = {}
    for province, (lat, lon) in CAPITALS.items():
        bus_of[province] = int(pp.create_bus(net, vn_kv=VN_KV, name=province, geodata=(lon, lat)))
    pp.create_ext_grid(net, bus_of[SLACK], vm_pu=1.0, name="slack")
    for a, b, cap in corridors.itertuples(index=False):
        km = haversine_km(CAPITALS[a], CAPITALS[b]) * ROUTE_FACTOR
        circuits = max(1, math.ceil(cap / CIRCUIT_MW))
        pp.create_line_from_parameters(
            net, bus_of[a], bus_of[b], length_km=km, r_ohm_per_km=R_OHM_PER_KM, x_ohm_per_km=X_OHM_PER_KM,
            c_nf_per_km=C_NF_PER_KM, max_i_ka=cap / (math.sqrt(3) * VN_KV) / circuits, parallel=circuits,
            name=f"{a}-{b}",
        )
    for province in CAPITALS:
        pp.create_load(net, bus_of[province], p_mw=0.0, name=f"demand:{province}")
        pp.create_sgen(net, bus_of[province], p_mw=0.0, name=f"generation:{province}")
    share = capacity / capacity.sum()
    return ChinaGrid(net, bus_of, demand, share)
