"""Word problems with irrelevant sentences: "Maria has 7 apples. Maria's brother is 12 years old. ..."

The test bed of System 2 Attention (Weston & Sukhbaatar, 2023, "System 2 Attention (is something you
might need too)"): a model that attends to everything in its context is misled by sentences that have
nothing to do with the question, and S2A first rewrites the context keeping only the relevant part,
then answers from it. The problems here are GSM8K-like (Cobbe et al., 2021) but small: a person starts
with some objects, then ``steps`` operations change how many they have:

- add: "Maria buys 5 more apples.", "Maria finds 5 more apples.", "Tom gives Maria 5 more apples.";
- subtract: "Maria gives 3 apples to Tom.", "Maria loses 3 apples.", "Maria sells 3 apples.";
- groups (multiply, then add): "Maria buys 3 bags with 4 apples in each.",
  "Tom gives Maria 3 boxes with 4 apples in each.".

Every operation after the first starts with "Then". ``distractors`` irrelevant sentences are inserted
at random places among them. Each one holds a number and mentions the same person or the same object
("Maria's brother is 12 years old.", "The shop has 40 apples on the shelf.") but does not change the
answer; its number is never one of the numbers the solution uses. The question ends "How many apples
does Maria have now?". Every count stays a positive integer below 1000 (at most 220).

``meta["relevant"]`` and ``meta["distractors"]`` hold the two kinds of sentences separately and
``meta["without_distractors"]`` the question with the distractors removed (the rewrite S2A should
produce). The person is named in every sentence (no pronouns), so a question read back from its text
(``parse_problem``) is split into relevant and irrelevant sentences exactly as it was made.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field

from fastslow.tasks.base import Example
from fastslow.tasks.splits import check_int_knob, id_prefix, make_rng, sample_in_split
from fastslow.tasks.wordlists import first_names, read_wordlist

NAME = "distractor_arithmetic"
KIND = "number"
DEFAULT_STEPS = 2
MAX_STEPS = 4
DEFAULT_DISTRACTORS = 1
MAX_DISTRACTORS = 3
START = (2, 20)  # how many objects the person starts with
ADD = (2, 20)  # how many are added
SUBTRACT_MAX = 20  # at most this many are taken away, always leaving at least one
GROUPS = (2, 5)  # "3 bags ..."
EACH = (2, 10)  # "... with 4 apples in each"
DISTRACTOR_NUMBERS = (3, 60)
CONTAINERS = ("bags", "boxes", "packs")
RELATIVES = ("brother", "sister", "cousin", "friend", "neighbour")
OPS = ("add", "subtract", "groups")

# template key -> (operation, sentence, the words the step-by-step solution uses for it)
# Placeholders: {p} the person, {q} a second person, {obj} the object, {n} the amount added or taken
# away, {k} groups of {m} in a container {box}.
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "buy": ("add", "{p} buys {n} more {obj}.", "{p} buys {n} more"),
    "find": ("add", "{p} finds {n} more {obj}.", "{p} finds {n} more"),
    "receive": ("add", "{q} gives {p} {n} more {obj}.", "{p} gets {n} from {q}"),
    "give": ("subtract", "{p} gives {n} {obj} to {q}.", "{p} gives {n} to {q}"),
    "lose": ("subtract", "{p} loses {n} {obj}.", "{p} loses {n}"),
    "sell": ("subtract", "{p} sells {n} {obj}.", "{p} sells {n}"),
    "buy_groups": ("groups", "{p} buys {k} {box} with {m} {obj} in each.", "{p} buys {k} {box} of {m}"),
    "receive_groups": (
        "groups",
        "{q} gives {p} {k} {box} with {m} {obj} in each.",
        "{p} gets {k} {box} of {m} from {q}",
    ),
}
START_SENTENCE = "{p} has {n} {obj}."
QUERY = "How many {obj} does {p} have now?"
THEN = "Then "
# Irrelevant sentences: a number and the same person ({p}) or object ({obj}); {r} is a third person.
DISTRACTORS = (
    "{p}'s {rel} is {n} years old.",
    "{p}'s {rel} once had {n} {obj}.",
    "{p} walks for {n} minutes to get to the shop.",
    "The shop has {n} {obj} on the shelf.",
    "{r} has {n} {obj} at home.",
    "{Obj} cost {n} cents each at the market.",
)
_QUERY = re.compile(r"How many (.+?) does (\S+) have now\?")
_SENTENCES = re.compile(r"(?<=[.?!])\s+")


def objects() -> tuple[str, ...]:
    """The plural objects problems are about (``data/objects.txt``)."""
    return read_wordlist("objects.txt")


@dataclass
class Operation:
    """One change to the count: ``before`` -> ``after`` by ``amount`` (``groups * each`` for groups)."""

    op: str
    template: str
    amount: int
    before: int
    after: int
    other: str | None = None  # the second person, for templates with {q}
    groups: int | None = None
    each: int | None = None
    container: str | None = None

    def sentence(self, person: str, obj: str) -> str:
        return TEMPLATES[self.template][1].format(**self._fields(person, obj))

    def solution_step(self, person: str, obj: str) -> str:
        """'Maria buys 5 more: 7 + 5 = 12.' or 'Maria buys 3 bags of 4: 3 * 4 = 12, and 7 + 12 = 19.'"""
        phrase = TEMPLATES[self.template][2].format(**self._fields(person, obj))
        if self.op == "add":
            return f"{phrase}: {self.before} + {self.amount} = {self.after}."
        if self.op == "subtract":
            return f"{phrase}: {self.before} - {self.amount} = {self.after}."
        return (
            f"{phrase}: {self.groups} * {self.each} = {self.amount}, "
            f"and {self.before} + {self.amount} = {self.after}."
        )

    def numbers(self) -> set[int]:
        """Every number the solution step writes."""
        found = {self.amount, self.before, self.after}
        return found | {x for x in (self.groups, self.each) if x is not None}

    def _fields(self, person: str, obj: str) -> dict[str, object]:
        return {
            "p": person,
            "q": self.other,
            "obj": obj,
            "n": self.amount,
            "k": self.groups,
            "m": self.each,
            "box": self.container,
        }


@dataclass
class Problem:
    """A word problem: the relevant sentences, the distractors and the order they appear in."""

    person: str
    obj: str
    start: int
    operations: list[Operation]
    sentences: list[str]  # the context, relevant and irrelevant, in order
    distractors: list[str] = field(default_factory=list)
    distractor_numbers: list[int] = field(default_factory=list)

    @property
    def answer(self) -> int:
        return self.operations[-1].after if self.operations else self.start

    @property
    def query(self) -> str:
        return QUERY.format(obj=self.obj, p=self.person)

    @property
    def relevant(self) -> list[str]:
        return [s for s in self.sentences if s not in self.distractors]

    @property
    def question(self) -> str:
        return " ".join([*self.sentences, self.query])

    @property
    def question_without_distractors(self) -> str:
        return " ".join([*self.relevant, self.query])

    def meta(self) -> dict[str, object]:
        return {
            "person": self.person,
            "object": self.obj,
            "start": self.start,
            "operations": [asdict(op) for op in self.operations],
            "relevant": self.relevant,
            "distractors": list(self.distractors),
            "distractor_numbers": list(self.distractor_numbers),
            "without_distractors": self.question_without_distractors,
        }


def relevant_sentences(person: str, obj: str, start: int, operations: list[Operation]) -> list[str]:
    """The start sentence and one sentence per operation, "Then ..." after the first."""
    sentences = [START_SENTENCE.format(p=person, n=start, obj=obj)]
    for i, op in enumerate(operations):
        sentences.append((THEN if i else "") + op.sentence(person, obj))
    return sentences


def _draw_operation(rng: random.Random, value: int, other: str) -> Operation:
    ops = [op for op in OPS if op != "subtract" or value >= 3]  # take away at least 2, leave at least 1
    op = rng.choice(ops)
    template = rng.choice([key for key, (kind, _, _) in TEMPLATES.items() if kind == op])
    uses_other = "{q}" in TEMPLATES[template][1]
    if op == "add":
        amount = rng.randint(*ADD)
        return Operation(op, template, amount, value, value + amount, other if uses_other else None)
    if op == "subtract":
        amount = rng.randint(2, min(SUBTRACT_MAX, value - 1))
        return Operation(op, template, amount, value, value - amount, other if uses_other else None)
    groups, each = rng.randint(*GROUPS), rng.randint(*EACH)
    container = rng.choice(CONTAINERS)
    amount = groups * each
    return Operation(
        op, template, amount, value, value + amount, other if uses_other else None, groups, each, container
    )


def draw_problem(
    rng: random.Random,
    steps: int,
    distractors: int,
    names: tuple[str, ...] | None = None,
    things: tuple[str, ...] | None = None,
) -> Problem:
    """A random problem of ``steps`` operations with ``distractors`` irrelevant sentences."""
    names = names or first_names()
    things = things or objects()
    person, other, third = rng.sample(names, 3)
    obj = rng.choice(things)
    start = rng.randint(*START)
    operations: list[Operation] = []
    value = start
    for _ in range(steps):
        operations.append(_draw_operation(rng, value, other))
        value = operations[-1].after
    sentences = relevant_sentences(person, obj, start, operations)

    used = {start}.union(*(op.numbers() for op in operations))
    pool = [x for x in range(DISTRACTOR_NUMBERS[0], DISTRACTOR_NUMBERS[1] + 1) if x not in used]
    numbers = rng.sample(pool, distractors)
    added: dict[str, int] = {}
    for template, number in zip(rng.sample(DISTRACTORS, distractors), numbers, strict=True):
        fields = {"p": person, "r": third, "rel": rng.choice(RELATIVES), "n": number}
        sentence = template.format(obj=obj, Obj=obj.capitalize(), **fields)
        sentences.insert(rng.randint(0, len(sentences)), sentence)
        added[sentence] = number
    in_order = [s for s in sentences if s in added]
    return Problem(person, obj, start, operations, sentences, in_order, [added[s] for s in in_order])


def _pattern(template: str, person: str, obj: str) -> re.Pattern[str]:
    """A regex that matches exactly the sentences ``template`` makes for this person and object."""
    groups = {
        "{p}": re.escape(person),
        "{obj}": re.escape(obj),
        "{q}": r"(?P<q>[A-Z][A-Za-z'\-]*)",
        "{n}": r"(?P<n>\d+)",
        "{k}": r"(?P<k>\d+)",
        "{m}": r"(?P<m>\d+)",
        "{box}": "(?P<box>" + "|".join(CONTAINERS) + ")",
    }
    parts = re.split(r"(\{\w+\})", template)
    return re.compile(f"(?:{THEN})?" + "".join(groups.get(part, re.escape(part)) for part in parts))


def _match_operation(
    sentence: str, patterns: dict[str, re.Pattern[str]]
) -> tuple[str | None, re.Match[str] | None]:
    for key, pattern in patterns.items():
        found = pattern.fullmatch(sentence)
        if found is not None:
            return key, found
    return None, None


def parse_problem(question: str) -> Problem:
    """The problem a question made by this module states, read back from its text.

    Sentences before "How many ... have now?" that match the start or an operation template (for
    the asked-about person and object) are relevant; every other one is a distractor. Anything after
    the question sentence is ignored.
    """
    sentences = _SENTENCES.split(question.strip())
    index = next((i for i, s in enumerate(sentences) if _QUERY.fullmatch(s)), None)
    if index is None:
        raise ValueError(f"not a distractor-arithmetic question: {question!r}")
    match = _QUERY.fullmatch(sentences[index])
    assert match is not None
    obj, person = match.group(1), match.group(2)
    context = sentences[:index]
    start_pattern = _pattern(START_SENTENCE, person, obj)
    patterns = {key: _pattern(sentence, person, obj) for key, (_, sentence, _) in TEMPLATES.items()}

    start: int | None = None
    operations: list[Operation] = []
    distractors: list[str] = []
    for sentence in context:
        if start is None:
            found = start_pattern.fullmatch(sentence)
            if found is not None:
                start = int(found.group("n"))
            else:
                distractors.append(sentence)
            continue
        key, found = _match_operation(sentence, patterns)
        if key is None or found is None:
            distractors.append(sentence)
            continue
        op = TEMPLATES[key][0]
        value = operations[-1].after if operations else start
        fields = found.groupdict()
        other = fields.get("q")
        if op == "groups":
            groups, each = int(fields["k"]), int(fields["m"])
            amount = groups * each
            operations.append(
                Operation(op, key, amount, value, value + amount, other, groups, each, fields["box"])
            )
        else:
            amount = int(fields["n"])
            after = value + amount if op == "add" else value - amount
            operations.append(Operation(op, key, amount, value, after, other))
    if start is None:
        raise ValueError(f"no starting count for {person}'s {obj} in: {question!r}")
    numbers = [int(x) for s in distractors for x in re.findall(r"\d+", s)]
    return Problem(person, obj, start, operations, context, distractors, numbers)


def problem_from_meta(meta: dict) -> Problem | None:
    """The problem recorded in an example's meta, or None if the meta does not hold one."""
    if not all(key in meta for key in ("person", "object", "start", "operations")):
        return None
    operations = [Operation(**op) for op in meta["operations"]]
    relevant = relevant_sentences(meta["person"], meta["object"], meta["start"], operations)
    return Problem(meta["person"], meta["object"], meta["start"], operations, relevant)


