import pytest

from fastslow.tasks.answers import extract_answer, normalize_answer, parse_number, score_answer
from fastslow.tasks.base import Example, Task

CITIES = ["London", "Paris", "Rome"]


# --- extraction: priority -------------------------------------------------------------------------


def test_boxed_wins_over_answer_phrase_and_last_number():
    text = "We get \\boxed{42}. The answer is 7. Also 99."
    assert extract_answer(text, "number") == "42"


def test_last_boxed_is_used_and_nested_braces_are_balanced():
    assert extract_answer("\\boxed{1} then \\boxed{\\frac{3}{4}}", "number") == "3/4"
    assert extract_answer("\\boxed{\\text{yes}}", "text") == "yes"


def test_unclosed_boxed_falls_back_to_earlier_one():
    assert extract_answer("\\boxed{5} and \\boxed{6", "number") == "5"


def test_last_answer_phrase_wins():
    text = "The answer is 3. Wait, let me recheck. The answer is 5."
    assert extract_answer(text, "number") == "5"


@pytest.mark.parametrize(
    "text",
    [
        "So the answer is 12.",
        "answer is: 12",
        "Answer: 12",
        "ANSWER:12\nmore text",
        "The final answer is **12**.",
        "The answer is\n\n12",
    ],
)
def test_answer_phrase_variants(text):
    assert extract_answer(text, "number") == "12"


def test_answer_phrase_runs_to_end_of_sentence_not_decimal_point():
    assert extract_answer("The answer is 3.5. That is all.", "number") == "3.5"
    assert extract_answer('The answer is "eb". Done', "text") == "eb"
    assert extract_answer("The answer is eb\nbecause reasons", "text") == "eb"


def test_answer_phrase_strips_markdown_quotes_and_period():
    assert extract_answer('Answer: **"nanr"**.', "text") == "nanr"
    assert extract_answer("The answer is 'New York'.", "text") == "New York"


# --- extraction: numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 1,234.", "1234"),
        ("The answer is $12.50", "12.5"),
        ("The answer is -7.", "-7"),
        ("The answer is +7.", "7"),
        ("The answer is 12.0", "12"),
        ("The answer is 50%.", "50"),
        ("The answer is 1/2.", "1/2"),
        ("The answer is 40 apples.", "40"),
        ("The answer is 3 + 4 = 7.", "7"),
        ("The answer is twelve.", "12"),
        ("The answer is \u22123", "-3"),
    ],
)
def test_number_forms(text, expected):
    assert extract_answer(text, "number") == expected


def test_number_fallback_is_last_number():
    assert extract_answer("I had 3 apples, ate 1, and now 2 remain", "number") == "2"


def test_number_fallback_does_not_take_a_minus_sign_from_subtraction():
    assert extract_answer("so 10-3", "number") == "3"
    assert extract_answer("it is -3", "number") == "-3"


def test_number_fallback_keeps_thousands_separators_together():
    assert extract_answer("we get 12,345 in total", "number") == "12345"
    assert extract_answer("values 1, 2, 3", "number") == "3"


def test_number_none_when_no_number():
    assert extract_answer("I do not know", "number") is None


# --- extraction: text ----------------------------------------------------------------------------


def test_text_short_reply_is_the_answer():
    assert extract_answer("  eb  ", "text") == "eb"
    assert extract_answer("**heads up**", "text") == "heads up"


def test_text_long_reply_falls_back_to_last_word():
    assert extract_answer("Let me think about this for a while.\nI believe it is nanr", "text") == "nanr"


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_gives_none(text):
    for kind in ("number", "text", "choice"):
        assert extract_answer(text, kind, CITIES) is None


# --- extraction: choices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The answer is (B).",
        "The answer is B.",
        "The answer is (B) Paris.",
        "Answer: B: Paris",
        "The answer is paris.",
        "I would go with option B",
        "B",
        "(B)",
        "Probably B) since it is the capital.",
        "After thinking, (A) is wrong. The correct one is (B)",
        "London is large, but the capital of France is Paris",
    ],
)
def test_choice_forms_map_to_the_option_text(text):
    assert extract_answer(text, "choice", CITIES) == "Paris"


def test_choice_letter_out_of_range_is_ignored():
    assert extract_answer("(D) I guess, or maybe Rome", "choice", CITIES) == "Rome"


def test_choice_last_mentioned_option_wins():
    assert extract_answer("Not Rome, not London, it is Paris", "choice", CITIES) == "Paris"
    assert extract_answer("First I thought Paris, then London", "choice", CITIES) == "London"


