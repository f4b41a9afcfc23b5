"""Sweep files: which config keys change, to which values, for which policies and periods.

A sweep file is TOML::

    [sweep]
    name = "western-renewables"
    policies = ["agnostic", "mpc"]     # run in every scenario
    days = [7]                         # periods: each scenario runs for each of these lengths ...
    starts = ["2023-07-03T00:00:00+08:00"]   # ... from each of these starts (default: the base's)

    [grid]                             # full product of the values
    "sites.qingyang.pv_capacity_mw" = [5, 20, 40]
    "sites[tier=west].wind_capacity_mw:scale" = [1, 2]

    [list]                             # zipped: scenario i takes the i-th value of every key
    "mpc.cost_weight_t_per_currency" = [0.0, 0.001]

    [sample]                           # random or Latin-hypercube samples, reproducible by seed
    method = "lhs"                     # or "random"
    n = 8
    seed = 1
    [sample.ranges]
    "sites.zhongwei.pv_capacity_mw" = [0.0, 40.0]       # uniform on [low, high]
    "mpc.horizon_h" = { low = 12, high = 48, integer = true }

Scenarios are the product grid x list x sample x starts x days (an absent part counts once).

Key paths are dotted paths into the base TOML: ``mpc.horizon_h``, ``gpu_models.H800.power_kw``,
``sites.qingyang.pv_capacity_mw`` (a list of tables is indexed by the entries' ``name``, or by
position: ``sites.0``), ``sites.*.pue`` (every entry) and ``sites[tier=west].pv_capacity_mw``
(every entry whose ``tier`` is ``west``). A key ending in ``:scale`` multiplies the base value
instead of replacing it. Every scenario is validated like a config file before anything runs.
"""

from __future__ import annotations

import copy
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

from control.errors import InputError
from control.policies import POLICY_NAMES
from control.settings import ConfigError, Settings, parse_settings

SCALE_SUFFIX = ":scale"
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z0-9_\-*]+)(\[(?P<field>[A-Za-z0-9_]+)=(?P<value>[^\]]*)\])?$")


class SweepError(InputError):
    """A sweep file or one of its scenarios is wrong; the message names the key, value and scenario."""


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of a sweep: the base config with some keys changed, validated."""

    scenario_id: str
    """Position in the sweep, e.g. ``s0007`` (stable for a given sweep file)."""
    params: dict[str, Any]
    """Swept key -> value (as written in the sweep file; ``:scale`` keys hold the factor)."""
    days: int
    start: str | None
    """``scenario.start`` override (ISO text) or None for the base config's."""
    policies: tuple[str, ...]
    settings: Settings = field(repr=False, compare=False)

    @property
    def config(self) -> dict[str, Any]:
        """The full validated configuration as JSON-able data (what a task carries)."""
        return self.settings.model_dump(mode="json")


@dataclass(frozen=True)
class SweepPlan:
    name: str
    base_config: Path
    sweep_file: Path
    keys: tuple[str, ...]
    """The swept keys in file order (the parameter columns of the results)."""
    scenarios: tuple[ScenarioSpec, ...]


