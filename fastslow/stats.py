"""Small statistics for reports: proportions with intervals, means."""

from __future__ import annotations

import math
from typing import Any


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% by default).

    Better than the normal approximation for the small samples and extreme accuracies (0% or 100%)
    that small-model evaluations produce.
    """
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # The interval holds p; rounding alone can put centre + half at 0.9999999999999999 when p = 1
    # (then an error bar drawn from p comes out negative).
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def paired_difference(
    first: list[bool] | list[float], second: list[bool] | list[float], z: float = 1.96
) -> tuple[float, float, float]:
    """The difference of two accuracies on the same questions (``first - second``, each a 0/1
    outcome per question, in the same order) with Newcombe's (1998) hybrid-score interval for
    paired proportions (his method 10): Wilson intervals of each accuracy, joined through the
    correlation of the pairs. Two models answering the same questions are paired; an interval
    for independent samples would be too wide."""
    if len(first) != len(second):
        raise ValueError(f"paired outcomes need equal lengths, got {len(first)} and {len(second)}")
    n = len(first)
    if n == 0:
        return 0.0, 0.0, 0.0
    a = sum(1 for x, y in zip(first, second) if x and y)
    b = sum(1 for x, y in zip(first, second) if x and not y)
    c = sum(1 for x, y in zip(first, second) if not x and y)
    d = n - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, z)
    l2, u2 = wilson_interval(a + c, n, z)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    # The correlation of the pairs, continuity-corrected when positive (as Newcombe and Altman et
    # al., "Statistics with Confidence", compute it).
    cross = a * d - b * c
    cross = max(cross - n / 2, 0.0) if cross > 0 else cross
    phi = cross / math.sqrt(denom) if denom else 0.0
    theta = p1 - p2
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return theta, max(-1.0, theta - delta), min(1.0, theta + eps)


def difference_by_id(rows: list[dict[str, Any]], base_rows: list[dict[str, Any]]) -> list[float] | None:
    """Accuracy of ``rows`` minus that of ``base_rows`` on the same questions (``example_id`` and a
    0/1 ``score`` each, as eval traces hold them), with Newcombe's paired 95% interval:
    ``[difference, low, high]``; None when a question has no score or the base lacks it."""
    base = {r["example_id"]: r.get("score") for r in base_rows}
    pairs = [(r["score"], base.get(r["example_id"])) for r in rows if r.get("score") is not None]
    if not pairs or any(b is None for _, b in pairs):
        return None
    return list(paired_difference([a for a, _ in pairs], [b for _, b in pairs]))
