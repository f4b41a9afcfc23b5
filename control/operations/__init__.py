"""Operator queries and commands shared by the HTTP API and the CLI (read the store, write
audited requests into it; the daemon's next tick acts on them)."""
