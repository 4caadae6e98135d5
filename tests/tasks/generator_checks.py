"""Checks every synthetic generator must pass; each generator's test module calls them."""

from types import ModuleType

from fastslow.tasks.answers import extract_answer, score_answer
from fastslow.tasks.base import Example


def check_cot_solutions_parse_back(module: ModuleType, **knobs) -> None:
    examples = module.make_examples(200, seed=3, **knobs)
    for example in examples:
        trace = module.cot_solution(example)
        assert trace.endswith(f"The answer is {example.answer}."), trace
        predicted = extract_answer(trace, module.KIND, example.choices)
        assert score_answer(predicted, example.answer, module.KIND, example.choices) == 1.0, trace


def check_cot_solution_without_meta(module: ModuleType, **knobs) -> None:
    """A question read from a file (no meta) gets the same trace: it is rebuilt from the text."""
    for example in module.make_examples(20, seed=4, **knobs):
        bare = Example(example.id, example.question, example.answer, choices=example.choices)
        assert module.cot_solution(bare) == module.cot_solution(example)


def check_splits_never_overlap(module: ModuleType, **knobs) -> None:
    train = {
        e.question for seed in range(3) for e in module.make_examples(400, seed=seed, split="train", **knobs)
    }
    test = {
        e.question for seed in range(3) for e in module.make_examples(150, seed=seed, split="test", **knobs)
    }
    assert len(train) > 800 and len(test) > 300
    assert not train & test


def check_deterministic(module: ModuleType, **knobs) -> None:
    a = module.make_examples(30, seed=7, **knobs)
    b = module.make_examples(30, seed=7, **knobs)
    assert [e.to_dict() for e in a] == [e.to_dict() for e in b]
    c = module.make_examples(30, seed=8, **knobs)
    assert [e.question for e in a] != [e.question for e in c]
    prefix = module.make_examples(10, seed=7, **knobs)
    assert [e.to_dict() for e in prefix] == [e.to_dict() for e in a[:10]]
    assert len({e.question for e in a}) == 30
