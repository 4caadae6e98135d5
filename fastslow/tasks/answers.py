"""Answer extraction, normalisation and scoring for the three answer kinds.

A model's free text is turned into one candidate answer by ``extract_answer`` and compared with the
reference by ``score_answer``. The extraction order follows common practice in the papers we build on:

1. the last ``\\boxed{X}`` (the MATH convention; Hendrycks et al., 2021);
2. the last "the answer is X" / "answer is: X" / "Answer: X" (the trigger that chain-of-thought
   exemplars end with; Wei et al., 2022, and Kojima et al., 2022, §3 "answer extraction");
3. a fallback per kind: the last number (Kojima et al., 2022, Table 9 cleansing for arithmetic),
   a short answer or the last word for text, and a letter or an option's text for choices.

Kinds: ``"number"`` (integers, decimals, fractions), ``"text"`` (a word or short string) and
``"choice"`` (one of ``example.choices``; a letter A, B, ... names the option at that position).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

KINDS = ("number", "text", "choice")

# The answer marker: every strategy asks for this sentence at the end of a final answer, and
# ANSWER_PATTERN is how every extractor and strategy finds it ("The answer is X", "answer is: X",
# "Answer: X"). The one place both live.
ANSWER_MARKER = "The answer is"
ANSWER_PATTERN = re.compile(r"\banswer\s*(?:is\s*:?|:)", re.IGNORECASE)
_ANSWER_PHRASE = ANSWER_PATTERN


def names_answer(text: str) -> bool:
    """Whether ``text`` says its answer with the marker (else a strategy may ask for it)."""
    return ANSWER_PATTERN.search(text) is not None


_SENTENCE_END = re.compile(r"\n|[.!?](?=\s|$)")
_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?(?![\d/])")
_WORD_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")
_FRAC = re.compile(r"\\[dt]?frac\{\s*(-?\d+)\s*\}\{\s*(-?\d+)\s*\}")
_TEXT_MACRO = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_QUOTES = "\"'`\u201c\u201d\u2018\u2019"
_EDGE_PUNCT = _QUOTES + " \t\r\n.,;:!?*_"
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70})
_NUMBER_WORDS.update({"eighty": 80, "ninety": 90, "hundred": 100})
# The short answers the text fallback keeps whole ("heads up", "New York City").
_SHORT_TEXT_WORDS = 4


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown answer kind {kind!r}; expected one of {', '.join(KINDS)}")


# ---------------------------------------------------------------------------------------------
# Cleaning and normalisation


def clean_candidate(s: str) -> str:
    """Strip what surrounds an answer: whitespace, quotes, markdown ``**``/``__``, a final period."""
    s = _TEXT_MACRO.sub(r"\1", s)
    s = s.replace("**", "").replace("__", "")
    s = s.strip(_EDGE_PUNCT)
    # "$12$" (LaTeX math) but not "$12" (a price, handled by number normalisation).
    if len(s) > 1 and s.startswith("$") and s.endswith("$"):
        s = s.strip("$").strip(_EDGE_PUNCT)
    return s


def parse_number(s: str) -> Fraction | None:
    """The exact value of a number written as ``-1,234.5``, ``$12``, ``50%``, ``12.0`` or ``1/2``.

    Returns None if ``s`` is not a single number. A percentage keeps its written value ("50%" is 50).
    """
    t = s.strip().strip(_QUOTES).replace("\u2212", "-")
    t = t.rstrip(".")
    for ch in ",$%\u00a3\u20ac ":
        t = t.replace(ch, "")
    if not t:
        return None
    if t.startswith("+"):
        t = t[1:]
    if re.fullmatch(r"-?\d+/\d+", t):
        num, den = t.split("/")
        if int(den) == 0:
            return None
        return Fraction(int(num), int(den))
    if not re.fullmatch(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", t):
        return None
    try:
        return Fraction(Decimal(t))
    except (InvalidOperation, ValueError):
        return None


def _canonical_number(s: str) -> str | None:
    """``"1,234.50"`` -> ``"1234.5"``, ``"12.0"`` -> ``"12"``, ``"+3/4"`` -> ``"3/4"``; None if not one number."""
    value = parse_number(s)
    if value is None:
        return None
    t = s.strip().strip(_QUOTES).replace("\u2212", "-").rstrip(".")
    for ch in ",$%\u00a3\u20ac +":
        t = t.replace(ch, "")
    if "/" in t:  # keep a fraction as written (scoring compares values, so 2/4 == 1/2 == 0.5)
        num, den = t.split("/")
        return f"{int(num)}/{int(den)}"
    if value.denominator == 1:
        return str(value.numerator)
    text = format(Decimal(t).normalize(), "f")
    return text


def _normalize_text(s: str) -> str:
    s = _TEXT_MACRO.sub(r"\1", s).replace("**", "").replace("__", "")
    s = s.lower()
    s = s.strip(_EDGE_PUNCT + "()[]{}")
    return re.sub(r"\s+", " ", s)


def normalize_answer(s: str, kind: str, choices: list[str] | None = None, letters: bool = True) -> str:
    """The form two answers are compared in.

    - number: commas, currency signs, ``%`` and spaces dropped, a leading ``+`` dropped, and trailing
      zeros after the decimal point removed (``"12.0"`` -> ``"12"``); fractions stay ``"a/b"``.
      A string that is not one number is normalised as text.
    - text: lowercase, surrounding punctuation, quotes and markdown stripped, runs of spaces collapsed.
    - choice: like text; with ``choices`` a bare letter (``"B"``, ``"(B)"``) becomes that option's text
      (unless ``letters`` is off: the options were shown as words, not lettered).
    """
    _check_kind(kind)
    s = str(s)
    if kind == "number":
        number = _canonical_number(s)
        return number if number is not None else _normalize_text(s)
    if kind == "choice" and choices and letters:
        option = _option_for_letter(s, choices)
        if option is not None:
            return _normalize_text(option)
    return _normalize_text(s)


# ---------------------------------------------------------------------------------------------
# Extraction


def _last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``, with nested braces balanced."""
    start = text.rfind("\\boxed{")
    while start != -1:
        i = start + len("\\boxed{")
        depth = 1
        j = i
        while j < len(text) and depth:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        if depth == 0:
            return text[i : j - 1]
        start = text.rfind("\\boxed{", 0, start)  # unbalanced (cut off): try an earlier one
    return None


