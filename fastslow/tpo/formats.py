"""How TPO asks for a thought and finds the response: a thought prompt and its split.

- ``generic`` / ``specific``: the paper's two thought prompts (Wu et al. 2024, Figure 2; the
  ``thought`` strategy holds them word for word and ``split_thought`` splits them);
- ``answer`` (ours): the response is the last "The answer is ..." sentence, for a model that never
  writes the paper's markers (``embedded-reasoner``: see ``strategies/thought.py``);
- a FILE: a prompt of the user's with ``{query}`` where the question goes; ``--response-marker``
  names the text after which the response starts (its first occurrence, as the paper splits);
- ``--no-thought`` (the paper's baseline): the prompt ``direct`` sends, the whole output is the
  response and there is no thought.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastslow.errors import FastslowError
from fastslow.models.base import Message
from fastslow.strategies.base import user
from fastslow.strategies.direct import direct_messages
from fastslow.strategies.thought import VARIANTS, split_thought, thought_messages, user_query
from fastslow.tasks.base import Example, Task


@dataclass(frozen=True)
class ThoughtFormat:
    name: str  # a variant, "direct", or the file's path
    template: str | None = None  # a FILE's prompt
    marker: str | None = None  # a FILE's response marker

    def messages(self, example: Example, task: Task) -> list[Message]:
        if self.name == "direct":
            return direct_messages(example, task)
        if self.template is None:
            return thought_messages(example, task, self.name)
        return [user(self.template.replace("{query}", user_query(example, task)))]

    def split(self, text: str) -> tuple[str, str | None]:
        """(thought, response); the response is None when it cannot be found (a parse failure)."""
        if self.name == "direct":
            return "", (text.strip() or None)
        if self.template is None:
            return split_thought(text, self.name)
        assert self.marker is not None
        at = text.find(self.marker)
        if at < 0:
            return text.strip(), None
        return text[:at].strip(), (text[at + len(self.marker) :].strip() or None)


def thought_format(prompt: str, marker: str | None, no_thought: bool) -> ThoughtFormat:
    """The format a run's flags name (``--thought-prompt``, ``--response-marker``, ``--no-thought``)."""
    if no_thought:
        return ThoughtFormat("direct")
    if prompt in VARIANTS:
        if marker:
            raise FastslowError(f"--response-marker is for a thought prompt FILE; {prompt!r} has its own")
        return ThoughtFormat(prompt)
    path = Path(prompt)
    if not path.is_file():
        raise FastslowError(f"--thought-prompt {prompt!r}: neither one of {', '.join(VARIANTS)} nor a file")
    template = path.read_text(encoding="utf-8")
    if "{query}" not in template:
        raise FastslowError(f"{path}: a thought prompt file must say where the question goes with {{query}}")
    if not marker:
        raise FastslowError(f"{path}: give the text after which the response starts with --response-marker")
    return ThoughtFormat(str(path), template, marker)
