"""Settings of the ``[accounting]`` table: factor set, instruments, and the grid's clean share.

Every field has a default, so configs without the table keep working.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from control.settings.base import ConfigPath, FrozenModel


class InstrumentSettings(FrozenModel):
    """``[[accounting.instruments]]``: a contractual instrument claimed for a site's electricity.

    Counted in the market-based total only when it meets the GHG Protocol Scope 2 quality
    criteria checked here: the vintage is the reporting year, it was issued in the site's market,
    it is retired (cancelled) for this claim, and its claim id is used once.
    """

    claim_id: str = Field(min_length=1)
    kind: Literal["ppa", "green_power_trading", "certificate"]
    """Power purchase agreement, green power trading (bundled), or unbundled certificate (e.g. GEC)."""
    site: str
    mwh: float = Field(gt=0)
    vintage_year: int
    """Year the electricity was generated."""
    market: str
    """Market (grid / country) the instrument was issued in; must equal the site region's market."""
    retired: bool = False
    """Cancelled in the registry for this claim."""
    factor_kg_per_kwh: float = Field(default=0.0, ge=0)
    """Emission factor of the generation it stands for (0 for wind and solar)."""


class AccountingSettings(FrozenModel):
    """``[accounting]``: how the carbon ledger is kept."""

    factor_set: str = "config regions"
    """Name of the location-based factor set: the regions' ``emission_factor_kg_per_kwh``."""
    factor_set_version: str = "as configured"
    """Version of that set (e.g. the publication year); printed in every report."""
    factor_file: ConfigPath | None = None
    """A versioned factor-set file (``data/factors/*.toml``, annual or hourly) used for the ledger
    instead of the regions' factors; its own name and version are then printed. The simulation's
    ``emissions_tco2`` uses the regions' factors, so point this at the set they were taken from
    (or restate a finished run with ``codispatch report --factors FILE``)."""
    reporting_year: int | None = None
    """Year instruments must be generated in; default: the year of the scenario start."""
    instruments: list[InstrumentSettings] = Field(default_factory=list)

