"""The operator's HTTP surface: FastAPI app (read + audited writes), /metrics, /healthz and the
dashboard, on :mod:`control.operations`. Started by ``codispatch serve``."""
