"""Dispatch policies: the controller and the baselines it is measured against."""

from __future__ import annotations

from control.policies.agnostic import AgnosticPolicy
from control.policies.base import Policy, StepDecision
from control.policies.baselines import GreedyPolicy, TemporalPolicy
from control.policies.mpc import MpcPolicy
from control.settings import Settings

POLICY_NAMES = ("agnostic", "greedy", "temporal", "mpc", "grid_blind")


def make_policy(name: str, settings: Settings) -> Policy:
    """Create a policy by name."""
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
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}")


__all__ = ["POLICY_NAMES", "AgnosticPolicy", "GreedyPolicy", "TemporalPolicy", "MpcPolicy", "Policy", "StepDecision", "make_policy"]
