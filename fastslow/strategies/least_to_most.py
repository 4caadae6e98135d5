"""Least-to-most prompting (Zhou et al. 2022, "Least-to-Most Prompting Enables Complex Reasoning in
Large Language Models", ICLR 2023): first reduce a problem to simpler subquestions, then solve them
in order, each answer in the context of the next, the original question last.

Why: chain-of-thought exemplars teach a model to solve problems as hard as the exemplars; it fails
on harder ones (longer lists, more steps). Least-to-most splits the hard problem into a chain of
easy ones, and each step only extends the previous answer, so it generalises from easy to hard:
last-letter concatenation of 12 words, 74.0% against 33.6% for chain-of-thought (§3.1, Table 3 of
the ICLR version).

Stage 1 (decompose, §2 "Decomposition"): one call, few-shot. Each exemplar shows a problem and the
list of simpler questions to answer first, as the paper's math reduction prompts do (Appendix D,
'To answer the question "...", we need to know: "...", "..."'); ours is a numbered list, one
question a line, which a small model keeps to better. The list is parsed defensively (numbered
lines, bullets, the paper's quoted items, lines ending in "?"), capped so that at most
``max_subquestions`` questions are solved, and the original question is solved last (appended
unless the list already ends with it).

Stage 2 (solve, §2 "Subproblem solving"): one call per question, in order. The exemplars' solved
chains come first, then the problem with every question solved so far and its answer as earlier
turns of the conversation, then the next question: "the exemplars [...], followed by the previous
sublist/response pairs (if any), followed by S" (§3.1 of the arXiv preprint 2205.10625). Every
answer ends "The answer is X", as in the paper's GSM8K solutions (Appendix D: "... The answer is
12."); the final answer is extracted from the last one. As there, the last question is the
problem's own question sentence ("How many shells does Elsa have now?") when the problem has one,
else the whole problem.

Shipped exemplars (``exemplars/<task name>.jsonl``, found by file name): ``last_letters`` follows §3.1
(Table 1 of the ICLR version; the sublists "think machine", then "think machine learning", each
solved from the previous output: '"think machine" outputs "ke". The last letter of "learning" is
"g". Concatenating "ke", "g" leads to "keg".'); ``arithmetic`` uses the intermediate operations
as subquestions; ``coin_flip`` the growing prefixes of the flips, as last letters grow their lists;
``distractor_arithmetic`` and ``sycophancy`` use (the same) word problems in the style of Appendix D. A new task gets exemplars by adding its file. Any other task gets a zero-shot decomposition instruction, and the trace says so.

``exemplars=FILE`` overrides them: a JSONL file, one worked problem a line::

    {"question": "What is (4 + 9) * 2?", "subquestions": ["What is 4 + 9?"],
     "solutions": ["4 + 9 = 13. The answer is 13.", "We know that 4 + 9 = 13. So ... The answer is 26."]}

``subquestions`` (at least one) are the simpler questions in the order they are solved, without the
original question; ``solutions`` holds one answer per subquestion and then one for the question
itself, each containing "The answer is". ``shots`` bounds how many problems are used.

Dynamic mode (``dynamic=true``), our variant, not in the paper: no plan is made up front. After each
solved subquestion the model proposes the next one from what has been found so far, or replies
"DONE"; at most ``max_steps`` subquestions are solved; a final call then answers the original
question with all of them in context. The decomposition adapts to the answers found. Its exemplars
are built from the same files: for each problem, the first subquestion proposed when nothing is
solved yet, and "DONE" once all its subquestions are solved.

Cost: static, 1 + n calls where n <= ``max_subquestions`` questions are solved (the original one
included); dynamic, p proposals + s solved + 1 final answer, which is 2k with "DONE" at the k-th
proposal and 2*max_steps + 1 when the model never says it.

Trace: steps "decompose" (or "propose" before each "solve" in dynamic mode), "solve" per subquestion
and "answer" for the original question. ``meta``: ``mode``, ``exemplars`` (their source, or that the
decomposition was zero-shot), ``subquestions`` (as solved, the original last), ``sub_answers``,
``decomposition_format`` (numbered, bullets, quoted, questions or None), ``parse_error`` (no usable
list or proposal), ``listed_original``, ``dropped_subquestions``, ``unmarked`` (indices of solutions
without "The answer is"), and in dynamic mode ``stop`` (why proposing ended) and ``proposals``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.jsonlines import read_objects
from fastslow.models.base import Completion, Message, Request, truncate_at_stop
from fastslow.strategies.base import Program, Step, Strategy, Trace, assistant, user
from fastslow.strategies.extraction import finish
from fastslow.strategies.prompts import ANSWER_MARKER, answer_form, names_answer, question_text
from fastslow.tasks.answers import extract_answer
from fastslow.tasks.base import Example, Task

EXEMPLAR_DIR = Path(__file__).parent / "exemplars"  # exemplars/<task name>.jsonl, found by name


def shipped_exemplars(task_name: str) -> Path | None:
    """The shipped exemplar file of a task: ``exemplars/<task name>.jsonl``, if there is one."""
    path = EXEMPLAR_DIR / f"{task_name}.jsonl"
    return path if path.is_file() else None


DECOMPOSE_INSTRUCTION = (
    "Do not solve the problem yet. List the simpler questions that must be answered before it, "
    "from the simplest to the hardest, as a numbered list with one question a line. Do not answer them."
)
DECOMPOSE_LEAD = "To answer this question, we need to know:"  # Zhou et al., Appendix D, in our words
SOLVE_INSTRUCTION = (
    "Answer the questions below one at a time; each answer may use the answers before it. "
    f'End every answer with "{ANSWER_MARKER}" and its result.'
)
DONE = "DONE"
PROPOSE_INSTRUCTION = (
    "What is the next simpler question to answer on the way to solving this problem? Reply with that "
    f"one question only. If the answers so far are enough to solve the problem, reply {DONE}."
)
SOLVE_STOP = ("\nQ:",)  # a solution ends where the model starts asking the next question itself

_NUMBERED = re.compile(
    r"^\s*(?:\(?\d{1,2}[.):]|(?:Q|Question|Sub-?question|Step)\s*\d{1,2}\s*[.):-])\s*(.*)$", re.IGNORECASE
)
_BULLET = re.compile(r"^\s*[-*\u2022]\s+(.*)$")
_QUOTED = re.compile(r'"([^"\n]+)"|\u201c([^\u201d\n]+)\u201d')
_ASKED = re.compile(r"[^.?!\n]*\?")
_PREFIX = re.compile(
    r"^(?:\(?\d{1,2}[.):]\s*|[-*\u2022]\s+|(?:the\s+)?(?:next\s+(?:simpler\s+)?)?"
    r"(?:Q|Question|Sub-?question)\s*\d*\s*(?:is\s*)?[:.)-]\s*)",
    re.IGNORECASE,
)
_EDGES = " \t\"'`*_\u201c\u201d\u2018\u2019"
_DONE_RE = re.compile(rf"^\W*{DONE}\b", re.IGNORECASE)

SubProgram = Generator[list[Request], list[Completion], None]  # a stage of a program, run with ``yield from``


@dataclass(frozen=True)
class Exemplar:
    """A worked problem: the simpler questions, then one solution per question and one for the problem."""

    question: str
    subquestions: tuple[str, ...]
    solutions: tuple[str, ...]


def load_l2m_exemplars(path: str | Path, shots: int | None = None) -> list[Exemplar]:
    """Least-to-most exemplars from a JSONL file (format in the module docstring); errors name file and line."""
    out: list[Exemplar] = []
    expected = '{"question": ..., "subquestions": [...], "solutions": [...]}'
    for lineno, row in read_objects(path, "exemplar file", expected):
        where = f"line {lineno} of {path}"
        question, subs, sols = row.get("question"), row.get("subquestions"), row.get("solutions")
        if not isinstance(question, str) or not question.strip():
            raise FastslowError(f'{where}: missing "question" (a string)')
        if not _strings(subs) or not subs:
            raise FastslowError(f'{where}: "subquestions" must be a non-empty list of strings')
        if not _strings(sols) or len(sols) != len(subs) + 1:
            raise FastslowError(
                f'{where}: "solutions" must be a list of {len(subs) + 1} strings, one per subquestion '
                "and one for the question itself"
            )
        for i, sol in enumerate(sols, start=1):
            if not names_answer(sol):
                raise FastslowError(f'{where}: solution {i} does not say "{ANSWER_MARKER} X"')
        out.append(Exemplar(question.strip(), tuple(s.strip() for s in subs), tuple(s.strip() for s in sols)))
        if shots is not None and len(out) >= shots:
            break
    if not out:
        raise FastslowError(f"exemplar file {path} is empty")
    return out


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def final_question(question: str) -> str:
    """The question the problem asks: its last sentence ending in "?" when it has several sentences
    (Zhou et al., Appendix D, ask "How many apples do they have together?" last), else all of it."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", question.strip()) if s]
    asked = [s for s in sentences if s.endswith("?")]
    return asked[-1] if asked and len(sentences) > 1 else question.strip()


