"""Build a ledger from a simulation run (or the same frames read back from its CSV files)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from control.accounting.factors import FactorSetError, FactorTable, read_factor_set
from control.accounting.instruments import check_instruments
from control.accounting.ledger import Ledger, build_ledger
from control.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["FactorSetError", "ledger_for_run", "read_factor_set"]


def ledger_for_run(settings: Settings, dispatch: pd.DataFrame, site_hour: pd.DataFrame,
                   factor_file: Path | None = None) -> Ledger:
    """Ledger of one run with the config's factor set, or restated with ``factor_file``.

    Pure apart from reading the factor-set file: the same frames and the same factor version
    always give the same ledger.
    """
    factors = FactorTable.from_settings(settings, factor_file)
    year = settings.accounting.reporting_year or pd.Timestamp(settings.scenario.start).year
    markets = {s.name: settings.region(s.region).market for s in settings.sites}
    check = check_instruments(settings.accounting.instruments, markets, year)
    return build_ledger(dispatch, site_hour, factors, check.valid, check.rejected)
