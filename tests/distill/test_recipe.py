"""The distillation recipe's control flow: a scripted teacher, a tiny random student (never evidence
that distillation works: the end-to-end run on the embedded model is in test_embedded.py)."""

import json
import re

import pytest

from fastslow.distill.recipe import DistillConfig, decide, distill, load_inputs
from fastslow.distill.teacher import TeacherOutputs, teacher_strategies
from fastslow.errors import FastslowError
from fastslow.training.config import TrainConfig
from tests.fakes import ScriptedModel

TINY_TRAINING = TrainConfig(max_steps=2, batch_size=4, save_steps=1, max_length=256)


def _teacher():
    """Consistent on every question whose two operands' sum is even (it says 7: wrong, on purpose);
    split between two answers on the others."""

    def respond(request, k):
        question = request.messages[-1]["content"]
        numbers = [int(n) for n in re.findall(r"\d+", question.split("\n")[0])]
        if request.prefill.startswith("The answer is") or "Give only the final answer" in question:
            return " 3."
        if sum(numbers) % 2 == 0:
            return " Adding them up. The answer is 7."
        return f" Hmm. The answer is {k % 2}."

    return ScriptedModel(respond, name="scripted-teacher")


def test_the_dataset_holds_the_teachers_consistent_answers_never_the_labels(tmp_path, tiny_model_dir):
    config = DistillConfig(
        task="arithmetic",
        knobs={"steps": "1"},
        limit=12,
        test_limit=3,
        model=f"hf:{tiny_model_dir}",
        method="cot",
        samples=4,
        min_agreement=0.75,
        train=TINY_TRAINING,
    )
    summary = distill(config, tmp_path / "run", progress=False, teacher_model=_teacher())
    train_task, _ = load_inputs(config)
    consistent = [ex for ex in train_task.examples if sum(map(int, re.findall(r"\d+", ex.question))) % 2 == 0]
    rows = [json.loads(line) for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [ex.id for ex in consistent] and summary["kept"] == len(consistent)
    assert all(r["completion"] == [{"role": "assistant", "content": "The answer is 7."}] for r in rows)
    assert all(ex.answer != "7" for ex in consistent)  # the labels say otherwise: they were never used
    assert summary["filter_precision"] == 0.0 and summary["yield"] == len(consistent) / 12
    assert rows[0]["prompt"][0]["content"].endswith("Give only the final answer, no explanation.")
    assert (tmp_path / "run" / "dataset" / "dataset_info.json").is_file()  # datasets.save_to_disk
    assert [r["row"] for r in summary["rows"]] == ["System 1", "System 2 (teacher)", "Distilled System 1"]
    assert summary["rows"][1]["calls"] == 1.0  # the teacher row is the method run once, on test questions
    acc = {r["row"]: r["accuracy"] for r in summary["rows"]}
    for other in ("System 1", "System 2 (teacher)"):
        d, lo, hi = summary["differences"][f"Distilled System 1 - {other}"]
        assert d == pytest.approx(acc["Distilled System 1"] - acc[other]) and lo <= d <= hi
    assert "- Distilled System 1 - System 1: " in (tmp_path / "run" / "report.md").read_text()
    assert (tmp_path / "run" / "report.md").is_file() and (
        tmp_path / "run" / "plots" / "distill.png"
    ).is_file()
    from fastslow.cli import main

    (tmp_path / "run" / "report.md").unlink()
    assert main(["report", str(tmp_path / "run")]) == 0  # `fastslow report` re-renders a distill run
    assert "Distilled System 1" in (tmp_path / "run" / "report.md").read_text()
    # Run again: every step resumes (the teacher from its rows, training from its checkpoint).
    teacher = _teacher()
    again = distill(config, tmp_path / "run", progress=False, teacher_model=teacher)
    assert again["rows"] == summary["rows"] and teacher.generate_calls == 0


def test_filters_that_keep_nothing_stop_the_run_with_the_fix(tmp_path, tiny_model_dir):
    config = DistillConfig(task="arithmetic", limit=4, test_limit=2, model=f"hf:{tiny_model_dir}",
                           samples=2, min_agreement=1.0, train=TINY_TRAINING)  # fmt: skip
    split = ScriptedModel(lambda r, k: f" The answer is {k}.")
    with pytest.raises(FastslowError, match="lower --min-agreement") as error:
        distill(config, tmp_path / "run", progress=False, teacher_model=split)
    message = str(error.value)
    assert "kept alone: self-consistency 0; self-consistency dropped the first input because " in message
    assert "tie between the most frequent answers" in message  # 2 samples, 2 answers


def test_a_method_that_cannot_sample_is_refused_with_the_fix():
    with pytest.raises(FastslowError, match="use --samples 1"):
        teacher_strategies("rar2", [], 4, 0.7)
    [chains] = teacher_strategies("cot", ["cot.max_tokens=64"], 3, 0.7)
    assert (chains.n, chains.cot.temperature, chains.cot.max_tokens) == (3, 0.7, 64)
    [sc] = teacher_strategies("sc", [], 6, 0.7)
    assert sc.k == 6


def test_the_teacher_fills_a_batch_and_samples_cot_from_one_prompt_pass(tmp_path):
    """Inputs go in chunks of the model's batch size (chunks of 16 decoded 16 rows at a time where
    128 fit), and cot's samples of an input are one request of n (its prompt is run once)."""
    from fastslow.distill.recipe import teach
    from fastslow.runs import open_run

    config = DistillConfig(task="arithmetic", limit=40, method="cot", samples=3)
    task, _ = load_inputs(config)
    model = ScriptedModel(lambda r, k: " The answer is 7.")
    model.batch_size = 32
    run = open_run(tmp_path / "run", "distill", config)
    outputs = teach(run, config, model, task, progress=False)
    assert len(outputs) == 40 and all(o.answers == ["7"] * 3 for o in outputs)
    assert model.generate_calls == 2  # 40 inputs in chunks of 32 (not 16), one call each
    assert len(model.requests) == 40 and all(r.n == 3 and r.temperature == 0.7 for r in model.requests)


def test_sampled_chains_give_each_samples_answer_with_the_extraction_call_where_needed():
    from fastslow.distill.teacher import run_teacher

    config = DistillConfig(task="arithmetic", limit=2, method="cot", samples=3)
    task, _ = load_inputs(config)

    def respond(request, k):
        if "Therefore, the answer" in request.prefill or "Therefore" in str(request.messages[-1]):
            return " 5"
        return [" I am not sure.", " So it is 4. The answer is 4.", " The answer is 4."][k]

    outputs = run_teacher(teacher_strategies("cot", [], 3, 0.7), ScriptedModel(respond), task.examples, task)
    assert [o.answers for o in outputs] == [["5", "4", "4"]] * 2
    assert outputs[0].final_texts[1].endswith("So it is 4. The answer is 4.")
    assert "I am not sure." in outputs[0].final_texts[0] and outputs[0].calls == 4  # 3 samples + 1 extraction


def test_decide_combines_the_chosen_filters():
    outputs = TeacherOutputs("a", ["5", "5", "5", "4"], ["x"] * 4, [{}] * 4)
    kept, alone = decide(outputs, ["self-consistency"], "number", 0.75)
    assert kept.answer == "5" and alone["self-consistency"].answer == "5"
    kept, alone = decide(outputs, ["self-consistency", "swap"], "number", 0.75)
    assert not kept.kept and alone["self-consistency"].kept and not alone["swap"].kept
    assert kept.reason == alone["swap"].reason == "not a judgement of two responses (no orders to compare)"


def test_inputs_come_from_the_train_side_and_tests_from_the_test_side():
    from fastslow.tasks.splits import split_of

    train, test = load_inputs(DistillConfig(task="coin_flip", limit=5, test_limit=4))
    assert len(train.examples) == 5 and all(split_of(ex.question) == "train" for ex in train.examples)
    assert len(test.examples) == 4 and all(split_of(ex.question) == "test" for ex in test.examples)


def _mc_task():
    from fastslow.tasks.base import Example, Task

    examples = [
        Example(
            id=f"q{i}",
            question=f"Which city is the capital of country {i}?",
            answer="Paris",
            choices=["Paris", "Rome", "Oslo", "Lima"],
        )  # fmt: skip
        for i in range(3)
    ]
    return Task(name="mc", examples=examples, kind="choice")


@pytest.mark.parametrize("reply, kept", [(" The answer is Paris.", True), (" The answer is (A).", False)])
def test_perturbation_keeps_an_answer_only_when_it_follows_its_option(reply, kept):
    from fastslow.distill.teacher import check_perturbable, run_teacher

    task = _mc_task()
    check_perturbable(task)
    teacher = ScriptedModel(lambda r, k: reply)
    strategies = teacher_strategies("cot", [], 4, 0.7, perturb=True)
    outputs = run_teacher(strategies, teacher, task.examples, task, perturb=True)
    shown = {r.messages[-1]["content"].split("Options:\n")[1].split("\n\n")[0] for r in teacher.requests}
    assert len(shown) > 1  # the runs saw the options in other orders
    for out in outputs:
        decision, _ = decide(out, ["perturbation"], "choice", 0.75)
        assert decision.kept is kept and (not kept or decision.answer == "Paris")


def test_perturbation_is_refused_where_the_question_writes_its_options_out():
    from fastslow.distill.teacher import check_perturbable
    from fastslow.tasks.registry import load_task

    with pytest.raises(FastslowError, match="perturbation needs multiple-choice"):
        check_perturbable(load_task("coin_flip", limit=2))


def test_usc_keeps_the_output_the_model_selects():
    from fastslow.distill.teacher import select_consistent

    task = _mc_task()
    outputs = [
        TeacherOutputs(ex.id, ["Rome", "Paris", "Paris"], ["a", "b", "c"], [{}] * 3) for ex in task.examples
    ]
    replies = iter([" 2", " none of them", " 7"])
    judge = ScriptedModel(lambda r, k: next(replies))
    picks = select_consistent(judge, task.examples, outputs, chunk=2)
    assert [index for index, _ in picks] == [2, None, None]  # none named, or one out of range: nothing
    assert "names no single response: 'The most consistent response is Response none" in picks[1][1]
    assert judge.generate_calls == 2  # in chunks, each cached when it finishes
    assert "Response 0: a" in judge.requests[0].messages[0]["content"]
    assert decide(outputs[0], ["usc"], "choice", 0.75, picks[0])[0].answer == "Paris"
    dropped = decide(outputs[1], ["usc"], "choice", 0.75, picks[1])[0]
    assert not dropped.kept and dropped.reason.startswith("the selection did not parse (the selection names")


def test_s2a_can_be_a_sampled_teacher():
    runs = teacher_strategies("s2a", [], 3, 0.7)
    assert [(s.temperature, s.seed) for s in runs] == [(0.7, 0), (0.7, 1), (0.7, 2)]


def test_a_jsonl_file_of_the_users_is_distilled_from_its_train_side_without_its_labels(
    tmp_path, tiny_model_dir
):
    from fastslow.tasks.splits import split_of

    data = tmp_path / "mine.jsonl"
    sums = {f"What is {i} plus {i + 1}?": 2 * i + 1 for i in range(10, 40)}  # labels 21 to 79, never 7
    questions = list(sums)
    data.write_text("".join(json.dumps({"question": q, "answer": str(a)}) + "\n" for q, a in sums.items()))
    config = DistillConfig(data=str(data), test_limit=3, model=f"hf:{tiny_model_dir}", samples=2,
                           min_agreement=1.0, train=TINY_TRAINING)  # fmt: skip
    teacher = ScriptedModel(lambda r, k: " So it is 7. The answer is 7.")
    summary = distill(config, tmp_path / "run", progress=False, teacher_model=teacher)
    rows = [json.loads(line) for line in (tmp_path / "run" / "train.jsonl").read_text().splitlines()]
    train_side = [q for q in questions if split_of(q) == "train"]
    assert [r["prompt"][0]["content"].split("\n")[0] for r in rows] == train_side
    assert all(r["completion"][0]["content"] == "The answer is 7." for r in rows)
    assert summary["kept"] == len(train_side) and summary["filter_precision"] == 0.0
    held_out = [q for q in questions if split_of(q) == "test"][:3]
    for name in ("system1", "teacher", "distilled"):  # evaluated on those, never on training inputs
        traces = (tmp_path / "run" / "eval" / name / "traces.jsonl").read_text().splitlines()
        assert [json.loads(t)["question"] for t in traces] == held_out


def test_the_teacher_can_be_another_model_on_an_openai_server(tmp_path, tiny_model_dir, llama_server):
    """``--teacher openai:MODEL@URL``: the teacher's calls go to the server (a real llama.cpp one with
    the embedded model), the student trained here is the local tiny model."""
    from fastslow.models.options import ModelOptions
    from tests.llama_server import MODEL_ALIAS

    teacher = f"openai:{MODEL_ALIAS}@{llama_server}"
    config = DistillConfig(task="coin_flip", knobs={"flips": "1"}, limit=6, test_limit=2, model=f"hf:{tiny_model_dir}",
                           teacher=teacher, samples=2, temperature=0.0, min_agreement=1.0,
                           params=["cot.max_tokens=48"], train=TINY_TRAINING)  # fmt: skip
    summary = distill(
        config, tmp_path / "run", ModelOptions(cache=str(tmp_path / "c.sqlite")), progress=False
    )
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model_id"].startswith(f"openai:{MODEL_ALIAS}@")  # the run's teacher is the server
    assert summary["teacher_calls_per_input"] >= 2 and summary["kept"] >= 1
    rows = {r["row"]: r for r in summary["rows"]}
    assert rows["System 2 (teacher)"]["model"] == teacher
    assert rows["Distilled System 1"]["model"] == f"hf:{tmp_path / 'run' / 'model'}"


def test_unlabeled_inputs_distil_and_the_report_says_nothing_could_be_scored(tmp_path, tiny_model_dir):
    """The paper's setting: inputs with no label at all. The run trains and saves its model; the
    held-out questions have no label to score against, and the report and summary say so."""
    from fastslow.distill.report import console_table, held_out_line

    data = tmp_path / "unlabeled.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} plus {i + 1}?"}) + "\n" for i in range(10, 40))
    )
    config = DistillConfig(data=str(data), test_limit=3, model=f"hf:{tiny_model_dir}", samples=2,
                           min_agreement=1.0, train=TINY_TRAINING)  # fmt: skip
    teacher = ScriptedModel(lambda r, k: " So it is 7. The answer is 7.")
    summary = distill(config, tmp_path / "run", progress=False, teacher_model=teacher)
    assert summary["kept"] > 0 and summary["filter_precision"] is None and summary["rows"] == []
    assert summary["held_out"] == {"questions": 3, "labeled": 0} and summary["training"]["steps"] == 2
    assert (tmp_path / "run" / "model" / "adapter_config.json").is_file()
    report = (tmp_path / "run" / "report.md").read_text()
    assert "None of the 3 held-out questions has a label: nothing was scored" in report
    assert not (tmp_path / "run" / "eval").exists() and "filter precision" not in report
    assert console_table(summary).startswith("None of the 3 held-out questions has a label")  # the CLI's
    partly = {"rows": [{"row": "System 1"}], "held_out": {"questions": 5, "labeled": 2}}
    assert held_out_line(partly) == "Scored on the 2 of 5 held-out questions that have a label."
