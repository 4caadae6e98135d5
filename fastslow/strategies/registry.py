"""Strategy names -> classes, and ``--param`` parsing.

Parameters use one syntax everywhere: ``--param KEY=VALUE`` applies to every chosen method that
has a parameter KEY; ``--param METHOD.KEY=VALUE`` to that method alone. Values are converted to
the parameter's type (int, float, bool, str).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastslow.errors import FastslowError
from fastslow.strategies.adaptive import AdaptiveRouter
from fastslow.strategies.base import Strategy
from fastslow.strategies.branch_solve_merge import BranchSolveMerge
from fastslow.strategies.cot import ChainOfThought
from fastslow.strategies.direct import Direct
from fastslow.strategies.least_to_most import LeastToMost
from fastslow.strategies.plan_and_solve import PlanAndSolve, PlanAndSolvePlus
from fastslow.strategies.rephrase_and_respond import RephraseAndRespond, TwoStepRephraseAndRespond
from fastslow.strategies.self_consistency import SelfConsistency
from fastslow.strategies.self_refine import SelfRefine
from fastslow.strategies.system2_attention import System2Attention
from fastslow.strategies.thought import ThoughtPrompt
from fastslow.strategies.universal_self_consistency import UniversalSelfConsistency

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in [
        Direct,
        ChainOfThought,
        SelfConsistency,
        LeastToMost,
        PlanAndSolve,
        PlanAndSolvePlus,
        System2Attention,
        RephraseAndRespond,
        TwoStepRephraseAndRespond,
        BranchSolveMerge,
        UniversalSelfConsistency,
        SelfRefine,
        ThoughtPrompt,
        AdaptiveRouter,
    ]
}


def parameters(cls: type[Strategy]) -> dict[str, Any]:
    """A strategy's parameters and their defaults."""
    return {f.name: f.default for f in dataclasses.fields(cls)}


def _convert(value: str, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        low = value.lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise FastslowError(f"{where}: expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise FastslowError(f"{where}: expected an integer, got {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise FastslowError(f"{where}: expected a number, got {value!r}") from None
    return value


def parse_params(items: list[str]) -> list[tuple[str | None, str, str]]:
    """``["k=5", "sc.temperature=0.5"]`` -> ``[(None, "k", "5"), ("sc", "temperature", "0.5")]``."""
    parsed = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FastslowError(f"--param {item!r}: expected KEY=VALUE or METHOD.KEY=VALUE")
        method, dot, name = key.rpartition(".")
        parsed.append((method if dot else None, name, value))
    return parsed


def make_strategies(names: list[str], params: list[str] | None = None) -> list[Strategy]:
    """Build the named strategies with their parameters; unknown names or keys are errors."""
    for name in names:
        if name not in STRATEGIES:
            raise FastslowError(f"unknown method {name!r}; known methods: {', '.join(STRATEGIES)}")
    parsed = parse_params(params or [])
    kwargs: dict[str, dict[str, Any]] = {n: {} for n in names}
    for method, key, value in parsed:
        targets = [method] if method else [n for n in names if key in parameters(STRATEGIES[n])]
        if method and method not in names:
            raise FastslowError(f"--param {method}.{key}: method {method!r} is not among {', '.join(names)}")
        if not targets or key not in parameters(STRATEGIES[targets[0]]):
            raise FastslowError(
                f"--param {key}: no chosen method has a parameter {key!r} (see `fastslow methods`)"
            )
        for t in targets:
            kwargs[t][key] = _convert(value, parameters(STRATEGIES[t])[key], f"--param {t}.{key}")
    return [STRATEGIES[n](**kwargs[n]) for n in names]


def list_methods() -> list[dict[str, Any]]:
    return [
        {
            "name": n,
            "summary": cls.summary,
            "cost": cls.cost,
            "citation": cls.citation,
            "params": parameters(cls),
        }
        for n, cls in STRATEGIES.items()
    ]
