"""Where self-consistency gains and loses against chain-of-thought, read from `fastslow eval` runs.

For each run directory (one task, with `cot` and `sc` in its traces.jsonl): accuracy of each, the
questions sc fixes and breaks, how often a single sampled chain is right, how many questions no
sample gets right, and the vote's mean agreement. On arithmetic runs it also tallies the first
operation of every chain (its operands are always numbers of the question) by operator and by the
sign of the result: how often the model works it out wrong; and, among the answers sampled twice or
more on a question, how many were reached by more than one path (sequence of worked results), right
answers and wrong ones apart: self-consistency gains where right answers have more paths. Given
several runs (other sets of questions), it ends with the paired difference sc - cot over all their
questions, with a 95% interval.
Last, the accuracy a vote of k samples would have for every k up to the number sampled (the curve of
Wang et al.'s Figure 2; `fastslow.vote_curve`), over all the runs' questions: it tells whether more
samples would help, from one run with many. Runs of `sc.vote=weighted` get the weighted vote's curve too.

    python benchmarks/sc_vs_cot.py runs/reasoner/embedded-reasoner-arithmetic-steps3 [more run dirs]
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from fastslow.runs import read_rows
from fastslow.tasks.answers import score_answer
from fastslow.tasks.arithmetic import parse_question, solve
from fastslow.vote_curve import vote_curve

# The first sentence of an arithmetic chain: "5 - 12 = -(12 - 5) = -7" (operands, then its forms).
_FIRST_STEP = re.compile(r"\s*(-?\d+) ([-+*]) \(?(-?\d+)\)? = (.*)")


def read_traces(run_dir: Path) -> tuple[str, str, dict[tuple[str, str], dict[str, Any]]]:
    """The task's name and answer kind, and the traces keyed by (method, example id)."""
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    rows = {(row["method"], row["example_id"]): row for row in read_rows(run_dir / "traces.jsonl")}
    return summary["task"], summary["kind"], rows


