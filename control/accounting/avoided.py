"""Avoided emissions of dispatch: the carbon-agnostic counterfactual minus what happened.

An estimate, never part of the inventory: the counterfactual (every job at its home site as soon
as it is released, the ``agnostic`` policy) is simulated on the same jobs, weather, grid and factor
set. Migration overhead (checkpoint transfer, idle GPUs) is in the actual side's energy because
the simulation charges it there.
"""

from __future__ import annotations

import logging

import pandas as pd

from control.accounting.ledger import Ledger
from control.errors import InputError

logger = logging.getLogger(__name__)


class CounterfactualMismatchError(InputError):
    """Actual and counterfactual ledgers were built with different factor sets."""


def emission_unit(ledger: Ledger) -> str:
    """``tco2`` or ``tco2e``: the column suffix of the gas the ledger's factor set gives."""
    return "tco2" if ledger.factors.gas == "CO2" else "tco2e"


def avoided_emissions(actual: Ledger, counterfactual: Ledger) -> pd.DataFrame:
    """Per site and in total: counterfactual, actual and avoided emissions for both methods.

    avoided = counterfactual - actual (GHG Protocol, "Estimating and Reporting the Comparative
    Emissions Impacts of Products", 2019, and the Project Protocol's baseline-minus-project
    logic): a positive value is an estimated saving, never subtracted from the inventory.
    Columns end in the factor set's gas (``_tco2`` or ``_tco2e``).
    """
    fa, fc = actual.factors, counterfactual.factors
    if (fa.name, fa.version, fa.gas) != (fc.name, fc.version, fc.gas):
        raise CounterfactualMismatchError(
            f"the counterfactual uses factor set {fc.name!r} {fc.version!r} ({fc.gas}) but the actual run "
            f"{fa.name!r} {fa.version!r} ({fa.gas}); build both ledgers with the same factor set")
    unit = emission_unit(actual)
    columns = ["facility_energy_mwh", "grid_energy_mwh", f"location_{unit}", f"market_{unit}"]
    a = actual.site_hour.groupby("site")[columns].sum()
    c = counterfactual.site_hour.groupby("site")[columns].sum()
    sites = a.index.union(c.index)
    a, c = a.reindex(sites, fill_value=0.0), c.reindex(sites, fill_value=0.0)
    out = pd.DataFrame({
        f"counterfactual_location_{unit}": c[f"location_{unit}"], f"actual_location_{unit}": a[f"location_{unit}"],
        f"counterfactual_market_{unit}": c[f"market_{unit}"], f"actual_market_{unit}": a[f"market_{unit}"],
        "counterfactual_energy_mwh": c["facility_energy_mwh"], "actual_energy_mwh": a["facility_energy_mwh"],
    })
    out.loc["TOTAL"] = out.sum()
    out[f"avoided_location_{unit}"] = out[f"counterfactual_location_{unit}"] - out[f"actual_location_{unit}"]
    out[f"avoided_market_{unit}"] = out[f"counterfactual_market_{unit}"] - out[f"actual_market_{unit}"]
    return out.reset_index(names="site")