def read_sweep(sweep_file: str | Path, base_config: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> SweepPlan:
    """Read a sweep file and expand it into validated scenarios of ``base_config``.

    Raises
    ------
    SweepError
        Listing every problem (unknown key, bad value, which scenario) before anything runs.
    ConfigError
        When the base config itself is invalid.
    """
    sweep_file, base_config = Path(sweep_file), Path(base_config)
    for path, what in ((sweep_file, "sweep file"), (base_config, "base config")):
        if not path.is_file():
            raise SweepError(f"{what} {path} does not exist; pass an existing TOML file")
    try:
        spec = tomllib.loads(sweep_file.read_text(encoding="utf-8"))
        base = tomllib.loads(base_config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"not valid TOML: {exc}") from exc
    for table, values in (overrides or {}).items():
        base[table] = {**base.get(table, {}), **values}
    base_dir = base_config.parent.resolve()
    parse_settings(copy.deepcopy(base), base_dir=base_dir, source=str(base_config))  # the base must be valid alone
    unknown = sorted(set(spec) - {"sweep", "grid", "list", "sample"})
    if unknown:
        raise SweepError(f"{sweep_file}: unknown tables {unknown}; a sweep file has [sweep], [grid], [list] and [sample]")
    head = spec.get("sweep", {})
    unknown = sorted(set(head) - {"name", "policies", "days", "starts"})
    if unknown:
        raise SweepError(f"{sweep_file}: unknown keys {unknown} in [sweep]; valid: name, policies, days, starts")
    policies = tuple(head.get("policies", ["agnostic", "mpc"]))
    bad = [p for p in policies if p not in POLICY_NAMES]
    if bad or not policies:
        raise SweepError(f"{sweep_file}: [sweep] policies = {list(policies)}: unknown {bad}; choose from {', '.join(POLICY_NAMES)}")
    days_list = _as_list(head.get("days", [7]))
    if not all(isinstance(d, int) and d >= 1 for d in days_list):
        raise SweepError(f"{sweep_file}: [sweep] days = {days_list}: give whole numbers of days >= 1, e.g. days = [7, 30]")
    starts = [str(s) for s in _as_list(head.get("starts", [None]))] if "starts" in head else [None]

    assignments = _assignments(spec, sweep_file)
    keys = tuple(dict.fromkeys(k for a in assignments[:1] for k in a))
    problems: list[str] = []
    scenarios: list[ScenarioSpec] = []
    jobs_checked: dict[tuple[str, tuple[tuple[str, str], ...]], str | None] = {}
    number = 0
    for params, start, days in itertools.product(assignments, starts, days_list):
        scenario_id = f"s{number:04d}"
        number += 1
        data = copy.deepcopy(base)
        try:
            for key, value in params.items():
                apply_key(data, key, value)
            if start is not None:
                data.setdefault("scenario", {})["start"] = start
            settings = parse_settings(data, base_dir=base_dir, source=f"scenario {scenario_id} {_show(params, start, days)}")
            _check_runnable(settings, jobs_checked)
        except (ConfigError, SweepError) as exc:
            problems.append(str(exc) if isinstance(exc, ConfigError) else f"scenario {scenario_id} {_show(params, start, days)}: {exc}")
            continue
        scenarios.append(ScenarioSpec(scenario_id, dict(params), int(days), start, policies, settings))
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise SweepError(f"{sweep_file}: {len(problems)} of {number} scenarios are invalid; nothing was run:\n" + "\n".join(shown))
    return SweepPlan(str(head.get("name", sweep_file.stem)), base_config, sweep_file, keys, tuple(scenarios))


def _check_runnable(settings: Settings, jobs_checked: dict[tuple[str, tuple[tuple[str, str], ...]], str | None]) -> None:
    """What the scenario's first hour would check, done before anything runs: each site's grid
    connection carries its full load, and the job file reads (once per file and site list)."""
    from control.fleet import Fleet
    from control.jobs import read_jobs, site_gpus
    from grid_models.connection import ConnectionCapacityError, ConnectionSpec, check_connection_capacity

    fleet = Fleet.from_settings(settings)
    for site, facility_mw in zip(settings.sites, fleet.gpu_facility_mw * fleet.gpu_count, strict=True):
        try:
            check_connection_capacity(ConnectionSpec(site=site.name, **site.connection.model_dump()), float(facility_mw))
        except ConnectionCapacityError as exc:
            raise SweepError(str(exc)) from None
    if settings.jobs is None:
        return
    capacity = site_gpus(settings)
    key = (str(settings.jobs.file), tuple(sorted((name, repr(c)) for name, c in capacity.items())))
    if key not in jobs_checked:
        try:
            read_jobs(settings.jobs.file, settings.site_names, capacity=capacity, late="warn")  # as load_scenario
            jobs_checked[key] = None
        except (ValueError, KeyError) as exc:
            jobs_checked[key] = f"job file {settings.jobs.file}: {exc}"
    if jobs_checked[key] is not None:
        raise SweepError(jobs_checked[key])


def _show(params: dict[str, Any], start: str | None, days: int) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    extra = f"start={start}, " if start is not None else ""
    return f"({shown}{', ' if shown else ''}{extra}days={days})"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _assignments(spec: dict[str, Any], sweep_file: Path) -> list[dict[str, Any]]:
    """Key -> value maps: the product of [grid], the zip of [list] and the [sample] rows."""
    grid = spec.get("grid", {})
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{sweep_file}: [grid] {key!r} = {values!r}: give a non-empty list of values")
    grid_rows = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    listed = spec.get("list", {})
    lengths = {key: len(v) if isinstance(v, list) else -1 for key, v in listed.items()}
    if listed and (min(lengths.values()) < 1 or len(set(lengths.values())) != 1):
        raise SweepError(f"{sweep_file}: [list] keys need lists of one common length (they are zipped); lengths {lengths}")
    n_list = next(iter(lengths.values())) if listed else 1
    list_rows = [{key: listed[key][i] for key in listed} for i in range(n_list)]
    sample_rows = _samples(spec["sample"], sweep_file) if "sample" in spec else [{}]
    repeated = (set(grid) & set(listed)) | ((set(grid) | set(listed)) & set(sample_rows[0]))
    if repeated:
        raise SweepError(f"{sweep_file}: keys {sorted(repeated)} are swept in more than one table; keep each key in one")
    return [{**g, **z, **r} for g in grid_rows for z in list_rows for r in sample_rows]


def _samples(sample: dict[str, Any], sweep_file: Path) -> list[dict[str, Any]]:
    unknown = sorted(set(sample) - {"method", "n", "seed", "ranges"})
    if unknown:
        raise SweepError(f"{sweep_file}: unknown keys {unknown} in [sample]; valid: method, n, seed, ranges")
    method = sample.get("method", "lhs")
    n = sample.get("n")
    if method not in ("lhs", "random"):
        raise SweepError(f"{sweep_file}: [sample] method = {method!r}; use 'lhs' (Latin hypercube) or 'random'")
    if not isinstance(n, int) or n < 1:
        raise SweepError(f"{sweep_file}: [sample] n = {n!r}; give the number of samples, e.g. n = 16")
    seed = sample.get("seed", 0)
    ranges = sample.get("ranges", {})
    if not ranges:
        raise SweepError(f"{sweep_file}: [sample] has no [sample.ranges]; add e.g. \"mpc.horizon_h\" = [12, 48]")
    bounds = []
    for key, spec in ranges.items():
        if isinstance(spec, list) and len(spec) == 2:
            low, high, integer = spec[0], spec[1], False
        elif isinstance(spec, dict) and {"low", "high"} <= set(spec) and set(spec) <= {"low", "high", "integer"}:
            low, high, integer = spec["low"], spec["high"], bool(spec.get("integer", False))
        else:
            raise SweepError(f"{sweep_file}: [sample.ranges] {key!r} = {spec!r}; give [low, high] or {{ low = .., high = .., integer = true }}")
        if not all(isinstance(b, int | float) for b in (low, high)) or not low <= high:
            raise SweepError(f"{sweep_file}: [sample.ranges] {key!r}: need numbers low <= high, got {low!r}, {high!r}")
        bounds.append((key, float(low), float(high), integer))
    dim = len(bounds)
    if method == "lhs":
        unit = qmc.LatinHypercube(d=dim, seed=np.random.default_rng(seed)).random(n)
    else:
        unit = np.random.default_rng(seed).random((n, dim))
    rows = []
    for point in unit:
        row: dict[str, Any] = {}
        for (key, low, high, integer), u in zip(bounds, point, strict=True):
            value = low + u * (high - low)
            row[key] = int(round(value)) if integer else float(value)
        rows.append(row)
    return rows


def apply_key(data: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` of the parsed TOML ``data`` to ``value`` (in place); see the module
    docstring for the path syntax."""
    path, scale = (key[: -len(SCALE_SUFFIX)], True) if key.endswith(SCALE_SUFFIX) else (key, False)
    if scale and not isinstance(value, int | float):
        raise SweepError(f"key {key!r}: a :scale factor must be a number, got {value!r}")
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise SweepError(f"key {key!r} is not a dotted path like 'mpc.horizon_h' or 'sites.qingyang.pv_capacity_mw'")
    _apply(data, parts, value, scale, key, [])


def _apply(node: Any, parts: list[str], value: Any, scale: bool, key: str, trail: list[str]) -> None:
    match = _SEGMENT.match(parts[0])
    if match is None:
        raise SweepError(f"key {key!r}: cannot read the part {parts[0]!r}")
    name, flt, fvalue = match["name"], match["field"], match["value"]
    rest = parts[1:]
    where = ".".join(trail) or "the top level"
    if isinstance(node, list):
        targets = _select(node, name, key, where)
    elif isinstance(node, dict):
        if name == "*":
            raise SweepError(f"key {key!r}: '*' selects entries of a list (e.g. sites.*), {where} is a table")
        if not rest and flt is None:
            _set(node, name, value, scale, key)
            return
        if name not in node:
            if rest and not flt:
                node[name] = {}  # a table the base config leaves at its defaults, e.g. [grid]
            else:
                raise SweepError(f"key {key!r}: {where} has no {name!r}; it has {sorted(node)}")
        targets = [node[name]]
    else:
        raise SweepError(f"key {key!r}: {where} is a value, not a table or list")
    if flt is not None:
        if not isinstance(targets[0], list):
            raise SweepError(f"key {key!r}: [{flt}={fvalue}] filters a list of tables; {name!r} is not one")
        targets = [entry for entry in targets[0] if isinstance(entry, dict) and str(entry.get(flt)) == fvalue]
        if not targets:
            raise SweepError(f"key {key!r}: no entry of {name!r} has {flt} = {fvalue!r}")
        if not rest:
            raise SweepError(f"key {key!r}: say which field of the selected entries to set")
        for entry in targets:
            _apply(entry, rest, value, scale, key, [*trail, parts[0]])
        return
    if not rest:
        raise SweepError(f"key {key!r}: {'.'.join(trail + [name])} is a list; select its entries (e.g. by name)")
    for target in targets:
        _apply(target, rest, value, scale, key, [*trail, name])


def _select(entries: list[Any], selector: str, key: str, where: str) -> list[Any]:
    if selector == "*":
        return entries
    if selector.isdigit():
        if int(selector) >= len(entries):
            raise SweepError(f"key {key!r}: {where} has {len(entries)} entries, no entry {selector}")
        return [entries[int(selector)]]
    named = [e for e in entries if isinstance(e, dict) and e.get("name") == selector]
    if not named:
        names = [e.get("name") for e in entries if isinstance(e, dict)]
        raise SweepError(f"key {key!r}: {where} has no entry named {selector!r}; names are {names}")
    return named


def _set(node: dict[str, Any], name: str, value: Any, scale: bool, key: str) -> None:
    if scale:
        if name not in node:
            raise SweepError(f"key {key!r}: {name!r} is not set in the base config, so there is nothing to scale; "
                             "set it there or sweep absolute values")
        base = node[name]
        if not isinstance(base, int | float) or isinstance(base, bool):
            raise SweepError(f"key {key!r}: base value {base!r} is not a number")
        node[name] = base * value
    else:
        node[name] = value
