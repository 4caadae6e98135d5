import json
import random

import pytest

from fastslow.errors import FastslowError
from fastslow.gradients.data import (
    RESPONSE_TYPES,
    approx_tokens,
    derangement,
    make_data,
    neutral_sentences,
    read_responses,
    split_sentences,
)
from fastslow.tasks.registry import BUILTIN_TASKS, load_task
from tests.gradients.conftest import write_jsonl

FAMILIES = ("arithmetic", "distractor_arithmetic", "last_letters", "coin_flip", "sycophancy")


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("family", FAMILIES)
def test_make_data_writes_every_type_for_the_same_questions(tmp_path, family):
    files = make_data(family, tmp_path, n=8, seed=1)
    assert set(files) == set(RESPONSE_TYPES)
    by_type = {t: _rows(p) for t, p in files.items()}
    ids = [r["id"] for r in by_type["none"]]
    assert len(ids) == 8 and all([r["id"] for r in rows] == ids for rows in by_type.values())
    task = load_task(family, limit=8, seed=1, split="train")
    for i, ex in enumerate(task.examples):
        answer = f"The answer is {ex.answer}."
        assert by_type["none"][i]["response"] == answer
        assert by_type["detailed"][i]["response"] == BUILTIN_TASKS[family].module.cot_solution(ex)
        simplified = by_type["simplified"][i]["response"]
        assert simplified.endswith(answer) and len(simplified) < len(by_type["detailed"][i]["response"])
        assert by_type["padded"][i]["response"].endswith(answer)
        assert len({r[i]["prompt"] for r in by_type.values()}) == 1  # one prompt, many responses
    meta = json.loads((tmp_path / "data.json").read_text())
    assert meta["task"] == family and meta["split"] == "train" and "templated" in meta["reasoning"]


def test_irrelevant_responses_come_from_other_questions(tmp_path):
    files = make_data("distractor_arithmetic", tmp_path, n=20, seed=0)
    detailed = {r["id"]: r for r in _rows(files["detailed"])}
    for kind, source in (("irrelevant", "detailed"), ("irrelevant_none", "none")):
        sources = {r["id"]: r for r in _rows(files[source])}
        donors = []
        for r in _rows(files[kind]):
            assert r["response_from"] != r["id"]
            assert r["response"] == sources[r["response_from"]]["response"]
            assert not r["response"].endswith(f"The answer is {detailed[r['id']]['answer']}.")
            donors.append(r["response_from"])
        assert sorted(donors) == sorted(detailed)  # a permutation: every response used once


@pytest.mark.parametrize("family", ["distractor_arithmetic", "coin_flip"])
def test_shuffled_recombines_sentences_of_several_other_questions(tmp_path, family):
    """The authors' irrelevant condition: sentences of other questions' responses, then a wrong answer."""
    files = make_data(family, tmp_path, n=20, seed=0)
    detailed = {r["id"]: r for r in _rows(files["detailed"])}
    own_sentences = {i: set(split_sentences(r["response"])) for i, r in detailed.items()}
    for r in _rows(files["shuffled"]):
        parts = split_sentences(r["response"])
        body, last = parts[:-1], parts[-1]
        sources = r["sentences_from"]
        assert len(body) == len(sources) and len(set(sources)) >= 2 and r["id"] not in sources
        for sentence, source in zip(body, sources):
            assert sentence in own_sentences[source] and not sentence.startswith("The answer is")
        assert all(a != b for a, b in zip(sources, sources[1:]))  # neighbours from different questions
        assert (
            last == f"The answer is {detailed[r['answer_from']]['answer']}." and r["answer_from"] != r["id"]
        )
        if family != "coin_flip":  # yes/no answers: not every question can get a wrong one
            assert last != f"The answer is {r['answer']}."
        assert abs(approx_tokens(r["response"]) - approx_tokens(detailed[r["id"]]["response"])) <= 12
    again = make_data(family, tmp_path / "again", n=20, seed=0)["shuffled"].read_text()
    other = make_data(family, tmp_path / "other", n=20, seed=1)["shuffled"].read_text()
    assert again == files["shuffled"].read_text() and other != again


