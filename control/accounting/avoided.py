"""Avoided emissions of dispatch: the carbon-agnostic counterfactual minus what happened.

An estimate, never part of the inventory: the counterfactual (every job at its home site as soon
as it is released, the ``agnostic`` policy) is simulated on the same jobs, weather, grid and factor
set. Migration overhead (checkpoint transfer, idle GPUs) is in the actual side's energy because
the simulation charges it there.
"""

from __future__ import annotations

import pandas as pd

from control.accounting.ledger import Ledger


def avoided_emissions(actual: Ledger, counterfactual: Ledger) -> pd.DataFrame:
    """Per site and in total: counterfactual, actual and avoided tCO2 for both methods."""
    columns = ["facility_energy_mwh", "grid_energy_mwh", "location_tco2", "market_tco2"]
    a = actual.site_hour.groupby("site")[columns].sum()
    c = counterfactual.site_hour.groupby("site")[columns].sum()
    sites = a.index.union(c.index)
    a, c = a.reindex(sites, fill_value=0.0), c.reindex(sites, fill_value=0.0)
    out = pd.DataFrame({
        "counterfactual_location_tco2": c["location_tco2"], "actual_location_tco2": a["location_tco2"],
        "counterfactual_market_tco2": c["market_tco2"], "actual_market_tco2": a["market_tco2"],
        "counterfactual_energy_mwh": c["facility_energy_mwh"], "actual_energy_mwh": a["facility_energy_mwh"],
    })
    out.loc["TOTAL"] = out.sum()
    out["avoided_location_tco2"] = out["counterfactual_location_tco2"] - out["actual_location_tco2"]
    out["avoided_market_tco2"] = out["counterfactual_market_tco2"] - out["actual_market_tco2"]
    return out.reset_index(names="site")
