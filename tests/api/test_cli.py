"""The operator commands on the same functions as the API: status, jobs, job (with the why),
plan, cancel, modify, outage, token list."""

from __future__ import annotations

import json

from control.cli import main
from control.runtime.wiring import open_store
from control.settings import load_settings

from .conftest import copy_fleet


def test_operator_commands(built_fleet, tmp_path, capsys) -> None:
    fleet = copy_fleet(built_fleet, tmp_path)
    config = str(fleet.config)
    assert main(["status", "--config", config]) == 0
    out = capsys.readouterr().out
    assert f"last tick   {fleet.ticks[-1].isoformat()}" in out and "jobs        " in out
    assert main(["jobs", "--config", config, "--state", "running", "--json"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert page["total"] > 0 and all(j["state"] == "running" for j in page["items"])
    job_id = page["items"][0]["job_id"]
    assert main(["job", job_id, "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"job {job_id}: running") and "why (" in out and "planned:" in out
    assert main(["plan", "--config", config, "--hours", "2"]) == 0
    assert f"plan of tick {fleet.ticks[-1].isoformat()}" in capsys.readouterr().out
    assert main(["cancel", job_id, "--config", config]) == 0
    assert main(["modify", page["items"][-1]["job_id"], "--config", config, "--priority", "4"]) == 0
    assert main(["modify", job_id, "--config", config, "--deadline", "tomorrow"]) == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err
    assert main(["outage", "atlantis", "--config", config, "--start", "2023-07-03T00:00Z", "--end",
                 "2023-07-03T02:00Z"]) == 2
    assert main(["job", "nope", "--config", config]) == 2
    assert main(["token", "list", "--config", config]) == 0
    listing = capsys.readouterr().out
    assert "viewer1" in listing and "operator1" in listing and "cdp_" not in listing  # never the tokens
    with open_store(load_settings(fleet.config)) as store:
        requests = store.requests()
        audit = store.audit_log()
    assert [r["kind"] for r in requests] == ["cancel", "modify"]
    assert all(a["actor"].startswith("cli:") for a in audit)
