"""Branch-Solve-Merge as a pairwise judge (Saha et al. 2023, "Branch-Solve-Merge Improves Large
Language Model Evaluation and Generation", §3.2, Algorithm 1, prompts of Appendix Figures 4 and 5).

Why: one call that judges two long responses at once must weigh many aspects together, and weak
models then lean on position and length. BSM decomposes the judgement into a plan and parallel
sub-judgements: Saha et al. report higher agreement with human experts on MT-Bench and position bias
cut by up to 50% (LLaMA-2-70B-chat: 51.7% -> 17.3%). System 2 Distillation (Yu et al. 2024) uses BSM
as its LLM-judge teacher and keeps only the verdicts that survive swapping the two responses.

The program, on a question and two responses:

- **branch**: one call proposes an evaluation plan for the question alone (so the plan is not
  biased by the responses): up to ``criteria`` lines "Name: how to evaluate it" (the paper asks for
  up to five). Because the plan sees neither response, both orders share it: one call, not two.
- **solve**: for each criterion, one call scores both responses from 1 to 5 on that criterion
  alone ("Assistant A: x", "Assistant B: y", then a short explanation). The calls of every
  criterion and both orders are independent and are sent together.
- **merge**: per order, one call reads the criterion-wise evaluations (not the responses, as in the
  paper's merge(q, criteria, evaluations)) and ends "The answer is A", "... B" or "... tie".
  ``merge=sum`` is the paper's symbolic variant instead: the summed scores decide, and no merge call
  is made.

Everything runs in both orders (the responses swapped); the swapped verdict is mapped back to the
original labels. As in Algorithm 1, the answer is the verdict when both orders agree and **"tie"
when they disagree**; ``meta["orders_agree"]`` records which, and ``meta["verdict_original"]`` and
``meta["verdict_swapped"]`` the two verdicts (both in the original labels).

Where the pair comes from: an example with ``meta["responses"]`` (two responses; the question, or
``meta["instruction"]`` when given, is what they answer; see the ``judge_pairs`` task) is judged as
it is, and the answer is "A", "B" or "tie". On any other example, bsm first samples two
chain-of-thought candidates (one request, n=2, the ``cot`` prompt) and judges them: the answer is
the winner's extracted answer, the first candidate's on a tie (``meta["tie_fallback"]``). When both
candidates give the same answer there is nothing to judge and no judging call is made.

Malformed output never crashes the program; ``meta["parse_error"]`` says what was wrong: a plan with
no criterion falls back to the factors the paper's branch prompt names (accuracy, relevance,
helpfulness), a solve output without two scores counts for nothing in the sum, and a merge output
without a verdict falls back to the summed scores (a tie when those are missing or equal).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass

from fastslow.errors import FastslowError
from fastslow.models.base import Completion, Message, Request
from fastslow.strategies.base import Program, Step, Strategy, Trace, user
from fastslow.strategies.cot import sample_cots
from fastslow.strategies.prompts import ANSWER_MARKER, question_text
from fastslow.tasks.answers import normalize_answer
from fastslow.tasks.base import Example, Task

# Saha et al. 2023, Appendix Figure 4 (branch prompt for a turn-1 question); the number of criteria
# and the "Name: description" line format are ours, so the plan can be parsed.
BRANCH_PROMPT = (
    "We want to evaluate the quality of the responses provided by two AI assistants to the user question "
    "displayed below. Your task is to propose an evaluation plan that can be executed to compare the two "
    "responses. The evaluation plan should consist of a list of up to {k} that one should consider "
    "such as helpfulness, relevance, accuracy, etc. In each line, write an evaluation criterion as "
    '"Name: description", with a short description of how we should evaluate that criterion.\n\n'
    "User Question: {question}"
)
PLAN_CUE = "Evaluation Plan:"
# Saha et al. 2023, Appendix Figure 5 (solve prompt for a turn-1 question); the "Assistant A: <score>"
# lines and the request for a short explanation are ours (the paper's solve module also explains).
SOLVE_PROMPT = (
    "You are given a user question and responses provided by two AI assistants. Your task is to evaluate "
    "and score the quality of the responses based on a single evaluation criterion displayed below. Make "
    "sure to evaluate only based on the criterion specified and none other. In the first line, write "
    '"Assistant A: " and a score between 1 to 5 for Assistant A\'s response. In the second line, write '
    '"Assistant B: " and a score between 1 to 5 for Assistant B\'s response. Then briefly explain the '
    "scores.\n\n"
    "[User Question]\n{question}\n\n"
    "[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]\n\n"
    "[Evaluation Criterion]\n{criterion}\n[End of Evaluation Criterion]"
)
SOLVE_CUE = "Evaluation of {name}:"
# The merge module of §3.2 ("conditions on the individual scores and generates the final verdict with
# a model-decided aggregation strategy"); the paper's appendix shows no merge prompt, so this is ours.
MERGE_PROMPT = (
    "We evaluated the responses of two AI assistants, A and B, to the user question displayed below on "
    "several criteria, one at a time, with a score between 1 to 5 for each assistant. Read the "
    "evaluations and decide which response is better overall, weighing the criteria as the question "
    'requires. End your response with "{marker} A" if Assistant A\'s response is better, "{marker} B" '
    'if Assistant B\'s response is better, or "{marker} tie" if they are equally good.\n\n'
    "[User Question]\n{question}\n\n{evaluations}"
)
# The factors the paper's branch prompt names, used when the plan lists none.
FALLBACK_CRITERIA = (
    ("Accuracy", "Is the reasoning in the response correct, and is its final answer right?"),
    ("Relevance", "Does the response answer the question that was asked?"),
    ("Helpfulness", "Does the response help the user reach the answer clearly?"),
)
ORDERS = ("AB", "BA")  # the original order and the swapped one
SWAP = {"A": "B", "B": "A", "tie": "tie"}
MERGES = ("llm", "sum")

_BULLET = re.compile(r"^\s*(?:[-*\u2022]+|\(?\d{1,2}[.):]|\(?[a-zA-Z][.)])\s*")
_SEPARATOR = re.compile(r"\s*(?::|\s-\s|\s\u2013\s)\s*")
_SCORE = r"\W{0,3}(?:'s)?(?:\s*(?:response|answer|score))*\W{0,5}(\d+(?:\.\d+)?)"
_SCORE_A = re.compile(r"assistant\s+a\b" + _SCORE, re.IGNORECASE)
_SCORE_B = re.compile(r"assistant\s+b\b" + _SCORE, re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)")
_VERDICT_PHRASE = re.compile(r"\banswer\s+is\s*:?\s*([^\n.,;!?]*)", re.IGNORECASE)
_MT_BENCH = re.compile(r"\[\[([ABC])\]\]")  # the MT-Bench judge's "[[A]]" / "[[B]]" / "[[C]]" (tie)
_LETTER = re.compile(r"^(?:(?:assistant|response|option)\s*)?\(?([ab])\)?$", re.IGNORECASE)
_TIE_WORDS = ("tie", "a tie", "draw", "neither", "both", "equal", "c")
_NOT_CRITERIA = {"evaluation plan", "user question", "question", "plan", "criteria", "evaluation criteria"}


def parse_plan(text: str, limit: int) -> list[tuple[str, str]]:
    """The criteria of an evaluation plan as (name, description), at most ``limit``, without repeats.

    A line counts when it reads "Name: description" (or "Name - description"; numbering, bullets
    and markdown bold are ignored) with a name of at most five words, or when it is a numbered or
    bulleted short name on its own ("2. Clarity").
    """
    found: dict[str, tuple[str, str]] = {}
    for raw in text.splitlines():
        line = raw.replace("**", "").replace("__", "").strip()
        bulleted = bool(_BULLET.match(line))
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        parts = _SEPARATOR.split(line, maxsplit=1)
        name, description = (parts[0], parts[1]) if len(parts) == 2 else (line, "")
        name = name.strip(" .\"'`#")
        words = name.split()
        if not words or len(words) > 5 or not any(c.isalpha() for c in name) or name.lower() in _NOT_CRITERIA:
            continue
        if not description.strip() and not (bulleted and len(words) <= 3):
            continue
        found.setdefault(name.lower(), (name, description.strip()))
        if len(found) >= limit:
            break
    return list(found.values())


def parse_scores(text: str) -> tuple[float | None, float | None]:
    """The two scores of a solve output: "Assistant A: 4" / "Assistant B: 2" where labelled, else the
    first number of each of the first two non-empty lines (the paper's format). Scores outside
    0..10 are not scores."""

    def valid(x: str | None) -> float | None:
        if x is None:
            return None
        value = float(x)
        return value if 0 <= value <= 10 else None

    a, b = _SCORE_A.search(text), _SCORE_B.search(text)
    if a or b:  # labelled: a missing label is a missing score, not the next number in the text
        return valid(a.group(1) if a else None), valid(b.group(1) if b else None)
    lines = [line for line in text.splitlines() if line.strip()][:2]
    firsts = [m.group(1) if (m := _NUMBER.search(line)) else None for line in lines]
    firsts += [None] * (2 - len(firsts))
    return valid(firsts[0]), valid(firsts[1])


def parse_verdict(text: str) -> str | None:
    """ "A", "B" or "tie" from a merge output ("The answer is B", "[[A]]", "The answer is a tie"),
    or None when it names none."""
    candidates = [m.group(1) for m in _VERDICT_PHRASE.finditer(text)]
    mt_bench = _MT_BENCH.findall(text)
    if mt_bench:
        candidates.append(mt_bench[-1])
    for candidate in reversed(candidates):
        cleaned = candidate.replace("**", "").strip(" \"'`*[]():").lower()
        if cleaned in _TIE_WORDS or cleaned.startswith("a tie") or cleaned.startswith("tie"):
            return "tie"
        letter = _LETTER.match(cleaned)
        if letter:
            return letter.group(1).upper()
    return None


def sum_verdict(scores: list[tuple[float | None, float | None]]) -> str | None:
    """The symbolic merge of Algorithm 1: the larger total score wins; None when no pair was scored."""
    pairs = [(a, b) for a, b in scores if a is not None and b is not None]
    if not pairs:
        return None
    total_a, total_b = sum(a for a, _ in pairs), sum(b for _, b in pairs)
    return "A" if total_a > total_b else "B" if total_b > total_a else "tie"


def _described(name: str, description: str) -> str:
    return f"{name}: {description}" if description else name


@dataclass
class BranchSolveMerge(Strategy):
    name = "bsm"
    summary = (
        "branch-solve-merge judge: plan criteria, score both responses per criterion, merge, in both orders"
    )
    cost = (
        "3 + 2*criteria on a given pair (1 + 2*criteria with merge=sum); elsewhere 2 (the candidates) "
        "+ that, or 2 alone when the candidates agree; criteria = the size of the parsed plan, at most the parameter"
    )
    citation = (
        "Saha et al. 2023, 'Branch-Solve-Merge Improves Large Language Model Evaluation and Generation'"
    )

    criteria: int = 3
    merge: str = "llm"  # or "sum": the paper's symbolic merge, summed scores, no merge call
    max_tokens: int = 256  # each candidate's reasoning and each solve call
    branch_tokens: int = 160
    merge_tokens: int = 128
    temperature: float = 0.7  # the two candidates (the judge itself decodes greedily, as in the paper)
    top_p: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.criteria < 1:
            raise FastslowError(f"bsm: criteria must be at least 1, got {self.criteria}")
        if self.merge not in MERGES:
            raise FastslowError(f"bsm: merge must be one of {', '.join(MERGES)}, got {self.merge!r}")

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        pair = example.meta.get("responses")
        if pair is not None:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise FastslowError(
                    f'bsm: example {example.id}: meta["responses"] must hold two responses, got {pair!r}'
                )
            instruction = str(example.meta.get("instruction") or question_text(example))
            verdict, steps, meta = yield from self.judge(instruction, [str(r) for r in pair], prefill)
            meta["pair"] = "given"
            text = f"{ANSWER_MARKER} {verdict}."
            return Trace(answer=verdict, final_text=text, steps=steps, meta=meta)

        samples = yield from sample_cots(
            example,
            task,
            prefill,
            n=2,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
        )
        candidates, answers, first = samples.responses, samples.answers, [samples.step()]
        keys = [None if a is None else normalize_answer(a, task.kind, example.choices) for a in answers]
        if keys[0] == keys[1]:
            meta = {"pair": "candidates", "answers": answers, "judged": False, "candidates_agree": True}
            return Trace(answer=answers[0], final_text=candidates[0], steps=first, meta=meta)

        verdict, steps, meta = yield from self.judge(question_text(example), candidates, prefill)
        chosen = {"A": 0, "B": 1}.get(verdict, 0)
        if verdict == "tie":
            meta["tie_fallback"] = (
                "no winner (a tie, or the two orders disagreed): the first candidate's answer"
            )
        meta.update(pair="candidates", answers=answers, judged=True, candidates_agree=False, chosen=chosen)
        return Trace(answer=answers[chosen], final_text=candidates[chosen], steps=first + steps, meta=meta)

    def judge(
        self, question: str, responses: list[str], prefill: bool
    ) -> Generator[list[Request], list[Completion], tuple[str, list[Step], dict]]:
        """The BSM program on two responses: yields its requests, returns (verdict, steps, meta)."""
        problems: list[str] = []
        responses = [r.strip() for r in responses]

        # Branch: the plan, from the question alone.
        factors = f"{self.criteria} factor" + ("s" if self.criteria != 1 else "")
        branch_msgs = [user(BRANCH_PROMPT.format(k=factors, question=question))]
        branch_start = f"{PLAN_CUE}\n1." if prefill else ""
        if not prefill:
            branch_msgs = [user(f"{branch_msgs[0]['content']}\n\n{PLAN_CUE}")]
        [b] = yield [Request(branch_msgs, max_tokens=self.branch_tokens, prefill=branch_start)]
        plan = parse_plan(branch_start + b.texts[0], self.criteria)
        if not plan:
            plan = list(FALLBACK_CRITERIA[: self.criteria])
            shown = b.texts[0].strip()[:80] or "(empty)"
            problems.append(f"the plan lists no criterion ({shown!r}): used {', '.join(n for n, _ in plan)}")
        steps = [Step("branch", branch_msgs, [b.texts[0]], prefill=branch_start)]

        # Solve: every criterion in both orders, all at once.
        shown_as = {"AB": responses, "BA": responses[::-1]}
        solve: list[tuple[str, str, str, list[Message], str]] = []  # order, name, criterion, msgs, start
        for order in ORDERS:
            a, b_text = shown_as[order]
            for name, description in plan:
                criterion = _described(name, description)
                content = SOLVE_PROMPT.format(question=question, a=a, b=b_text, criterion=criterion)
                cue = SOLVE_CUE.format(name=name)
                msgs = [user(content if prefill else f"{content}\n\n{cue}")]
                solve.append((order, name, criterion, msgs, cue if prefill else ""))
        outs = yield [Request(m, max_tokens=self.max_tokens, prefill=s) for _, _, _, m, s in solve]
        scores: dict[str, list[tuple[float | None, float | None]]] = {o: [] for o in ORDERS}
        evaluations: dict[str, list[str]] = {o: [] for o in ORDERS}
        for (order, name, criterion, msgs, start), out in zip(solve, outs):
            text = out.texts[0]
            pair = parse_scores(text)
            if None in pair:
                problems.append(f"solve {order} {name}: no two scores in {text.strip()[:60] or '(empty)'!r}")
            scores[order].append(pair)
            evaluations[order].append(f"[Criterion: {criterion}]\n{text.strip()}")
            steps.append(Step(f"solve_{order}", msgs, [text], prefill=start))

        # Merge: per order, by the model (or by the summed scores with merge=sum).
        verdicts: dict[str, str] = {}
        if self.merge == "llm":
            merge_msgs = {
                order: [
                    user(
                        MERGE_PROMPT.format(
                            marker=ANSWER_MARKER,
                            question=question,
                            evaluations="\n\n".join(evaluations[order]),
                        )
                    )
                ]
                for order in ORDERS
            }
            outs = yield [Request(merge_msgs[o], max_tokens=self.merge_tokens) for o in ORDERS]
            for order, out in zip(ORDERS, outs):
                text = out.texts[0]
                steps.append(Step(f"merge_{order}", merge_msgs[order], [text]))
                verdict = parse_verdict(text)
                if verdict is None:
                    verdict = sum_verdict(scores[order]) or "tie"
                    shown = text.strip()[-60:] or "(empty)"
                    problems.append(
                        f"merge {order} names no verdict ({shown!r}): the summed scores gave {verdict}"
                    )
                verdicts[order] = verdict
        else:
            for order in ORDERS:
                verdict = sum_verdict(scores[order])
                if verdict is None:
                    verdict = "tie"
                    problems.append(f"merge {order}: no criterion was scored, so a tie")
                verdicts[order] = verdict

        original, swapped = verdicts["AB"], SWAP[verdicts["BA"]]
        agree = original == swapped
        meta: dict = {
            "criteria": [{"name": n, "description": d} for n, d in plan],
            "scores": {o: [list(p) for p in scores[o]] for o in ORDERS},
            "verdict_original": original,
            "verdict_swapped": swapped,
            "orders_agree": agree,
            "verdict": original if agree else "tie",
        }
        if problems:
            meta["parse_error"] = "; ".join(problems)
        return meta["verdict"], steps, meta
