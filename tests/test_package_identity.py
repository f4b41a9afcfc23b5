"""PyPI's python-control also imports as ``control``; ours must win, and we never depend on it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import control
import forecasts
import grid_models

REPO = Path(__file__).resolve().parents[1]


def test_control_is_this_repository() -> None:
    assert Path(control.__file__).resolve().parent == REPO / "control"
    assert Path(forecasts.__file__).resolve().parent == REPO / "forecasts"
    assert Path(grid_models.__file__).resolve().parent == REPO / "grid_models"
    assert not hasattr(control, "TransferFunction")  # python-control's main class


def test_python_control_is_not_a_dependency() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.lower().replace("_", "-").startswith(("control", "python-control")) for d in deps)
