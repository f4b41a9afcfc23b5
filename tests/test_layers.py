"""The import graph follows the layers of docs/ARCHITECTURE.md.

Every import counts, also the lazy ones inside functions: a lazy import from a lower floor to a
higher one is still a dependency upward. ``TYPE_CHECKING``-only imports count as well.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("control", "forecasts", "grid_models")

# Floors of control/, lowest first. A unit may import its own floor or lower floors, never a
# higher one. A new sub-package or top-level module of control/ must be given a floor here.
FLOORS: list[set[str]] = [
    {"errors", "safe_csv"},                       # the project's error types; CSV escaping; import nothing of control
    {"settings"},                                 # validated, frozen configuration
    {"fleet", "jobs", "workload", "decision"},    # the domain: sites, GPUs, jobs, a decided step
    {"accounting"},                               # pure booking rules, factors, checks
    {"scenario", "mpc", "store", "feeds"},        # inputs assembled (feeds: edge adapters wired); pure MPC; persistence
    {"policies"},                                 # decide one step (baselines, MPC, oracle)
    {"simulate", "bench", "lwa", "reporting"},    # many steps offline; rendering of results
    {"runtime", "operations", "sweep", "feeds_record", "feeds_parity"},  # daemon/tick and adapters; what-ifs; sweeps; recorded feeds, parity
    {"commands", "cli", "api"},                   # entry points
]
KNOWN_CYCLES = [["control.feeds", "control.scenario", "control.feeds"]]
"""Debt, to remove: ``scenario.forecast_provider`` lazily imports ``control.feeds``, which lazily
imports ``scenario.site_carbon_intensity`` (landed by issue 14 while this test was written)."""
FLOOR_OF = {unit: level for level, units in enumerate(FLOORS) for unit in units}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _unit(module: str) -> str:
    """``control.mpc.build`` -> ``control.mpc``; ``forecasts.solar`` -> ``forecasts``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "control" and len(parts) > 1 else parts[0]


def _imports(path: Path, module: str | None = None) -> set[str]:
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from control import x`
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> files that import it."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = _unit(_module_name(path))
            for name in _imports(path):
                target = _unit(name)
                if target != source and (target != "control" or name == "control"):
                    edges[source][target].add(str(path.relative_to(ROOT)))
    return edges


GRAPH = _graph()


def _short(unit: str) -> str:
    return unit.removeprefix("control.")


def test_leaf_packages_import_nothing_of_control() -> None:
    bad = {(s, t): sorted(f) for s in ("forecasts", "grid_models") for t, f in GRAPH.get(s, {}).items()
           if t.startswith("control")}
    assert not bad, f"forecasts/ and grid_models/ must not import control/: {bad}"


def test_forecasts_do_not_import_grid_models() -> None:
    files = GRAPH.get("forecasts", {}).get("grid_models", set())
    assert not files, f"forecasts/ is a leaf and must not import grid_models/: {sorted(files)}"


def test_every_control_unit_has_a_floor() -> None:
    units = {p.stem if p.is_file() else p.name for p in (ROOT / "control").iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    missing = sorted(units - set(FLOOR_OF))
    assert not missing, f"control units {missing} have no floor: add them to FLOORS in {__file__}"


def _upward(graph: dict[str, dict[str, set[str]]]) -> list[str]:
    upward = []
    for source, targets in graph.items():
        if not source.startswith("control.") or _short(source) not in FLOOR_OF:
            continue
        for target, files in targets.items():
            if target.startswith("control.") and _short(target) in FLOOR_OF \
                    and FLOOR_OF[_short(target)] > FLOOR_OF[_short(source)]:
                upward.append(f"{_short(source)} (floor {FLOOR_OF[_short(source)]}) imports {_short(target)} "
                              f"(floor {FLOOR_OF[_short(target)]}) in {sorted(files)}")
    return sorted(upward)


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, {})):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_goes_up_a_floor() -> None:
    upward = _upward(GRAPH)
    assert not upward, "imports up a floor:\n" + "\n".join(upward)


def test_no_import_cycle_between_units() -> None:
    cycles = [c for c in _cycles(GRAPH) if c not in KNOWN_CYCLES and c[::-1] not in KNOWN_CYCLES
              and sorted(set(c)) != ["control.feeds", "control.scenario"]]
    assert not cycles, f"import cycles between units: {cycles}"


def test_the_checker_sees_a_planted_upward_import_and_cycle(tmp_path: Path) -> None:
    """The checker itself: a lazy upward import written into a module is reported, and so is the
    cycle it closes."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from control.policies.mpc import MpcPolicy  # lazy\n", encoding="utf-8")
    names = _imports(planted, module="control.accounting.planted")
    graph = {"control.accounting": {_unit(n): {"planted.py"} for n in names},
             "control.policies": {"control.accounting": {"policies/x.py"}}}
    assert _upward(graph) and "accounting (floor 3) imports policies" in _upward(graph)[0]
    assert _cycles(graph) == [["control.accounting", "control.policies", "control.accounting"]]
