"""Carbon accounting: the ledger per job, site and hour, built from what was dispatched and settled.

``factors`` reads versioned factor sets (annual or hourly), ``ledger`` builds the ledger
(supply split, location- and market-based emissions, 24/7 CFE), ``instruments`` checks
contractual instruments against the Scope 2 quality criteria, ``checks`` proves conservation,
``avoided`` compares with the carbon-agnostic counterfactual, ``quality`` lists data-quality
flags. Pure and low: it imports only settings, the domain and forecasts; the HTML and CSV files
are written by :mod:`control.reporting.accounting_report`.
"""

from control.accounting.factors import FactorSetError, FactorTable, read_factor_set
from control.accounting.ledger import Ledger, build_ledger

__all__ = ["FactorSetError", "FactorTable", "Ledger", "build_ledger", "read_factor_set"]
