"""The bench command: one control step on a trace-drawn workload, classes vs the naive LP."""

from __future__ import annotations

import json

import pytest

from control.cli import main


def test_bench_small_with_naive(tmp_path, shared_data, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--jobs", "150", "--sites", "4", "--horizon-h", "24", "--naive",
                 "--json", str(out), "--shared-data", str(shared_data)]) == 0
    numbers = json.loads(out.read_text())
    for key in ("build_s", "solve_s", "step_s", "peak_rss_mb", "gap_to_lp_bound", "naive_step_s", "speedup_vs_naive"):
        assert isinstance(numbers[key], float), key
    assert numbers["jobs"] == 150 and numbers["sites"] == 4 and numbers["horizon_h"] == 24
    assert numbers["classes"] < numbers["jobs"]
    assert numbers["columns"] < numbers["naive_columns"]
    # whole gangs in step 0 cost little against the LP bound (the objective here is about -12 t,
    # so 2 % is 0.25 t; at fleet scale the gap is far below 1 %)
    assert 0 <= numbers["gap_to_lp_bound"] <= 0.02
    assert "speedup_vs_naive" in capsys.readouterr().out


def test_job_classes_keep_the_per_job_optimum(shared_data, default_config) -> None:
    """Planned hour by hour (no move blocking), the class LP has the per-job LP's optimum: a
    looser class model would hide deadline misses. Move blocking then only restricts it."""
    from control.bench import make_case, run_naive, run_step
    from control.settings import load_settings

    hourly = load_settings(default_config, {"mpc": {"hourly_h": 24}})
    case = make_case(hourly, shared_data, 150, 4, 24)
    classes, naive = run_step(case, hourly), run_naive(case, hourly)
    assert classes["objective"] == pytest.approx(naive["naive_objective"], rel=1e-3, abs=1e-3)
    blocked = run_step(case, load_settings(default_config, {"mpc": {"hourly_h": 6, "block_h": 4}}))
    assert blocked["columns"] < classes["columns"]
    assert blocked["objective"] >= classes["objective"] - 1e-6


def test_bench_rejects_nonsense(capsys) -> None:
    assert main(["bench", "--jobs", "0"]) == 2
    assert "--jobs=0" in capsys.readouterr().err


@pytest.mark.bench
@pytest.mark.parametrize("jobs", [1_000, 10_000, 100_000])
def test_bench_fleet_scale(jobs, shared_data, tmp_path, capsys) -> None:
    """On demand (pytest -m bench): prints the numbers of issue 4's scale table."""
    args = ["bench", "--jobs", str(jobs), "--json", str(tmp_path / "b.json"), "--shared-data", str(shared_data)]
    if jobs <= 10_000:
        args.append("--naive")
    assert main(args) == 0
    print(capsys.readouterr().out)