def paired(kind: str, rows: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """cot against sc on the examples both answered."""
    ids = sorted(e for m, e in rows if m == "cot" and ("sc", e) in rows)
    if not ids:
        raise SystemExit("no example has both a cot and an sc trace")
    cot = {e: rows[("cot", e)]["score"] for e in ids}
    sc = {e: rows[("sc", e)]["score"] for e in ids}
    samples = right = none_right = 0
    for e in ids:
        row = rows[("sc", e)]
        hits = [score_answer(a, row["reference"], kind) for a in row["meta"]["answers"]]
        samples += len(hits)
        right += sum(hits)
        none_right += not any(hits)
    return {
        "n": len(ids),
        "cot": sum(cot.values()),
        "sc": sum(sc.values()),
        "fixes": sum(sc[e] > cot[e] for e in ids),
        "breaks": sum(sc[e] < cot[e] for e in ids),
        "sampled_right": right / samples,
        "no_sample_right": none_right,
        "agreement": sum(rows[("sc", e)]["meta"]["agreement"] for e in ids) / len(ids),
    }


def pooled_difference(runs: list[dict[str, Any]]) -> tuple[int, float, float, float]:
    """Over the questions of all ``runs``: their number, and sc's accuracy minus cot's with a 95%
    interval. Paired: each question contributes +1 (sc fixes it), -1 (sc breaks it) or 0, so the
    interval is the normal one for the mean of those differences."""
    n = sum(r["n"] for r in runs)
    fixes = sum(r["fixes"] for r in runs)
    breaks = sum(r["breaks"] for r in runs)
    mean = (fixes - breaks) / n
    variance = ((fixes + breaks) / n - mean**2) * n / max(n - 1, 1)
    half = 1.96 * math.sqrt(variance / n)
    return n, mean, mean - half, mean + half


def first_operation_errors(rows: dict[tuple[str, str], dict[str, Any]], method: str) -> dict[str, list[int]]:
    """[wrong, tried] per first operation, keyed like '- negative': chains of ``method`` whose first
    sentence works out the question's first operation (other first sentences are left out)."""
    tally: dict[str, list[int]] = {}
    for (m, _), row in rows.items():
        if m != method:
            continue
        step = solve(*parse_question(row["question"]))[0][0]
        key = f"{step.op} {'negative' if step.result < 0 else 'non-negative'}"
        for output in (o for s in row["steps"] for o in s["outputs"]):
            match = _FIRST_STEP.match(output.split(". ")[0])
            if match is None or (int(match[1]), match[2], int(match[3])) != (step.left, step.op, step.right):
                continue
            numbers = re.findall(r"-?\d+", match[4])
            counts = tally.setdefault(key, [0, 0])
            counts[0] += not numbers or int(numbers[-1]) != step.result
            counts[1] += 1
    return dict(sorted(tally.items()))


_RESULT = re.compile(r"= (-?\d+)\.")  # a worked result: "... = -7."


def _difference(answer: str, reference: str) -> int | None:
    try:
        return int(answer) - int(reference)
    except ValueError:
        return None


def answer_paths(rows: dict[tuple[str, str], dict[str, Any]], kind: str) -> dict[str, list[int]]:
    """For the answers sc sampled twice or more on a question, right and wrong: [reached by two or
    more paths, all]. A sample's path is the sequence of results it works out ("= 39." ...), so two
    samples that reach 67 as "49 + 18 = 67" and "39 + 18 = 67" took two paths to one answer.
    ``off_by_tens``: [wrong samples off by a multiple of 10, all wrong samples]."""
    tally = {"right": [0, 0], "wrong": [0, 0], "off_by_tens": [0, 0]}
    for (m, _), row in rows.items():
        if m != "sc":
            continue
        outputs = [o for s in row["steps"] for o in s["outputs"]]
        paths: dict[str, set[tuple[str, ...]]] = {}
        counts: dict[str, int] = {}
        for output, answer in zip(outputs, row["meta"]["answers"]):
            if answer is not None:
                paths.setdefault(answer, set()).add(tuple(_RESULT.findall(output.split("The answer")[0])))
                counts[answer] = counts.get(answer, 0) + 1
        for answer, n in counts.items():
            right = score_answer(answer, row["reference"], kind)
            if not right:  # wrong samples: off by 10, 20, ...?
                gap = _difference(answer, row["reference"])
                tally["off_by_tens"][0] += n * (gap is not None and gap % 10 == 0)
                tally["off_by_tens"][1] += n
            if n > 1:
                cell = tally["right" if right else "wrong"]
                cell[0] += len(paths[answer]) > 1
                cell[1] += 1
    return tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="`fastslow eval` run directories")
    args = ap.parse_args()
    pooled = []
    all_rows: list[dict[str, Any]] = []
    for run_dir in args.runs:
        task, kind, rows = read_traces(run_dir)
        all_rows += rows.values()
        p = paired(kind, rows)
        pooled.append(p)
        print(
            f"{run_dir}: cot {p['cot']:.0f}/{p['n']}, sc {p['sc']:.0f}/{p['n']} "
            f"(fixes {p['fixes']}, breaks {p['breaks']}); a sampled chain right {p['sampled_right']:.1%}; "
            f"no sample right on {p['no_sample_right']}; mean agreement {p['agreement']:.2f}"
        )
        if task == "arithmetic":
            for method in ("cot", "sc"):
                errors = first_operation_errors(rows, method)
                cells = ", ".join(f"{k} {wrong}/{tried}" for k, (wrong, tried) in errors.items())
                print(f"  first operation wrong ({method}): {cells}")
            tally = answer_paths(rows, kind)
            print(
                "  answers sampled twice or more, reached by two or more paths: "
                f"right {tally['right'][0]}/{tally['right'][1]}, wrong {tally['wrong'][0]}/{tally['wrong'][1]}; "
                f"wrong samples off by a multiple of 10: {tally['off_by_tens'][0]}/{tally['off_by_tens'][1]}"
            )
    if len(pooled) > 1:
        n, mean, low, high = pooled_difference(pooled)
        cot, sc = sum(p["cot"] for p in pooled), sum(p["sc"] for p in pooled)
        print(
            f"pooled over {len(pooled)} runs: cot {cot:.0f}/{n}, sc {sc:.0f}/{n}; "
            f"sc - cot {mean:+.1%} [95% {low:+.1%} to {high:+.1%}] (paired)"
        )
    cot = sum(r["cot"] for r in pooled) / sum(r["n"] for r in pooled)
    curve = vote_curve(all_rows, kind)
    cells = ", ".join(f"{k}: {acc:.1%}" for k, acc in curve.items())
    print(f"a vote of k samples (mean over random subsets; cot {cot:.1%}): {cells}")
    weighted = vote_curve(all_rows, kind, weighted=True)
    if weighted:
        cells = ", ".join(f"{k}: {acc:.1%}" for k, acc in weighted.items())
        print(f"the weighted vote of k samples (mean over random subsets): {cells}")


if __name__ == "__main__":
    main()
