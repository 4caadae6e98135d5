"""Preference pairs with the paper's length control (Wu et al. 2024, §2.3).

Per prompt, over its K responses: each judge's score and each response's length are z-scored within
the prompt's K; the judges are ensembled (``mean``, or ``min``: the conservative defence against a
policy that learns to exploit one judge, Coste et al. 2023); ``s = z(score) − ρ · z(length)``;
chosen = argmax s, rejected = argmin s. An output whose thought/response split failed can only be
rejected: it is never a candidate for chosen, and when there is one it is the rejected (its score is
the lowest possible). A response some judge could not score (a malformed judge reply) is left out of
the choice on both sides: the judge's failure says nothing of the response. A judge that scored none
of a prompt's parsed responses sits that prompt out (a judge that never replies with a score would
otherwise veto every pair). Where the judges score
every candidate alike there is no pair (length alone never makes one), nor where every candidate has
the same s. ``choose_rho`` finds
the smallest ρ in [0, 0.5] for which the chosen responses are on average no longer than the rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RHO_GRID = tuple(i / 20 for i in range(11))  # 0, 0.05, ..., 0.5


def zscores(values: list[float]) -> list[float]:
    """(x − mean) / std within the list; all zeros when the values are all equal."""
    n = len(values)
    if n == 0:
        return []
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return [0.0] * n if std == 0 else [(v - mean) / std for v in values]


@dataclass(frozen=True)
class Candidate:
    """One sampled output of a prompt: its judges' scores (None: not judged), its response length,
    and whether its thought/response split parsed."""

    scores: tuple[float | None, ...]
    length: int
    parsed: bool = True

    def judged(self, judges: list[int]) -> bool:
        """Parsed, and scored by every one of ``judges``."""
        return self.parsed and all(self.scores[j] is not None for j in judges)


def active_judges(candidates: list[Candidate]) -> list[int]:
    """The judges that scored at least one of the parsed candidates (the others sit out)."""
    judges = len(candidates[0].scores) if candidates else 0
    return [j for j in range(judges) if any(c.parsed and c.scores[j] is not None for c in candidates)]


@dataclass(frozen=True)
class Pair:
    chosen: int
    rejected: int
    margin: float  # s(chosen) − s(rejected)


def combined_scores(candidates: list[Candidate], ensemble: str = "mean") -> list[float]:
    """Each judged candidate's ensembled z-score over the judges (−inf for a parse failure, NaN for a
    response some judge could not score)."""
    if ensemble not in ("mean", "min"):
        raise ValueError(f"ensemble must be mean or min, got {ensemble!r}")
    judges = active_judges(candidates)
    parsed = [i for i, c in enumerate(candidates) if c.judged(judges)] if judges else []
    per_judge = []
    for j in judges:
        raw = [candidates[i].scores[j] for i in parsed]
        per_judge.append(zscores([float(r) for r in raw]))  # type: ignore[arg-type]
    out = [-math.inf if not c.parsed else math.nan for c in candidates]
    for pos, i in enumerate(parsed):
        zs = [z[pos] for z in per_judge]
        out[i] = (sum(zs) / len(zs) if ensemble == "mean" else min(zs)) if zs else 0.0
    return out


def best_worst(candidates: list[Candidate], rho: float, ensemble: str = "mean") -> Pair | None:
    """The length-controlled chosen/rejected pair of one prompt, or None (no parsed output, or every
    candidate tied)."""
    scores = combined_scores(candidates, ensemble)
    judges = active_judges(candidates)
    parsed = [i for i, c in enumerate(candidates) if c.judged(judges)] if judges else []
    if not parsed:
        return None
    lengths = zscores([float(candidates[i].length) for i in parsed])
    s = {i: scores[i] - rho * z for i, z in zip(parsed, lengths)}
    chosen = max(parsed, key=lambda i: (s[i], -i))
    failed = [i for i, c in enumerate(candidates) if not c.parsed]
    if failed:
        return Pair(chosen, failed[0], math.inf)
    if len({scores[i] for i in parsed}) == 1:  # the judges tell none apart: no pair on length alone
        return None
    rejected = min(parsed, key=lambda i: (s[i], i))
    if s[chosen] == s[rejected]:
        return None
    return Pair(chosen, rejected, s[chosen] - s[rejected])


def choose_rho(
    prompts: list[list[Candidate]], ensemble: str = "mean", grid: tuple[float, ...] = RHO_GRID
) -> float:
    """The smallest ρ of ``grid`` whose chosen responses are on average no longer than the rejected
    (the paper's rule); the largest if none is."""
    for rho in grid:
        pairs = [(c, best_worst(c, rho, ensemble)) for c in prompts]
        pairs = [(c, p) for c, p in pairs if p is not None and c[p.rejected].parsed]
        if not pairs:
            return rho
        chosen = sum(c[p.chosen].length for c, p in pairs) / len(pairs)
        rejected = sum(c[p.rejected].length for c, p in pairs) / len(pairs)
        if chosen <= rejected:
            return rho
    return grid[-1]
