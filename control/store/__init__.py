"""The store: jobs, ticks, plans, dispatch intents, forecasts and leases in one database."""

from control.store.errors import StoreFailure, StoreGone, StorePermanentError
from control.store.repository import Store, StoreError

__all__ = ["Store", "StoreError", "StoreFailure", "StoreGone", "StorePermanentError"]
