"""Dispatch policies: the controller and the baselines it is measured against."""

from __future__ import annotations

from control.errors import InputError
from control.policies.agnostic import AgnosticPolicy
from control.policies.base import Policy, StepDecision
from control.policies.baselines import GreedyPolicy, TemporalPolicy
from control.policies.mpc import MpcPolicy
from control.policies.oracle import OraclePolicy
from control.settings import Settings

POLICY_NAMES = ("agnostic", "greedy", "temporal", "mpc", "grid_blind", "oracle")


def check_policy_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in POLICY_NAMES]
    if unknown or not names:
        raise InputError(f"unknown policy {unknown or names!r}; choose from {', '.join(POLICY_NAMES)}")


def make_policy(name: str, settings: Settings, scenario=None) -> Policy:  # noqa: ANN001
    """Create a policy by name (``oracle`` needs the scenario: it sees the actual data)."""
    if name == "oracle":
        if scenario is None:
            raise InputError("the oracle policy needs the scenario (actual supply and grid) to plan")
        return OraclePolicy(settings.mpc, scenario.provider.actual, scenario.grid.limits, scenario.index)
    if name == "agnostic":
        return AgnosticPolicy()
    if name == "greedy":
        return GreedyPolicy()
    if name == "temporal":
        return TemporalPolicy()
    if name == "mpc":
        return MpcPolicy(settings.mpc)
    if name == "grid_blind":
        return MpcPolicy(settings.mpc, use_network=False, name="grid_blind")
    raise InputError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}")


__all__ = ["POLICY_NAMES", "AgnosticPolicy", "GreedyPolicy", "TemporalPolicy", "MpcPolicy", "OraclePolicy", "Policy", "check_policy_names", "StepDecision", "make_policy"]
