"""Settings of the ``[runtime]`` table: the daemon, its store and the workload manager.

Every field has a default, so a scenario config runs as a daemon with a local SQLite store and
the file (dry-run) adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from control.settings.base import ConfigPath, FrozenModel


class RuntimeSettings(FrozenModel):
    """``[runtime]``: how the daemon runs."""

    database: ConfigPath = Path("codispatch.sqlite")
    """SQLite store (relative to the config file) when ``database_url`` is not given."""
    database_url: str | None = None
    """SQLAlchemy URL of the store, e.g. ``postgresql+psycopg://user@127.0.0.1/codispatch``."""
    adapter: Literal["file", "slurm"] = "file"
    """Workload manager: ``file`` writes intents as JSON lines (dry run), ``slurm`` drives Slurm."""
    intents_file: ConfigPath = Path("intents.jsonl")
    """Where the file adapter writes the intents it applied."""
    slurm_partitions: dict[str, str] = Field(default_factory=dict)
    """Site -> Slurm partition (default: the site name)."""
    misfire_grace_s: int = Field(default=600, ge=1)
    """A tick that could not start on time still runs if it is at most this late [s]."""
    lease_s: int = Field(default=900, ge=10)
    """How long a daemon's lock on the store lasts without renewal [s]."""
    report_hour_utc: int = Field(default=1, ge=0, le=23)
    """Hour (UTC) of the daily report job."""
    db_retries: int = Field(default=5, ge=0, le=20)
    """Retries, with exponential backoff, when the database is briefly unavailable."""
    forecast_max_age_h: float = Field(default=6.0, gt=0)
    """A forecast issued longer than this before the tick is stale: the fallback chain is used [h]."""
    climatology_days: int = Field(default=7, ge=1, le=366)
    """Days of stored measurements behind the climatology fallback [d]."""
    settle_max_wait_h: float = Field(default=6.0, ge=0)
    """How long after an hour ended its carbon ledger may wait for the hour's measurement [h].
    The ledger of an hour is booked (``basis = measured``) at the first tick after the hour that
    finds it measured; an hour still unmeasured this long after it ended is booked on the tick's
    forecast (``basis = forecast``) with a warning, so no hour stays unbooked."""

    at_risk_margin_h: float = Field(default=2.0, ge=0)
    """A job that, at its full gang from now, would finish less than this before its deadline
    is ``at_risk`` (logged, flagged ``job_at_risk``) [h]."""
    expire_after_h: float = Field(default=24.0, ge=0)
    """A job still unfinished this long after its deadline is ``expired``: held and no longer
    scheduled (flag ``job_expired``); until then it is ``late`` and still scheduled [h]."""
    slurm_user: str = ""
    """Slurm jobs named ``codispatch:<id>`` are adopted only if this user owns them (default:
    the user codispatch runs as)."""
    slurm_account: str = ""
    """If set, adopted Slurm jobs must also belong to this account."""
    slurm_timeout_s: float = Field(default=60.0, gt=0)
    """A Slurm command that takes longer is abandoned; the workload manager counts as
    unavailable (intents stay pending, flag ``workload_manager_unavailable``) [s]."""
    intent_max_attempts: int = Field(default=3, ge=1)
    """An intent whose sends fail with an unclassified workload-manager error this many times
    is marked failed (flag ``intent_refused``); known transient errors retry without limit."""

    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.database}"
