"""Prompt templates: the format, the built-ins, rendering and its errors, and templates in
every way of running a model (predict, transform jobs, invocation jobs), for real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from springboard.errors import NotFoundError, ValidationError
from springboard.prompting import (
    Prompter,
    Template,
    builtin_templates,
    few_shot_prompt,
    load_exemplars,
    load_template,
)
from tests.conftest import cli_env

REPO = Path(__file__).resolve().parents[1]
IN_CONTEXT = REPO / "examples" / "in-context"
ARTICLE = "A storm closed the port of Kell on Friday. Ferries stayed in harbour."


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def springboard(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["springboard", *args], capture_output=True, text=True, env=cli_env(home), timeout=180
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


# -- the format -------------------------------------------------------------------------


def test_builtins_cover_the_classic_tasks():
    names = set(builtin_templates())
    assert {
        "summarization",
        "data-to-text",
        "translation",
        "extractive-qa",
        "chain-of-thought",
        "multiple-choice",
    } <= names
    assert builtin_templates()["summarization"].record_fields == ["article"]
    assert builtin_templates()["translation"].record_fields == ["source"]  # languages default


def test_render_writes_instruction_examples_and_query_joined_by_the_separator():
    template = Template(
        name="t",
        prefix="[CLM] ",
        instruction="Do {task}.",
        example="In: {x}\nOut: {y}",
        query="In: {x}\nOut:",
        separator="\n--\n",
        shots=2,
        defaults={"task": "it"},
    )
    text = template.render(
        {"x": "3"}, [{"x": "1", "y": "one"}, {"x": "2", "y": "two"}, {"x": "9", "y": "nine"}]
    )
    assert text == "[CLM] Do it.\n--\nIn: 1\nOut: one\n--\nIn: 2\nOut: two\n--\nIn: 3\nOut:"
    assert template.render({"x": "3", "task": "this"}, [{"x": "1", "y": "a"}] * 2).startswith(
        "[CLM] Do this."
    )


def test_chain_of_thought_builtins_write_exactly_what_self_consistency_writes(tmp_path):
    arithmetic = REPO / "examples" / "self-consistency" / "arithmetic" / "exemplars.jsonl"
    exemplars = load_exemplars(arithmetic)
    prompter = Prompter.load("chain-of-thought", arithmetic, shots=len(exemplars))
    question = jsonl(arithmetic.parent / "questions.jsonl")[0]
    assert prompter.render(question) == few_shot_prompt(exemplars, question["question"])
    mc = REPO / "examples" / "self-consistency" / "multiple-choice"
    question = jsonl(mc / "questions.jsonl")[0]
    # exemplars that show their choices (the shipped ones do not: the cloze form)
    shown = tmp_path / "exemplars.jsonl"
    shown.write_text(
        "".join(
            json.dumps({**e, "choices": question["choices"], "answer": "A"}) + "\n"
            for e in jsonl(mc / "exemplars.jsonl") * 2
        )
    )
    assert Prompter.load("multiple-choice", shown).render(question) == few_shot_prompt(
        load_exemplars(shown), question["question"], choices=question["choices"]
    )


def test_selection_first_random_and_ids_and_a_record_never_sees_itself():
    examples = [{"id": f"e{i}", "q": f"q{i}", "a": f"a{i}"} for i in range(6)]
    base = {"example": "{q}={a}", "query": "{q}=", "separator": "|", "shots": 2}
    first = Template(**base)
    assert first.render({"q": "x"}, examples) == "q0=a0|q1=a1|x="
    assert first.render({"id": "e0", "q": "x"}, examples) == "q1=a1|q2=a2|x="
    seeded = [
        Template(**base, selection="random", seed=s).render({"q": "x"}, examples)
        for s in (0, 0, 1, 2, 3)
    ]
    assert seeded[0] == seeded[1] and len(set(seeded)) > 1
    picked = Template(**{**base, "shots": 0}, selection="ids", ids=["e4", "e1"])
    assert picked.render({"q": "x"}, examples) == "q4=a4|q1=a1|x="
    with pytest.raises(ValidationError, match="e9"):
        Template(**base, selection="ids", ids=["e9"]).render({"q": "x"}, examples)


def test_missing_fields_name_the_field_and_the_record_or_example(tmp_path):
    examples = write_jsonl(
        tmp_path / "ex.jsonl", [{"article": "a", "summary": "s"}, {"article": "b"}]
    )
    with pytest.raises(ValidationError) as err:
        Prompter.load("summarization", examples)
    assert err.value.issues[0].field == "summary" and "ex.jsonl:2" in str(err.value)
    prompter = Prompter.load(
        "summarization", write_jsonl(tmp_path / "ok.jsonl", [{"article": "a", "summary": "s"}])
    )
    with pytest.raises(ValidationError) as err:
        prompter.render({"text": "x"}, where="record 7")
    assert err.value.issues[0].field == "article"
    assert "record 7" in str(err.value) and "text" in str(err.value)
    with pytest.raises(ValidationError, match="shots"):
        Prompter.load("summarization", [])  # 1 shot wanted, no example given
    assert (
        Prompter.load("summarization", [], shots=0)
        .render({"article": "x"})
        .endswith("Article: x\nSummary:")
    )


def test_bad_templates_report_every_problem_and_unknown_keys(tmp_path):
    with pytest.raises(ValidationError) as err:
        load_template('{"query": "{a.b} {c!r}", "shots": 2, "sperator": "|"}')
    text = str(err.value)
    assert "sperator" in text and "allowed" in text and "{a.b}" in text and "example" in text
    with pytest.raises(NotFoundError, match="summarization"):
        load_template("no-such-template")
    (tmp_path / "t.yaml").write_text(
        "name: mine\nexample: '{q} -> {a}'\nquery: '{q} ->'\nshots: 1\n"
    )
    assert (
        load_template(str(tmp_path / "t.yaml")).render({"q": "2"}, [{"q": "1", "a": "x"}])
        == "1 -> x\n\n2 ->"
    )
    (tmp_path / "t.json").write_text(json.dumps({"query": "Q: {q}"}))
    assert load_template(tmp_path / "t.json").render({"q": 5}) == "Q: 5"
    (tmp_path / "bad.yaml").write_text("query: [unclosed\n")
    with pytest.raises(ValidationError, match="YAML"):
        load_template(str(tmp_path / "bad.yaml"))


def test_requests_keep_parameters_and_refuse_mixed_ones():
    prompter = Prompter.load("summarization", [{"article": "a", "summary": "s"}])
    payload, prompt = prompter.request(
        {"id": 3, "article": ARTICLE, "summary": "ref", "max_length": 9}, "text2text"
    )
    assert payload == {"max_length": 9, "text_inputs": prompt} and ARTICLE in prompt
    payload, prompts = prompter.request([{"article": "x"}, {"article": "y"}], "text-generation")
    assert payload["inputs"] == prompts and len(prompts) == 2
    with pytest.raises(ValidationError, match="share"):
        prompter.request([{"article": "x", "max_length": 3}, {"article": "y"}], "text2text")


# -- the CLI and the ways of running a model ----------------------------------------------


@pytest.mark.integration
def test_prompts_cli_list_show_and_render(tmp_path, isolated_env):
    listed = json.loads(springboard("prompts", "list", "--json", home=isolated_env).stdout)
    assert {"summarization", "chain-of-thought"} <= {t["name"] for t in listed}
    shown = json.loads(
        springboard("prompts", "show", "summarization", "--json", home=isolated_env).stdout
    )
    assert shown["query"] == "Article: {article}\nSummary:"
    examples = IN_CONTEXT / "summarization" / "examples.jsonl"
    record = json.dumps({"article": ARTICLE})
    result = springboard(
        "prompts",
        "render",
        "summarization",
        "--examples",
        str(examples),
        "--record",
        record,
        home=isolated_env,
    )
    expected = Prompter.load("summarization", examples).render({"article": ARTICLE})
    assert result.stdout == expected + "\n"
    assert "tokens for springboard-tiny-t5 (context 512)" in result.stderr
    as_json = json.loads(
        springboard(
            "prompts",
            "render",
            "summarization",
            "--examples",
            str(examples),
            "--record",
            record,
            "--model",
            "springboard-tiny-llama",
            "--json",
            home=isolated_env,
        ).stdout
    )
    from springboard.prompting import count_tokens

    assert as_json["tokens"] == count_tokens(expected, "springboard-tiny-llama").tokens > 20
    missing = springboard(
        "prompts",
        "render",
        "summarization",
        "--examples",
        str(examples),
        "--record",
        '{"text": "x"}',
        home=isolated_env,
        check=False,
    )
    assert (
        missing.returncode == 2
        and "'article'" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    long = springboard(
        "prompts",
        "render",
        "summarization",
        "--examples",
        str(examples),
        "--record",
        json.dumps({"article": "word " * 600}),
        home=isolated_env,
    )
    assert "warning" in long.stderr and "512-token context" in long.stderr
    nothing = springboard(
        "predict",
        "springboard-tiny-t5",
        "--input",
        record,
        "--examples",
        str(examples),
        home=isolated_env,
        check=False,
    )
    assert nothing.returncode == 2 and "--prompt-template" in nothing.stderr


@pytest.mark.integration
def test_predict_with_a_template_keeps_the_prompt_when_asked(isolated_env):
    examples = IN_CONTEXT / "translation" / "examples.jsonl"
    record = {
        "source_language": "Present tense",
        "target_language": "Past tense",
        "source": "Nora paints the red fence.",
        "max_length": 24,
    }
    result = json.loads(
        springboard(
            "predict",
            "springboard-tiny-t5",
            "--input",
            json.dumps(record),
            "--prompt-template",
            "translation",
            "--examples",
            str(examples),
            "--keep-prompt",
            "--json",
            home=isolated_env,
        ).stdout
    )
    assert result["prompt"].endswith("Present tense: Nora paints the red fence.\nPast tense:")
    assert len(result["response"]["generated_texts"]) == 1


@pytest.mark.integration
def test_transform_renders_each_record_and_a_bad_record_spares_its_siblings(tmp_path, t5_generator):
    from springboard.jobs import service, transform

    folder = IN_CONTEXT / "summarization"
    records = jsonl(folder / "records.jsonl")[:6]
    records[2] = {"id": records[2]["id"], "text": "no article here"}
    source = write_jsonl(tmp_path / "fields.jsonl", records)
    prompter = Prompter.load("summarization", folder / "examples.jsonl")
    job = transform.submit(
        "springboard-tiny-t5",
        input=str(source),
        output=str(tmp_path / "out"),
        prompter=prompter,
        keep_prompt=True,
        batch_size=4,
    )
    job = service.wait(job.id, timeout=120)
    assert job.status == "PartiallyCompleted" and job.counts["succeeded"] == 5
    lines = jsonl(tmp_path / "out" / "fields.jsonl.out")
    assert [line["id"] for line in lines] == [r["id"] for r in records]
    assert lines[2]["error"]["field"] == "article" and "record 3" in lines[2]["error"]["message"]
    first = prompter.render(records[0])
    assert lines[0]["prompt"] == first
    assert (
        lines[0]["generated_texts"]
        == t5_generator.predict({"text_inputs": first})["generated_texts"]
    )
    with pytest.raises(ValidationError, match="JSON Lines"):
        transform.submit(
            "springboard-tiny-t5",
            input=str(source),
            output=str(tmp_path / "o2"),
            prompter=prompter,
            content_type="text/plain",
        )


@pytest.mark.integration
def test_transform_cli_acceptance_and_sdk_transformer(tmp_path, isolated_env):
    folder = IN_CONTEXT / "summarization"
    result = springboard(
        "transform",
        "springboard-tiny-t5",
        "--input",
        str(folder / "records.jsonl"),
        "--output",
        str(tmp_path / "out"),
        "--prompt-template",
        "summarization",
        "--examples",
        str(folder / "examples.jsonl"),
        "--wait",
        "--json",
        home=isolated_env,
    )
    assert json.loads(result.stdout)["status"] == "Completed"
    lines = jsonl(tmp_path / "out" / "records.jsonl.out")
    assert len(lines) == 20 and all("prompt" not in line for line in lines)
    from springboard.sdk import Model

    job = (
        Model("springboard-tiny-t5")
        .transformer(
            output_path=str(tmp_path / "sdk"),
            prompt_template="summarization",
            examples=str(folder / "examples.jsonl"),
            keep_prompt=True,
        )
        .transform(str(folder / "records.jsonl"))
    )
    assert job.status == "Completed"
    sdk_lines = jsonl(tmp_path / "sdk" / "records.jsonl.out")
    assert [s["generated_texts"] for s in sdk_lines] == [c["generated_texts"] for c in lines]
    assert all(s["prompt"].startswith("Summarize the article") for s in sdk_lines)


@pytest.mark.integration
def test_invocation_job_with_a_template(tmp_path):
    from springboard.jobs import invocation

    exemplars = REPO / "examples" / "self-consistency" / "arithmetic" / "exemplars.jsonl"
    questions = jsonl(REPO / "examples" / "self-consistency" / "arithmetic" / "questions.jsonl")[:4]
    rows = [
        {"recordId": f"q{q['id']}", "modelInput": {"question": q["question"], "max_tokens": 8}}
        for q in questions
    ]
    rows.append({"recordId": "bad", "modelInput": {"prompt": "no question field"}})
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    prompter = Prompter.load("chain-of-thought", exemplars, shots=2)
    job = invocation.create(
        job_name="cot",
        model_id="springboard-tiny-llama",
        input_uri=str(source),
        output_uri=str(tmp_path / "out"),
        prompter=prompter,
        keep_prompt=True,
    )
    job = invocation.wait(job.id, timeout=120)
    assert job.status == "PartiallyCompleted"
    lines = jsonl(Path(job.outputs["dir"]) / "in.jsonl.out")
    assert lines[0]["modelInput"] == rows[0]["modelInput"]
    assert lines[0]["prompt"] == prompter.render({"question": questions[0]["question"]})
    assert lines[0]["modelOutput"]["generations"][0]["token_count"] <= 8
    assert "modelInput.question" in lines[-1]["error"]["errorMessage"]
