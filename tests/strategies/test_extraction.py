"""The shared answer-extraction step (Kojima et al. 2022's second call)."""

import pytest

from fastslow.strategies.cot import ChainOfThought
from fastslow.strategies.extraction import reply_line
from fastslow.tasks.base import Example, Task
from tests.fakes import ScriptedModel

COIN = Example(
    id="c",
    question="A coin is heads up. Ann flips it. Is it still heads up?",
    answer="no",
    choices=["yes", "no"],
    meta={"choices_shown": True},
)


@pytest.mark.parametrize(
    "reply,line",
    [
        (" no.", "no."),
        (":\n no", "no"),
        (":\n\nThe coin is tails, so no.", "The coin is tails, so no."),
        (":", ""),
    ],
)
def test_reply_line_is_the_first_line_with_content(reply, line):
    assert reply_line(reply) == line


def test_an_extraction_reply_that_opens_with_a_colon_line_is_read_on_the_next_line():
    """Plain embedded answers the trigger with ':' and a newline (19 of 30 refine coin flips were
    left unanswered when the call stopped at the first newline)."""
    task = Task(name="coin", examples=[COIN], kind="choice")
    model = ScriptedModel([" Ann flips it, so it is tails up now.", ":\n no"])
    trace = ChainOfThought().run(model, COIN, task)
    extract = model.requests[1]
    assert extract.prefill.endswith("Therefore, the answer (yes or no) is") and extract.stop == ()
    assert trace.answer == "no" and trace.calls == 2
    assert trace.final_text.endswith("Therefore, the answer (yes or no) is:\n no")  # as written
