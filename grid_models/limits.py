"""Linear grid limits handed to the controller for one control step, and AC check results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Derating:
    """Factors (<= 1) on linear limits, lowered during one run where AC checks found overloads.

    A value, not a grid's attribute: the run that tightens limits holds its own ``Derating``, so
    a grid (and the scenario holding it) is never changed by a run. Missing names are 1 (as rated).
    """

    sites: Mapping[str, float] = field(default_factory=dict)
    """Per site: factor on the linear import limit of its connection."""
    branches: Mapping[str, float] = field(default_factory=dict)
    """Per network branch: factor on its linear flow limit."""

    def site(self, name: str) -> float:
        return float(self.sites.get(name, 1.0))

    def branch(self, name: str) -> float:
        return float(self.branches.get(name, 1.0))

    def tightened(self, sites: Iterable[str] = (), branches: Iterable[str] = (), factor: float = 0.95) -> Derating:
        """A new ``Derating`` with the named sites' and branches' factors multiplied by ``factor``."""
        new_sites, new_branches = dict(self.sites), dict(self.branches)
        for name in sites:
            new_sites[name] = new_sites.get(name, 1.0) * factor
        for name in branches:
            new_branches[name] = new_branches.get(name, 1.0) * factor
        return Derating(new_sites, new_branches)


@dataclass(frozen=True)
class GridLimits:
    """What the grid allows each site over a horizon.

    Attributes
    ----------
    index
        Hourly interval starts (UTC).
    import_limit_mw
        Most each site may draw from the grid [MW], index x site, >= 0.
    export_limit_mw
        Most each site's renewables may push into the grid [MW], index x site, >= 0.
    ptdf
        Optional (n_branch, n_site) sensitivities: MW of branch flow per MW drawn at each site.
    branch_names, branch_limit_mw, base_flow_mw
        Branch names, thermal limits [MW] and flows with the data centres at zero [MW]
        (index x branch). With ``ptdf``: ``flow = base_flow_mw + ptdf @ draw_mw``.
    """

    index: pd.DatetimeIndex
    import_limit_mw: pd.DataFrame
    export_limit_mw: pd.DataFrame
    ptdf: np.ndarray | None = None
    branch_names: list[str] = field(default_factory=list)
    branch_limit_mw: np.ndarray | None = None
    base_flow_mw: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        for name in ("import_limit_mw", "export_limit_mw"):
            frame = getattr(self, name)
            if not frame.index.equals(self.index):
                raise ValueError(f"{name} is not on the limits' index")
            if (frame.to_numpy() < -1e-9).any():
                raise ValueError(f"{name} has negative values; limits are magnitudes >= 0")

    @property
    def has_network(self) -> bool:
        return self.ptdf is not None and self.ptdf.shape[0] > 0


class CheckMethod(StrEnum):
    AC = "ac"
    """A full AC power flow."""
    DC = "dc"
    """The linear (PTDF) check, used when the AC power flow did not converge."""


@dataclass(frozen=True)
class AcCheck:
    """Result of an AC power flow of one committed step."""

    converged: bool
    max_line_loading_pct: float
    min_voltage_pu: float
    max_voltage_pu: float
    violation_mw: float
    """MW over the limit, summed over overloaded elements (0 when all is in band)."""
    overloaded: tuple[str, ...] = ()
    message: str = ""
    method: CheckMethod = CheckMethod.AC
    """How the network was checked: an AC power flow, or the linear DC check when it did not converge."""
