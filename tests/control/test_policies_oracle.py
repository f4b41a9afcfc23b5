"""The perfect-foresight oracle: its LP bound is below every online policy's emissions."""

from __future__ import annotations

import json

from control.cli import main


def test_oracle_bound_and_share_of_oracle_cut(default_config, tmp_path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--config", str(default_config), "--days", "1", "--out", str(out),
            "--no-progress", "--policies", "agnostic,greedy,mpc,oracle"]
    assert main(args) == 0
    policies = json.loads((out / "summary.json").read_text())["policies"]
    bound = policies["oracle"]["emissions_lp_bound_tco2"]
    for name in ("agnostic", "greedy", "mpc", "oracle"):
        assert bound <= policies[name]["emissions_tco2"] + 1e-9
        assert policies[name]["deadline_misses"] == 0
    share = policies["mpc"]["share_of_oracle_cut"]
    agnostic, mpc = policies["agnostic"]["emissions_tco2"], policies["mpc"]["emissions_tco2"]
    assert share == (agnostic - mpc) / (agnostic - bound)
    assert 0 < share <= 1
    executed = policies["mpc"]["share_of_oracle_cut_executed"]
    oracle = policies["oracle"]["emissions_tco2"]
    assert executed == ((agnostic - mpc) / (agnostic - oracle) if agnostic > oracle else None)
    assert policies["mpc"]["migrations"] >= 0 and "cost" in policies["mpc"]
