"""Runtime configs and jobs for the operator-surface tests (the runtime tests' fixtures)."""

from tests.runtime.conftest import first_jobs, runtime_config  # noqa: F401
