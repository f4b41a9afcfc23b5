"""Carbon accounting: the ledger per job, site and hour, built from what was dispatched and settled.

``ledger`` builds it (location- and market-based emissions, supply split, 24/7 CFE),
``instruments`` checks contractual instruments against the Scope 2 quality criteria,
``checks`` proves conservation, ``avoided`` compares with the carbon-agnostic counterfactual,
``report`` writes the HTML and CSV files.
"""

from control.accounting.ledger import FactorTable, Ledger, build_ledger

__all__ = ["FactorTable", "Ledger", "build_ledger"]
