"""The runtime: one control tick (plan, write, send), reconciliation, adapters, the daemon."""