def _last_answer_phrase(text: str) -> str | None:
    """What follows the last "answer is" / "answer:", up to the end of its sentence or line."""
    matches = list(_ANSWER_PHRASE.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :].lstrip()
    end = _SENTENCE_END.search(rest)
    return rest[: end.start()] if end else rest


def _numbers_in(text: str) -> list[str]:
    return [m.group(0) for m in _NUMBER.finditer(text)]


def _number_from_candidate(candidate: str) -> str | None:
    candidate = _FRAC.sub(r"\1/\2", candidate)
    whole = _canonical_number(candidate)
    if whole is not None:
        return whole
    if "=" in candidate:  # "The answer is 3 + 4 = 7": the result is what follows the last "="
        candidate = candidate.rsplit("=", 1)[1]
    found = _numbers_in(candidate)
    if found:
        return _canonical_number(found[0])
    words = re.findall(r"[a-z]+", candidate.lower())
    if len(words) == 1 and words[0] in _NUMBER_WORDS:
        return str(_NUMBER_WORDS[words[0]])
    return None


def _letter_index(letter: str, choices: list[str]) -> int | None:
    index = ord(letter) - ord("A")
    return index if 0 <= index < len(choices) else None


def _option_for_letter(s: str, choices: list[str]) -> str | None:
    """``"B"``, ``"(B)"``, ``"B)"``, ``"B."`` or ``"option B"`` -> ``choices[1]``, unless it is itself an option."""
    stripped = s.strip().strip(_QUOTES).replace("**", "").strip()
    normalized = _normalize_text(stripped)
    if any(_normalize_text(c) == normalized for c in choices):
        return None
    m = re.fullmatch(r"(?:(?i:option|choice)\s+)?\(?([A-Z])\)?[.:]?", stripped)
    if m is None:
        return None
    index = _letter_index(m.group(1), choices)
    return choices[index] if index is not None else None


_LETTER_PATTERNS = (
    re.compile(r"\(([A-Z])\)"),
    re.compile(r"(?<![\w(])([A-Z])\)"),
    re.compile(r"(?<![\w.])([A-Z])\.(?=\s|$)"),
    re.compile(r"\b(?i:option|choice)\s+\(?([A-Z])\b"),
)


def _last_letter_option(text: str, choices: list[str]) -> str | None:
    best: tuple[int, int] | None = None  # (position, option index)
    for pattern in _LETTER_PATTERNS:
        for m in pattern.finditer(text):
            index = _letter_index(m.group(1), choices)
            if index is not None and (best is None or m.start(1) > best[0]):
                best = (m.start(1), index)
    return choices[best[1]] if best else None


