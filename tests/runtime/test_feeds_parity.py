"""PARITY: the daemon, fed by HTTP feeds and a meter drop folder one tick per simulated hour,
decides exactly as ``codispatch simulate`` does on the same recorded period."""

from __future__ import annotations

import pandas as pd
import pytest

from control.cli import main
from control.feeds_parity import run_parity

START = pd.Timestamp("2023-07-02T16:00Z")  # the default scenario's start (00:00 China time)


def _busy_jobs(path) -> None:  # noqa: ANN001
    """Twelve jobs that must all run inside four hours: migrations (256 GB checkpoints), jobs that
    finish mid-hour, elastic and gang jobs, on every kind of site."""
    homes = ["shanghai", "zhangjiakou", "shaoguan", "qingyang", "zhongwei", "horinger", "guian", "chengdu"]
    rows = []
    for k in range(12):
        gpus = [64, 128, 256, 512][k % 4]
        rows.append({"job_id": f"p{k:02d}", "release": (START + pd.Timedelta(hours=k % 3)).isoformat(),
                     "deadline": (START + pd.Timedelta(hours=4)).isoformat(), "gpus": gpus,
                     "min_gpus": gpus // 2 if k % 5 == 0 else gpus, "work_gpu_h": round(gpus * (1.3 + 0.37 * (k % 4)), 3),
                     "home_site": homes[k % len(homes)], "allowed_sites": "", "priority": k % 3, "checkpoint_gb": 256.0})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_daemon_decides_as_simulate_four_hours(default_config, one_day, tmp_path) -> None:
    jobs = tmp_path / "jobs.csv"
    _busy_jobs(jobs)
    result = run_parity(default_config, one_day, tmp_path / "work", jobs=jobs, hours=4)
    assert result.decision_rows >= 12 and result.http_requests >= 4 * 16  # NWP + carbon over HTTP every tick
    assert result.identical, result.decision_mismatches.to_string()
    assert result.ledger_rows == result.decision_rows and result.ledger_max_abs_diff <= 1e-9
    assert result.progress_max_abs_diff <= 1e-9
    fallbacks = {f: n for f, n in result.tick_flags.items() if not f.startswith("job_")}  # job_at_risk etc. are job alerts
    assert fallbacks == {}  # clean data: no fallback anywhere


@pytest.mark.slow
def test_daemon_decides_as_simulate_seven_days_default_fleet(default_config, tmp_path) -> None:
    """The judged run: seven days of the default fleet and jobs, 168 ticks (about 15 min here)."""
    period = tmp_path / "period"
    assert main(["feeds", "record", "--config", str(default_config), "--days", "7", "--out", str(period)]) == 0
    result = run_parity(default_config, period, tmp_path / "work")
    assert result.hours == 168 and result.decision_rows > 100
    assert result.identical, result.decision_mismatches.to_string()
    assert result.ledger_rows == result.decision_rows and result.ledger_max_abs_diff <= 1e-9
    assert result.progress_max_abs_diff <= 1e-9
