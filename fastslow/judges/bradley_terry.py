"""Bradley–Terry scores from pairwise preferences (Wu et al. 2024 turn their pairwise judge's
verdicts, each pair judged in both orders, into per-response scores this way, ELO-like).

``wins[i][j]`` counts how often response i was preferred to j (a tie counts half to each). The
strengths ``p`` maximise the Bradley–Terry likelihood ``P(i beats j) = p_i / (p_i + p_j)``, found by
Hunter's (2004) minorisation-maximisation updates. A response that won (or lost) every comparison
has no finite maximum-likelihood strength, so every pair gets a small virtual tie (``prior``): the
order is kept and the scores stay finite. Scores are on the ELO scale, ``400 · log10(p)``, centred
on zero.
"""

from __future__ import annotations

import math


def bradley_terry(
    wins: list[list[float]], prior: float = 0.1, iterations: int = 500, tol: float = 1e-10
) -> list[float]:
    """ELO-like scores (mean zero) of the K items compared in ``wins`` (a K × K matrix)."""
    k = len(wins)
    if k == 0:
        return []
    if any(len(row) != k for row in wins):
        raise ValueError("wins must be a square matrix")
    w = [[wins[i][j] + (prior / 2 if i != j else 0.0) for j in range(k)] for i in range(k)]
    games = [[w[i][j] + w[j][i] for j in range(k)] for i in range(k)]
    total_wins = [sum(w[i][j] for j in range(k) if j != i) for i in range(k)]
    p = [1.0] * k
    for _ in range(iterations):
        new = []
        for i in range(k):
            denom = sum(games[i][j] / (p[i] + p[j]) for j in range(k) if j != i and games[i][j] > 0)
            new.append(total_wins[i] / denom if denom > 0 else p[i])
        norm = math.exp(sum(math.log(x) for x in new) / k)  # geometric mean 1: the scale is free
        new = [x / norm for x in new]
        done = max(abs(a - b) for a, b in zip(new, p)) < tol
        p = new
        if done:
            break
    elo = [400 * math.log10(x) for x in p]
    mean = sum(elo) / k
    return [e - mean for e in elo]


def wins_from_verdicts(k: int, verdicts: list[tuple[int, int, str]]) -> list[list[float]]:
    """A wins matrix from judged pairs ``(i, j, verdict)`` with verdict "A" (i preferred), "B" (j
    preferred) or "tie"; a pair judged in both orders simply appears twice, once each way round,
    so a verdict that flips with the order becomes a tie in effect."""
    wins = [[0.0] * k for _ in range(k)]
    for i, j, verdict in verdicts:
        if verdict == "A":
            wins[i][j] += 1
        elif verdict == "B":
            wins[j][i] += 1
        else:
            wins[i][j] += 0.5
            wins[j][i] += 0.5
    return wins