def _last_option_mentioned(text: str, choices: list[str]) -> str | None:
    """The option whose text occurs last (by where it ends; the longer one on a tie)."""
    best: tuple[int, int, str] | None = None
    for option in choices:
        needle = option.strip()
        if not needle:
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            key = (m.end(), len(needle), option)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def _choice_from_candidate(candidate: str, choices: list[str] | None, letters: bool = True) -> str | None:
    if not choices:
        return candidate or None
    normalized = _normalize_text(candidate)
    for option in choices:
        if _normalize_text(option) == normalized:
            return option
    if letters:
        by_letter = _option_for_letter(candidate, choices)
        if by_letter is not None:
            return by_letter
        m = re.match(r"\(?([A-Z])(?:\)|[.:](?:\s|$))", candidate.strip())  # "(B) Paris", "B: Paris"
        index = _letter_index(m.group(1), choices) if m else None
        if index is not None:
            return choices[index]
    # An answer that names no option is no answer: "The coin is not tails up." for yes/no is
    # unanswered (the strategy may ask again with the extraction call), never a wrong option.
    return _last_option_mentioned(candidate, choices)


def _interpret(candidate: str, kind: str, choices: list[str] | None, letters: bool = True) -> str | None:
    candidate = clean_candidate(candidate)
    if not candidate:
        return None
    if kind == "number":
        return _number_from_candidate(candidate)
    if kind == "choice":
        return _choice_from_candidate(candidate, choices, letters)
    return candidate


def _fallback(text: str, kind: str, choices: list[str] | None, letters: bool = True) -> str | None:
    if kind == "number":
        numbers = _numbers_in(_FRAC.sub(r"\1/\2", text))
        return _canonical_number(numbers[-1]) if numbers else _number_from_candidate(clean_candidate(text))
    stripped = clean_candidate(text)
    if not stripped:
        return None
    if kind == "choice":
        if choices:
            if "\n" not in stripped and len(stripped.split()) <= _SHORT_TEXT_WORDS:
                whole = _choice_from_candidate(stripped, choices, letters)
                if whole in choices:
                    return whole
            by_letter = _last_letter_option(text, choices) if letters else None
            return by_letter or _last_option_mentioned(text, choices)
        return stripped if len(stripped.split()) <= _SHORT_TEXT_WORDS else None
    if "\n" not in stripped and len(stripped.split()) <= _SHORT_TEXT_WORDS:
        return stripped
    tokens = _WORD_TOKEN.findall(text)
    return tokens[-1] if tokens else None


def extract_answer(
    text: str, kind: str, choices: list[str] | None = None, letters: bool = True
) -> str | None:
    """The answer a model's text commits to, or None if there is none.

    Returns a canonical number for ``"number"`` (``"1234"``, ``"-0.5"``, ``"3/4"``), the cleaned answer
    text for ``"text"``, and for ``"choice"`` the option's text exactly as in ``choices`` (when the
    answer maps to one; None when it names no option). See the module docstring for the order tried.
    ``letters``: whether the options were shown lettered (A, B, ...), so that a letter names one;
    when they were shown as words ("yes or no"), "A. The coin is tails up." is no option "A".
    """
    _check_kind(kind)
    if not text or not text.strip():
        return None
    boxed = _last_boxed(text)
    if boxed is not None:
        found = _interpret(boxed, kind, choices, letters)
        if found is not None:
            return found
    phrase = _last_answer_phrase(text)
    if phrase is not None:
        found = _interpret(phrase, kind, choices, letters)
        if found is not None:
            return found
    return _fallback(text, kind, choices, letters)


# ---------------------------------------------------------------------------------------------
# Scoring


def answers_match(
    pred: str, reference: str, kind: str, choices: list[str] | None = None, letters: bool = True
) -> bool:
    """Whether two answers are the same after normalisation (numbers compare by exact value)."""
    if kind == "number":
        a, b = parse_number(str(pred)), parse_number(str(reference))
        if a is not None and b is not None:
            return a == b
    return normalize_answer(pred, kind, choices, letters) == normalize_answer(
        reference, kind, choices, letters
    )


def score_answer(
    pred: str | None,
    reference: str | list[str] | None,
    kind: str,
    choices: list[str] | None = None,
    letters: bool = True,
) -> float:
    """1.0 if ``pred`` matches the reference (any of them, for a list), else 0.0.

    ``pred`` is an extracted answer (see ``extract_answer``); None scores 0.0. A missing reference is
    a programming error (an unlabelled example cannot be scored) and raises ValueError.
    """
    _check_kind(kind)
    if reference is None:
        raise ValueError("cannot score against a missing reference answer (example.answer is None)")
    if pred is None:
        return 0.0
    references = reference if isinstance(reference, list) else [reference]
    if not references:
        raise ValueError("cannot score against an empty list of reference answers")
    return 1.0 if any(answers_match(pred, str(ref), kind, choices, letters) for ref in references) else 0.0