def _norm(text: str) -> str:
    return "".join(text.split()).lower().strip(_EDGES + ".,:;!?")


def clean_item(text: str) -> str:
    """One subquestion without its list marker, "Q:" label, quotes or markdown."""
    item = text.strip(_EDGES)
    for _ in range(2):  # "1. **Q: ...**" has two prefixes inside markdown
        item = _PREFIX.sub("", item, count=1).strip(_EDGES)
    return item


def parse_subquestions(text: str) -> tuple[list[str], str | None]:
    """The subquestions in a decomposition and the form they were found in (None: no list found).

    Tried in order: numbered lines ("1. ...", "Q1: ..."), bullet lines, the paper's quoted items
    ('we need to know: "...", "..."'), then any sentences ending in "?". Answers that slipped into the
    list (items saying "the answer is") and repeats are dropped.
    """
    lines = text.splitlines()
    found: list[str] = []
    form: str | None = None
    for name, pattern in (("numbered", _NUMBERED), ("bullets", _BULLET)):
        found = [m.group(1) for line in lines if (m := pattern.match(line))]
        if found:
            form = name
            break
    if not found:
        tail = re.split(r"need to know\s*:?", text, flags=re.IGNORECASE)[-1]
        found = [a or b for a, b in _QUOTED.findall(tail)]
        found = [q for q in found if q.strip().endswith("?") or len(q.split()) >= 3]
        form = "quoted" if found else None
    if not found:
        found = [q for q in _ASKED.findall(text) if len(q.split()) >= 2]
        form = "questions" if found else None
    items: list[str] = []
    seen: set[str] = set()
    for raw in found:
        item = clean_item(raw)
        key = _norm(item)
        if not key or key in seen or names_answer(item):
            continue
        seen.add(key)
        items.append(item)
    return items, (form if items else None)


