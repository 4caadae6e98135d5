"""The word lists shipped with the package (``fastslow/tasks/data/*.txt``) for the synthetic tasks.

One entry a line; blank lines and lines starting with '#' are skipped. Loaded through
``importlib.resources`` so they work from an installed wheel as well as from a checkout.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_wordlist(file_name: str) -> tuple[str, ...]:
    """The entries of ``fastslow/tasks/data/<file_name>``, in file order."""
    text = (resources.files("fastslow.tasks") / "data" / file_name).read_text(encoding="utf-8")
    entries = (line.strip() for line in text.splitlines())
    return tuple(e for e in entries if e and not e.startswith("#"))


def first_names() -> tuple[str, ...]:
    """About 160 common English first names, capitalised ("Alice")."""
    return read_wordlist("names.txt")


def common_nouns() -> tuple[str, ...]:
    """About 160 common English nouns, lowercase ("apple")."""
    return read_wordlist("words.txt")