def test_choice_words_are_matched_whole():
    # "no" must not be found inside "not" or "know"
    assert extract_answer("It is not known, I know. Yes it is", "choice", ["yes", "no"]) == "yes"


def test_choice_sentence_starting_with_a_is_not_letter_a():
    assert extract_answer("A coin is heads up so the reply is no", "choice", ["yes", "no"]) == "no"


def test_choice_answer_naming_no_option_is_no_answer():
    # Unanswered (None), so the unanswered column counts it and a strategy may make the
    # extraction call; a restated sentence is not a wrong option.
    assert extract_answer("The answer is Berlin.", "choice", CITIES) is None
    coin = "The coin was flipped once. The answer is The coin is not tails up."
    assert extract_answer(coin, "choice", ["yes", "no"], letters=False) is None


def test_choice_answer_naming_no_option_falls_back_to_an_option_in_the_text():
    text = "So yes, it is still heads up. The answer is it is heads up."
    assert extract_answer(text, "choice", ["yes", "no"], letters=False) == "yes"


def test_choice_without_choices_returns_cleaned_answer():
    assert extract_answer("The answer is (C).", "choice") == "(C)"


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown answer kind"):
        extract_answer("x", "date")


# --- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234", "1234"),
        ("$1,234.50", "1234.5"),
        ("12.0", "12"),
        ("+3", "3"),
        ("-0.50", "-0.5"),
        ("-0", "0"),
        ("50 %", "50"),
        ("1/2", "1/2"),
        ("twelve", "twelve"),
    ],
)
def test_normalize_number(raw, expected):
    assert normalize_answer(raw, "number") == expected


def test_normalize_text():
    assert normalize_answer('  "Hello   World".  ', "text") == "hello world"
    assert normalize_answer("**Yes**!", "text") == "yes"


def test_normalize_choice_maps_letters_when_choices_given():
    assert normalize_answer("(B)", "choice", CITIES) == "paris"
    assert normalize_answer("Paris.", "choice", CITIES) == "paris"
    assert normalize_answer("B", "choice") == "b"


def test_parse_number_values():
    assert parse_number("0.5") == parse_number("1/2")
    assert parse_number("1,000") == 1000
    assert parse_number("abc") is None
    assert parse_number("1/0") is None


# --- scoring -------------------------------------------------------------------------------------


def test_score_numbers_compare_by_value():
    assert score_answer("12", "12.0", "number") == 1.0
    assert score_answer("0.5", "1/2", "number") == 1.0
    assert score_answer("2/4", "1/2", "number") == 1.0
    assert score_answer("1234", "1,234", "number") == 1.0
    assert score_answer("13", "12", "number") == 0.0


def test_score_text_after_normalisation():
    assert score_answer("EB", "eb", "text") == 1.0
    assert score_answer("e b", "eb", "text") == 0.0


def test_score_list_reference_means_any():
    assert score_answer("colour", ["color", "colour"], "text") == 1.0
    assert score_answer("hue", ["color", "colour"], "text") == 0.0


def test_score_choice_with_letters_on_either_side():
    assert score_answer("B", "Paris", "choice", CITIES) == 1.0
    assert score_answer("Paris", "B", "choice", CITIES) == 1.0
    assert score_answer("A", "Paris", "choice", CITIES) == 0.0


def test_score_choice_option_named_like_a_letter_is_not_remapped():
    choices = ["B", "A"]
    assert score_answer("A", "A", "choice", choices) == 1.0
    assert score_answer("B", "A", "choice", choices) == 0.0


def test_score_none_prediction_is_wrong():
    assert score_answer(None, "12", "number") == 0.0


def test_score_missing_reference_raises():
    with pytest.raises(ValueError, match="missing reference"):
        score_answer("12", None, "number")


def test_task_defaults_use_extract_and_score():
    example = Example("x", "Which city?", answer="Paris", choices=CITIES)
    task = Task("cities", [example], kind="choice")
    assert task.extract("I pick (B).", example) == "Paris"
    assert task.score("Paris", example) == 1.0
    assert task.score(task.extract("London, surely", example), example) == 0.0


def test_a_letter_names_an_option_only_where_the_options_were_shown_lettered():
    choices = ["yes", "no"]
    assert extract_answer("A. The coin is tails up.", "choice", choices, letters=False) is None
    assert extract_answer("The answer is (B).", "choice", choices, letters=False) not in choices
    assert extract_answer("The answer is no.", "choice", choices, letters=False) == "no"
    assert extract_answer("The answer is (B).", "choice", choices) == "no"  # shown as (A) yes, (B) no