def parse_proposal(text: str) -> tuple[str | None, str]:
    """A dynamic-mode proposal: (the next subquestion, "question"), (None, "done") or (None, "empty")."""
    for line in text.splitlines():
        if _DONE_RE.match(line):
            return None, "done"
        item = clean_item(line)
        if item:
            return (None, "done") if _DONE_RE.match(item) else (item, "question")
    return None, "empty"


def render_decomposition(subquestions: tuple[str, ...] | list[str]) -> str:
    return "\n".join([DECOMPOSE_LEAD, *(f"{i}. {q}" for i, q in enumerate(subquestions, start=1))])


def solve_opening(problem: str, form: str) -> str:
    """The first user turn of a solving conversation, before its first "Q: ..."."""
    return f"{problem}\n\n{' '.join(s for s in [form, SOLVE_INSTRUCTION] if s)}"


def solve_turns(opening: str, questions: list[str], answers: list[str]) -> list[Message]:
    """The solving conversation: the problem and the first question, then each answer and the next
    question; one more question than answers, so it ends with the question to answer now."""
    turns = [user(f"{opening}\n\nQ: {questions[0]}")]
    for answer, question in zip(answers, questions[1:]):
        turns += [assistant(answer), user(f"Q: {question}")]
    return turns


def propose_prompt(problem: str, questions: list[str], answers: list[str]) -> str:
    if questions:
        solved = "\n".join(f"Q: {q}\nA: {a}" for q, a in zip(questions, answers))
        solved = f"Questions answered so far:\n{solved}"
    else:
        solved = "Questions answered so far: none."
    return f"{problem}\n\n{solved}\n\n{PROPOSE_INSTRUCTION}"


