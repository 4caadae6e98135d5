"""`embedded-reasoner`: the shipped adapter loads offline and reasons on each primed family."""

import pytest

from fastslow.strategies.cot import ChainOfThought
from fastslow.tasks.registry import load_task

# Held-out (test-split) questions of moderate size in each family the adapter was primed on.
FAMILIES = [
    ("last_letters", {"words": "2"}),
    ("coin_flip", {"flips": "2"}),
    ("arithmetic", {"steps": "1"}),
    ("distractor_arithmetic", {"steps": "1", "distractors": "1"}),
]


@pytest.fixture(scope="module")
def reasoner():
    from fastslow.models.registry import load_model

    return load_model("embedded-reasoner")


def test_reasoner_is_a_distinct_cached_model(reasoner):
    assert reasoner.name.startswith("embedded-reasoner#")
    assert reasoner.supports_prefill


@pytest.mark.slow
@pytest.mark.parametrize("family,knobs", FAMILIES)
def test_reasoner_answers_a_held_out_question_with_chain_of_thought(reasoner, family, knobs):
    task = load_task(family, limit=5, knobs=knobs)
    traces = [ChainOfThought().run(reasoner, ex, task) for ex in task.examples]
    right = [task.score(t.answer, ex) for t, ex in zip(traces, task.examples)]
    # The traces follow the primed format: steps, then the answer sentence.
    assert all("The answer is" in t.final_text for t in traces), [t.final_text for t in traces]
    assert sum(right) >= 4, [(ex.question, ex.answer, t.final_text) for t, ex in zip(traces, task.examples)]
