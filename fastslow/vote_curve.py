"""Self-consistency's accuracy against the number of sampled chains, read back from its traces.

Wang et al. (2022, Figure 2) plot accuracy against the number of sampled reasoning paths. A run of
``sc`` with k samples holds every sample's answer (``meta["answers"]``), so the accuracy a vote over
any j <= k of them would have had follows without another model call: average the vote over the
j-subsets of each question's samples. The curve tells whether more samples would pay: it still
climbs at k, or it has levelled off (at the accuracy of the most frequent sampled answer).

``weighted=True`` gives the same curve for ``vote=weighted``: each sample counts with the weight its
trace recorded (``meta["weights"]``, its length-normalised probability) in place of one.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from fastslow.tasks.answers import normalize_answer, score_answer


def vote_rows(rows: list[dict[str, Any]], method: str = "sc", weighted: bool = False) -> list[dict[str, Any]]:
    """The trace rows of ``method`` that hold a reference and two or more sampled answers (and,
    when ``weighted``, a weight for each)."""
    out = []
    for r in rows:
        meta = r.get("meta") or {}
        answers = meta.get("answers") or []
        if r.get("method") != method or r.get("reference") is None or len(answers) < 2:
            continue
        if weighted and len(meta.get("weights") or []) != len(answers):
            continue
        out.append(r)
    return out


def question_curve(
    ids: list[int],
    right: list[bool],
    draws: int,
    rng: np.random.Generator,
    weights: list[float] | None = None,
) -> list[float]:
    """Expected accuracy of a vote over j of one question's samples, for j = 1..len(ids).

    ``ids[i]`` is sample i's answer (an index into ``right``) or -1 when it had none; such samples
    are votes that cannot win. Each sample counts one vote, or ``weights[i]``. Every j-subset is
    counted where there are at most ``draws`` of them, else ``draws`` random ones; a tie counts as
    the share of the tied answers that are right (what a random tie-break gets on average).
    """
    n, m = len(ids), max(len(right), 1)
    onehot = np.asarray(ids)[:, None] == np.arange(m)  # (samples, answers); a blank matches none
    if weights is not None:
        onehot = onehot * np.asarray(weights, dtype=np.float64)[:, None]
    good = np.asarray(right + [False] * (m - len(right)), dtype=bool)
    # The first j of a random order are a random j-subset: one order per draw serves every j, its
    # vote counts growing by one sample a step.
    orders = np.argsort(rng.random((draws, n)), axis=1)
    running = np.zeros((draws, m), dtype=onehot.dtype if weights is not None else np.int32)
    curve = []
    for j in range(1, n + 1):
        running += onehot[orders[:, j - 1]]
        if math.comb(n, j) <= draws:
            subsets = np.array(list(itertools.combinations(range(n), j)))
            counts = onehot[subsets].sum(axis=1)  # (subsets, answers)
        else:
            counts = running
        top = counts.max(axis=1, keepdims=True)
        tied = (counts == top) & (top > 0)
        won = (tied & good).sum(axis=1) / np.maximum(tied.sum(axis=1), 1)
        curve.append(float(won.mean()))
    return curve


def vote_curve(
    rows: list[dict[str, Any]],
    kind: str,
    method: str = "sc",
    draws: int = 1000,
    seed: int = 0,
    weighted: bool = False,
) -> dict[int, float]:
    """Mean over questions of ``question_curve``: j -> accuracy of a vote over j samples.

    ``rows`` are trace rows (``traces.jsonl``); ``kind`` is the task's answer kind. A j beyond some
    question's number of samples averages over the questions that have that many. ``weighted``: the
    weighted vote, over the rows that recorded weights (empty if none did).
    """
    rng = np.random.default_rng(seed)
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for row in vote_rows(rows, method, weighted):
        answers = row["meta"]["answers"]
        keys: dict[str, int] = {}
        ids, right = [], []
        for a in answers:
            if a is None:
                ids.append(-1)
                continue
            key = normalize_answer(a, kind)
            if key not in keys:
                keys[key] = len(keys)
                right.append(bool(score_answer(a, row["reference"], kind)))
            ids.append(keys[key])
        weights = row["meta"]["weights"] if weighted else None
        for j, acc in enumerate(question_curve(ids, right, draws, rng, weights), start=1):
            sums[j] = sums.get(j, 0.0) + acc
            counts[j] = counts.get(j, 0) + 1
    return {j: sums[j] / counts[j] for j in sorted(sums)}
