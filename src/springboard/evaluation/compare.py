"""Side-by-side generations of two models on the same prompts (e.g. a base model and
its fine-tuned version), as users of managed hubs compare them before switching."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from springboard.catalog import Task
from springboard.errors import Issue, ValidationError
from springboard.inference.payloads import PROMPT_KEYS, payload_for

PROMPT_FIELDS = (*PROMPT_KEYS.values(), "prompt", "text")


def read_prompts(path: str | Path) -> list[tuple[Any, str]]:
    """(id, prompt) per line: a JSON object with one of PROMPT_FIELDS, or a text line.
    Problems name the file as the `input` parameter."""
    file = Path(path)
    if not file.is_file():
        raise ValidationError([Issue("input", f"{file} does not exist", str(path))])
    prompts = []
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = line
        if isinstance(record, str):
            prompts.append((number, record))
            continue
        field = next((f for f in PROMPT_FIELDS if isinstance(record, dict) and f in record), None)
        if field is None:
            raise ValidationError(
                [
                    Issue(
                        "input",
                        f"{file.name}:{number} has none of the fields {', '.join(PROMPT_FIELDS)}",
                        line[:200],
                    )
                ]
            )
        prompts.append((record.get("id", number), str(record[field])))
    if not prompts:
        raise ValidationError([Issue("input", f"{file} holds no prompts", str(path))])
    return prompts


def _texts(generator: Any, prompts: list[str], parameters: dict[str, Any]) -> list[str]:
    answer = generator.predict(payload_for(generator.task, prompts, parameters))
    if generator.task is Task.TEXT2TEXT:
        return [a if isinstance(a, str) else a[0] for a in answer["generated_texts"]]
    return [a["generated_text"] if isinstance(a, dict) else a[0]["generated_text"] for a in answer]


def compare(
    model_a: str,
    model_b: str,
    input: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    accept_eula: bool = False,
) -> list[dict[str, Any]]:
    """One row per prompt: its id, the prompt, and each model's generation."""
    from springboard.inference import Generator

    prompts = read_prompts(input)
    texts = [p for _, p in prompts]
    columns = {}
    for model_id in (model_a, model_b):
        generator = Generator.from_catalog(model_id, accept_eula=accept_eula)
        columns[model_id] = _texts(generator, texts, dict(parameters or {}))
    return [
        {"id": pid, "prompt": prompt, model_a: columns[model_a][i], model_b: columns[model_b][i]}
        for i, (pid, prompt) in enumerate(prompts)
    ]