def test_padded_is_about_as_long_as_detailed_and_unrelated(tmp_path):
    files = make_data("distractor_arithmetic", tmp_path, n=12, seed=0, knobs={"steps": 3})
    sentences = set(neutral_sentences())
    for d, p in zip(_rows(files["detailed"]), _rows(files["padded"])):
        assert abs(approx_tokens(p["response"]) - approx_tokens(d["response"])) <= 12
        filler = p["response"][: -len(f"The answer is {d['answer']}.")].strip()
        assert all(s + "." in sentences for s in filler.rstrip(".").split(". "))
        assert not any(ch.isdigit() for ch in filler)


def test_make_data_is_reproducible(tmp_path):
    a = make_data("last_letters", tmp_path / "a", n=10, seed=3)
    b = make_data("last_letters", tmp_path / "b", n=10, seed=3)
    assert all(a[t].read_text() == b[t].read_text() for t in RESPONSE_TYPES)


def test_derangement_has_no_fixed_points_and_avoids_equal_answers():
    answers = [i % 3 for i in range(12)]
    for seed in range(20):
        rng = random.Random(seed)
        perm = derangement(12, rng, same=lambda i, j: answers[i] == answers[j])
        assert sorted(perm) == list(range(12))
        assert all(perm[i] != i and answers[perm[i]] != answers[i] for i in range(12))


def test_make_data_refuses_unknown_tasks_and_tiny_sizes(tmp_path):
    with pytest.raises(FastslowError, match="built-in task"):
        make_data("gsm8k", tmp_path)
    with pytest.raises(FastslowError, match="at least 2"):
        make_data("arithmetic", tmp_path, n=1)


def test_read_responses_checks_lines(tmp_path):
    good = write_jsonl(
        tmp_path / "ok.jsonl",
        [
            {"id": "a", "prompt": "Q1", "response": "R1"},
            {"prompt": [{"role": "user", "content": "Q2"}], "response": "R2"},
        ],
    )
    exs = read_responses(good)
    assert [e.id for e in exs] == ["a", "line-2"] and exs[1].prompt[0]["content"] == "Q2"
    assert len(read_responses(good, limit=1)) == 1
    cases = [
        ({"prompt": "Q"}, 'missing "response"'),
        ({"prompt": 3, "response": "R"}, '"prompt" must be'),
        ({"prompt": "Q", "response": "  "}, "non-empty"),
    ]
    for row, message in cases:
        bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "Q", "response": "R"}, row])
        with pytest.raises(FastslowError, match=f"line 2 of .*bad.jsonl.*{message}"):
            read_responses(bad)
    dup = write_jsonl(tmp_path / "dup.jsonl", [{"id": "x", "prompt": "Q", "response": "R"}] * 2)
    with pytest.raises(FastslowError, match="duplicate id"):
        read_responses(dup)
    with pytest.raises(FastslowError, match="does not exist"):
        read_responses(tmp_path / "missing.jsonl")


def test_data_from_dir_reads_what_make_data_wrote(tmp_path):
    from fastslow.gradients.data import data_from_dir

    files = make_data("coin_flip", tmp_path / "made", n=3)
    assert data_from_dir(tmp_path / "made") == {t: str(p) for t, p in files.items()}
    (tmp_path / "own").mkdir()
    write_jsonl(tmp_path / "own" / "fast.jsonl", [{"prompt": "Q", "response": "R"}])
    assert data_from_dir(tmp_path / "own") == {"fast": str(tmp_path / "own" / "fast.jsonl")}
    with pytest.raises(FastslowError, match="not found"):
        data_from_dir(tmp_path / "nowhere")
