"""One sweep scenario as a task: its key (config + code version) and the function a worker runs.

A task is small: the validated configuration as JSON-able data, the days and the policies. The
worker reads the weather, job and grid files named in it itself (they are not shipped), runs the
same code as ``codispatch simulate`` and returns the ``summary.json`` figures.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from control.sweep.spec import ScenarioSpec

_SOURCE_PACKAGES = ("control", "forecasts", "grid_models")


@functools.cache
def code_version() -> str:
    """``codispatch <version>+<hash of the source>``: the package version and a hash of every
    ``.py`` file of ``control``, ``forecasts`` and ``grid_models`` as imported (so a worker
    running other code is noticed, and a result is not reused across code changes)."""
    import importlib

    digest = hashlib.sha256()
    for package in _SOURCE_PACKAGES:
        root = Path(str(importlib.import_module(package).__file__)).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    try:
        version = metadata.version("codispatch")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"codispatch {version}+{digest.hexdigest()[:12]}"


@functools.cache
def _file_digest(path: str, size: int, mtime_ns: int) -> str:  # size and mtime: cache key only
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def data_digests(config: dict[str, Any]) -> dict[str, str]:
    """Content hash of every existing file the configuration names (weather, jobs, factor files;
    a directory counts by its file names and sizes)."""
    found: dict[str, str] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)
        elif isinstance(value, str) and os.path.isabs(value) and value not in found:
            path = Path(value)
            if path.is_file():
                stat = path.stat()
                found[value] = _file_digest(value, stat.st_size, stat.st_mtime_ns)
            elif path.is_dir():
                listing = sorted((str(p.relative_to(path)), p.stat().st_size) for p in path.rglob("*") if p.is_file())
                found[value] = hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]

    visit(config)
    return dict(sorted(found.items()))


def scenario_key(scenario: ScenarioSpec, version: str | None = None) -> str:
    """Hash of what decides a scenario's result: the full validated config, the data files it
    names, the days, the policies and the code version."""
    config = scenario.config
    payload = {
        "config": config,
        "data": data_digests(config),
        "days": scenario.days,
        "policies": list(scenario.policies),
        "code": version or code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def make_task(scenario: ScenarioSpec, key: str, version: str) -> dict[str, Any]:
    return {
        "scenario_id": scenario.scenario_id,
        "key": key,
        "config": scenario.config,
        "days": scenario.days,
        "policies": list(scenario.policies),
        "code_version": version,
    }


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario (on a worker). A scenario that fails returns its error instead of raising,
    so it is reported and the others go on; only a lost worker makes Dask retry it elsewhere."""
    started = time.perf_counter()
    worker = _worker_address()
    result: dict[str, Any] = {"scenario_id": task["scenario_id"], "key": task["key"], "worker": worker,
                              "host": platform.node(), "pid": os.getpid()}
    try:
        version = code_version()
        if version != task["code_version"]:
            raise RuntimeError(
                f"worker runs {version} but the sweep was planned with {task['code_version']}; "
                "install the same codispatch on every worker"
            )
        summary = simulate_config(task["config"], task["days"], task["policies"])
        result |= {"status": "done", "summary": summary}
    except Exception as exc:  # noqa: BLE001 - a failing scenario is data for the report
        result |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc(limit=8)}
    result["elapsed_s"] = time.perf_counter() - started
    result["max_rss_mb"] = _max_rss_mb()
    return result


def simulate_config(config: dict[str, Any], days: int, policies: list[str]) -> dict[str, Any]:
    """``summary.json`` of ``codispatch simulate`` for a validated configuration (JSON data)."""
    from control.scenario import load_scenario
    from control.settings import parse_settings
    from control.simulate import finite_json, simulate_policies, simulation_summary

    settings = parse_settings(config, source="sweep task")
    scenario = load_scenario(settings, days)
    runs = simulate_policies(settings, scenario, list(policies))
    return finite_json(simulation_summary(settings, scenario, days, runs))


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