def _task_exemplars(task: Task, path: str, shots: int) -> tuple[list[Exemplar], str]:
    """The exemplars for this task and a note on where they came from (for the trace)."""
    if path:
        return load_l2m_exemplars(path, shots or None), f"file: {path}"
    shipped = shipped_exemplars(task.name)
    if shipped is not None:
        return load_l2m_exemplars(shipped, shots or None), f"shipped: {shipped.name}"
    return (
        [],
        f"none: zero-shot decomposition (no shipped exemplars for task {task.name!r}; give exemplars=FILE)",
    )


@dataclass
class LeastToMost(Strategy):
    name = "l2m"
    summary = (
        "least-to-most: list simpler subquestions, then solve them in order, each answer feeding the next"
    )
    cost = (
        "static: 1 + n, n <= max_subquestions questions solved (the original included); "
        "dynamic: proposals + solved + 1 <= 2*max_steps + 1; "
        "+1 when the final solution names no answer and answer_call is on"
    )
    citation = (
        "Zhou et al. 2022, 'Least-to-Most Prompting Enables Complex Reasoning in Large Language Models' "
        "(ICLR 2023)"
    )

    dynamic: bool = False
    max_subquestions: int = 6  # static: most questions solved, the original one included
    max_steps: int = 6  # dynamic: most subquestions proposed and solved before the final answer
    max_tokens: int = 256  # each solution
    decompose_tokens: int = 128
    propose_tokens: int = 48
    exemplars: str = ""
    shots: int = 0  # 0: every exemplar in the file
    answer_call: bool = True  # a final solution that names no answer gets the extraction call

    def __post_init__(self) -> None:
        for key, low in (
            ("max_subquestions", 1),
            ("max_steps", 0),
            ("max_tokens", 1),
            ("decompose_tokens", 1),
            ("propose_tokens", 1),
            ("shots", 0),
        ):
            if getattr(self, key) < low:
                raise FastslowError(f"l2m: {key} must be at least {low}, got {getattr(self, key)}")

    def program(self, example: Example, task: Task, prefill: bool) -> Program:
        shots, source = _task_exemplars(task, self.exemplars, self.shots)
        opening = solve_opening(question_text(example), answer_form(task, example))
        solve_context: list[Message] = []
        for ex in shots:
            form = answer_form(task, Example(id="exemplar", question=ex.question))
            questions = [*ex.subquestions, final_question(ex.question)]
            solve_context += solve_turns(solve_opening(ex.question, form), questions, list(ex.solutions[:-1]))
            solve_context.append(assistant(ex.solutions[-1]))
        meta: dict = {"mode": "dynamic" if self.dynamic else "static", "exemplars": source}
        steps: list[Step] = []
        asked: list[str] = []
        answers: list[str] = []
        solve_messages: list[list[Message]] = []

        def solve(question: str, name: str) -> SubProgram:
            """Ask the next question in the solving conversation; its answer joins the context."""
            messages = [*solve_context, *solve_turns(opening, [*asked, question], answers)]
            solve_messages.append(messages)
            req = Request(messages, max_tokens=self.max_tokens, stop=SOLVE_STOP)
            [c] = yield [req]
            text = truncate_at_stop(c.texts[0], SOLVE_STOP)[0].strip()
            steps.append(Step(name, messages, [c.texts[0]]))
            asked.append(question)
            answers.append(text)

        if self.dynamic:
            yield from self._propose_and_solve(example, shots, solve, steps, asked, answers, meta)
        else:
            yield from self._decompose(example, prefill, shots, steps, meta)
            for question in meta["subquestions"][:-1]:
                yield from solve(question, "solve")
        original = final_question(example.question)
        yield from solve(original, "answer")

        meta["subquestions"] = list(asked)
        meta["sub_answers"] = [extract_answer(a, "text") for a in answers]
        unmarked = [i for i, a in enumerate(answers) if not names_answer(a)]
        if unmarked:
            meta["unmarked"] = unmarked  # solutions that name no answer ("The answer is X")
        # The original question's solution names no answer: the extraction call, as cot makes it.
        done = yield from finish(solve_messages[-1], answers[-1], example, task, prefill, self.answer_call)
        return Trace(answer=done.answer, final_text=done.final, steps=steps + done.steps, meta=meta)

    def _decompose(
        self, example: Example, prefill: bool, shots: list[Exemplar], steps: list[Step], meta: dict
    ) -> SubProgram:
        """Stage 1: one call for the list of subquestions; sets meta["subquestions"] (the original last)."""
        messages: list[Message] = []
        for ex in shots:
            messages += [
                user(f"{ex.question}\n\n{DECOMPOSE_INSTRUCTION}"),
                assistant(render_decomposition(ex.subquestions)),
            ]
        content = f"{question_text(example)}\n\n{DECOMPOSE_INSTRUCTION}"
        if not prefill:
            content += f"\n\n{DECOMPOSE_LEAD}"
        messages.append(user(content))
        start = DECOMPOSE_LEAD if prefill else ""
        [c] = yield [Request(messages, max_tokens=self.decompose_tokens, prefill=start)]
        text = c.texts[0]
        steps.append(Step("decompose", messages, [text], prefill=start))
        items, form = parse_subquestions(text)  # the prefilled lead holds no subquestion
        meta["decomposition_format"] = form
        if not items:
            what = "the decomposition is empty" if not text.strip() else "no list of subquestions found"
            meta["parse_error"] = f"{what}; solving the question directly"
        original = final_question(example.question)
        if items and _norm(items[-1]) in {_norm(original), _norm(example.question)}:
            items.pop()
            meta["listed_original"] = True
        keep = self.max_subquestions - 1
        if len(items) > keep:
            meta["dropped_subquestions"] = len(items) - keep
            items = items[:keep]
        meta["subquestions"] = [*items, original]

    def _propose_and_solve(
        self,
        example: Example,
        shots: list[Exemplar],
        solve: Callable[[str, str], SubProgram],
        steps: list[Step],
        asked: list[str],
        answers: list[str],
        meta: dict,
    ) -> SubProgram:
        """Dynamic mode: propose the next subquestion from what is solved, solve it; until DONE or max_steps."""
        problem = question_text(example)
        few_shot: list[Message] = []
        for ex in shots:
            few_shot += [user(propose_prompt(ex.question, [], [])), assistant(ex.subquestions[0])]
            subs = list(ex.subquestions)
            few_shot += [user(propose_prompt(ex.question, subs, list(ex.solutions[:-1]))), assistant(DONE)]
        original = _norm(final_question(example.question))
        proposals: list[str] = []
        meta["stop"] = "max_steps"
        for _ in range(self.max_steps):
            messages = [*few_shot, user(propose_prompt(problem, asked, answers))]
            [c] = yield [Request(messages, max_tokens=self.propose_tokens)]
            text = c.texts[0]
            steps.append(Step("propose", messages, [text]))
            proposals.append(text)
            question, status = parse_proposal(text)
            if question is None:
                meta["stop"] = status
                if status == "empty":
                    meta["parse_error"] = f"proposal {len(proposals)} names no question and no {DONE}"
                break
            if _norm(question) in {original, _norm(example.question)}:
                meta["stop"] = "proposed the original question"
                break
            if _norm(question) in {_norm(q) for q in asked}:
                meta["stop"] = "repeated a solved question"
                break
            yield from solve(question, "solve")
        meta["proposals"] = proposals