def make_examples(
    n: int,
    seed: int = 0,
    split: str = "test",
    steps: int = DEFAULT_STEPS,
    distractors: int = DEFAULT_DISTRACTORS,
) -> list[Example]:
    """``n`` distinct problems of ``split``, ``steps`` operations and ``distractors`` irrelevant
    sentences each, the same for the same seed.

    Ids look like ``distractor_arithmetic-steps2-d1-s0-17`` (``...-s0-train-17`` for the train split).
    """
    steps = check_int_knob(NAME, "steps", steps, 1, MAX_STEPS)
    distractors = check_int_knob(NAME, "distractors", distractors, 0, MAX_DISTRACTORS)
    tag = f"steps{steps}-d{distractors}"
    rng = make_rng(NAME, tag, seed)
    names, things = first_names(), objects()

    def draw() -> Example:
        problem = draw_problem(rng, steps, distractors, names, things)
        return Example(
            id="",
            question=problem.question,
            answer=str(problem.answer),
            meta={
                "task": NAME,
                "steps": steps,
                "num_distractors": distractors,
                **problem.meta(),
                "seed": seed,
            },
        )

    return sample_in_split(n, split, draw, id_prefix(NAME, tag, seed, split))


def solution_for(problem: Problem) -> str:
    """The step-by-step solution of a problem: only its relevant sentences, never a distractor."""
    steps = [f"{problem.person} starts with {problem.start} {problem.obj}."]
    steps += [op.solution_step(problem.person, problem.obj) for op in problem.operations]
    return " ".join([*steps, f"The answer is {problem.answer}."])


def cot_solution(example: Example) -> str:
    """The start, one line per operation, then "The answer is X."; the distractors are not mentioned.

    'Maria starts with 7 apples. Maria buys 5 more: 7 + 5 = 12. Maria gives 3 to Tom: 12 - 3 = 9.
    The answer is 9.'
    """
    problem = problem_from_meta(example.meta) or parse_problem(example.question)
    return solution_for(problem)
