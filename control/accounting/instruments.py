"""Contractual instruments (PPAs, green power trading, certificates) and the Scope 2 quality criteria.

GHG Protocol Scope 2 Guidance (2015), chapter 7 "Scope 2 Quality Criteria": an instrument may be
claimed only if it conveys a unique claim (one claim per MWh, cancelled/retired for it), is from
the same market as the consumption, and its vintage is close to the reporting period (here: the
same calendar year). Instruments that fail are listed with the reason and not counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from control.settings.accounting import InstrumentSettings


@dataclass(frozen=True)
class InstrumentCheck:
    valid: pd.DataFrame
    """One row per counted instrument: claim_id, kind, site, mwh, factor_t_per_mwh."""
    rejected: pd.DataFrame
    """One row per instrument not counted, with ``reason``."""


def check_instruments(
    instruments: list[InstrumentSettings], site_market: dict[str, str], reporting_year: int
) -> InstrumentCheck:
    """Split instruments into counted and rejected by the quality criteria."""
    uses = Counter(i.claim_id for i in instruments)
    valid, rejected = [], []
    for inst in instruments:
        reasons = []
        if uses[inst.claim_id] > 1:
            reasons.append(f"claim id used {uses[inst.claim_id]} times (unique claim)")
        if not inst.retired:
            reasons.append("not retired for this claim")
        if inst.vintage_year != reporting_year:
            reasons.append(f"vintage {inst.vintage_year} is not the reporting year {reporting_year}")
        market = site_market.get(inst.site, "")
        if inst.market != market:
            reasons.append(f"issued in market {inst.market!r}, site is in {market!r} (same market)")
        row = {"claim_id": inst.claim_id, "kind": inst.kind, "site": inst.site, "mwh": inst.mwh,
               "vintage_year": inst.vintage_year, "market": inst.market,
               "factor_t_per_mwh": inst.factor_kg_per_kwh}  # kg/kWh == t/MWh
        if reasons:
            rejected.append(row | {"reason": "; ".join(reasons)})
        else:
            valid.append(row)
    columns = ["claim_id", "kind", "site", "mwh", "vintage_year", "market", "factor_t_per_mwh"]
    return InstrumentCheck(pd.DataFrame(valid, columns=columns), pd.DataFrame(rejected, columns=[*columns, "reason"]))
