"""Training data: reading the user's files into prompt/completion examples.

Formats (DESIGN.md journey 6):
- instruction tuning (text2text, and causal with `instruction_tuned`): JSON Lines, with an
  optional `template.json` `{"prompt": "...{field}...", "completion": "{other_field}"}`
  whose placeholders name record fields (filled as prompt templates are: plain `{field}`
  names only, nothing evaluated); without one, records carry `prompt`/`completion`
  (or `input`/`output`; causal: `instruction`/`context`/`response`, Alpaca-style prompt);
- chat (`chat_dataset`): records `{"messages": [{"role", "content"}, ...]}`;
- domain adaptation (causal): exactly one `.txt` file, or JSON Lines with a `text` field.
A channel is a local path, a `file://` URI or any fsspec URL (`s3://bucket/train/`): a
remote one's data files (and its `template.json`) are downloaded into a temporary folder
for the read (`local_channel`; credentials and endpoint are the backend's standard
settings, see `artifacts.storage`). A bad record is an error naming the file, the line and
the field; a bad channel names the parameter it came from (`train`, `validation`).
Tokenizing and batching are the trainer's job.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from springboard.artifacts import storage
from springboard.errors import Issue, ValidationError
from springboard.jsonlines import read_objects
from springboard.prompting.template import fill_pattern, placeholder_problems

TEMPLATE_FILE = "template.json"
DATA_SUFFIXES = (".jsonl", ".json", ".txt")
ALPACA_PROMPT = (
    "Below is an instruction that describes a task{context_clause}. Write a response "
    "that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
    "{context_block}### Response:\n"
)


@dataclass(frozen=True)
class Example:
    """One training example: the model sees `prompt`, learns `completion`."""

    prompt: str
    completion: str


@dataclass(frozen=True)
class Template:
    """`template.json`: how a record's fields become a prompt and a completion."""

    prompt: str
    completion: str

    @classmethod
    def load(cls, path: Path) -> Template:
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValidationError([Issue(str(path), f"is not valid JSON: {exc}")]) from None
        if not isinstance(data, dict):
            raise ValidationError(
                [
                    Issue(
                        path.name,
                        "is not a JSON object",
                        data,
                        'write {"prompt": "...{field}...", "completion": "{field}"}',
                    )
                ]
            )
        issues = [
            Issue(f"{path.name}:{key}", "is required (a string with {field} placeholders)")
            for key in ("prompt", "completion")
            if not isinstance(data.get(key), str)
        ]
        issues += [
            issue
            for key in ("prompt", "completion")
            if isinstance(data.get(key), str)
            for issue in placeholder_problems(f"{path.name}:{key}", data[key])
        ]
        extra = sorted(set(data) - {"prompt", "completion"})
        issues += [
            Issue(f"{path.name}:{key}", "unknown key", key, "allowed: prompt, completion")
            for key in extra
        ]
        if issues:
            raise ValidationError(issues, context=f"invalid template {path}")
        return cls(prompt=data["prompt"], completion=data["completion"])

    def fields(self) -> set[str]:
        return {
            name for text in (self.prompt, self.completion) for name in fill_pattern(text, {})[1]
        }

    def apply(self, record: dict[str, Any], where: str) -> Example:
        missing = sorted(self.fields() - set(record))
        if missing:
            raise ValidationError(
                [
                    Issue(
                        missing[0],
                        f"{where}: the template needs field(s) {', '.join(missing)}",
                        None,
                        f"the record has: {', '.join(sorted(record)) or 'no fields'}",
                    )
                ]
            )
        values = {k: "" if v is None else str(v) for k, v in record.items()}
        prompt, _ = fill_pattern(self.prompt, values)
        completion, _ = fill_pattern(self.completion, values)
        return Example(prompt, completion)


@contextmanager
def local_channel(location: str | Path, *, field: str = "train") -> Iterator[Path]:
    """A local path for a channel: a local one as it is; a remote one's data files and
    `template.json` (beside a file channel: in its folder) downloaded into a temporary
    folder that lives as long as the `with` block."""
    uri = str(location)
    if not storage.is_remote(uri):
        yield storage.local_path(uri)
        return
    with tempfile.TemporaryDirectory(prefix="springboard-data-") as tmp:
        root = Path(tmp)
        files = storage.list_files(
            uri, field, suffixes=DATA_SUFFIXES, skip=frozenset({TEMPLATE_FILE})
        )
        single = len(files) == 1 and files[0] == uri
        folder = uri.rstrip("/").rsplit("/", 1)[0] if single else uri
        template = storage.join(folder, TEMPLATE_FILE)
        if template not in files and storage.exists(template, field):
            files.append(template)
        for file in files:
            storage.download(file, root / storage.basename(file), field)
        yield root / storage.basename(uri) if single else root


def data_files(path: str | Path, *, field: str = "train") -> list[Path]:
    """The data files of a local channel: the file itself, or a directory's data files."""
    location = Path(path).expanduser()
    if location.is_file():
        return [location]
    if not location.is_dir():
        raise ValidationError([Issue(field, f"{location} does not exist", str(path))])
    files = sorted(
        p
        for p in location.iterdir()
        if p.is_file() and p.suffix in DATA_SUFFIXES and p.name != TEMPLATE_FILE
    )
    if not files:
        raise ValidationError(
            [
                Issue(
                    field, f"{location} holds no data files ({', '.join(DATA_SUFFIXES)})", str(path)
                )
            ]
        )
    return files


def read_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`file:line`, record) for each JSON object line of `path`; the first bad line is an error."""
    records, issues = read_objects(path)
    if issues:
        raise ValidationError(issues[:1])
    yield from records


def _pair(record: dict[str, Any], where: str, pairs: tuple[tuple[str, str], ...]) -> Example:
    for prompt_key, completion_key in pairs:
        if prompt_key in record and completion_key in record:
            return Example(str(record[prompt_key]), str(record[completion_key]))
    wanted = " or ".join(f"{p}/{c}" for p, c in pairs)
    raise ValidationError(
        [
            Issue(
                where,
                f"needs fields {wanted}",
                None,
                f"it has: {', '.join(sorted(record))}; or add a {TEMPLATE_FILE} naming its fields",
            )
        ]
    )


def alpaca(record: dict[str, Any], where: str) -> Example:
    """The Alpaca-style prompt for instruction / context / response records."""
    for key in ("instruction", "response"):
        if key not in record:
            raise ValidationError(
                [
                    Issue(
                        key,
                        f"{where}: instruction tuning needs `{key}`",
                        None,
                        f"the record has: {', '.join(sorted(record))}",
                    )
                ]
            )
    context = str(record.get("context") or "")
    prompt = ALPACA_PROMPT.format(
        instruction=record["instruction"],
        context_clause=", paired with an input that provides further context" if context else "",
        context_block=f"### Input:\n{context}\n\n" if context else "",
    )
    return Example(prompt, str(record["response"]))


def chat(record: dict[str, Any], where: str) -> Example:
    """A chat record: earlier turns are the prompt, the final assistant turn the target."""
    messages = record.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages)
    ):
        raise ValidationError(
            [
                Issue(
                    "messages",
                    f"{where}: a chat record needs `messages`, a list of {{role, content}} objects",
                    messages,
                )
            ]
        )
    if messages[-1]["role"] != "assistant":
        raise ValidationError(
            [
                Issue(
                    "messages",
                    f"{where}: the last message must be the "
                    f"assistant's (the target); got {messages[-1]['role']!r}",
                )
            ]
        )
    prompt = "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages[:-1])
    return Example(prompt + "<|assistant|>\n", str(messages[-1]["content"]))


def find_template(*locations: str | Path | None) -> Template | None:
    """The first `template.json` beside the given channels (a channel that is a file looks
    in its folder); validation data without its own template uses the training channel's,
    as managed hubs do."""
    for location in locations:
        if location is None:
            continue
        folder = Path(location) if Path(location).is_dir() else Path(location).parent
        if (folder / TEMPLATE_FILE).is_file():
            return Template.load(folder / TEMPLATE_FILE)
    return None


def load_instruction(
    path: str | Path,
    *,
    causal: bool = False,
    chat_dataset: bool = False,
    field: str = "train",
    template_from: str | Path | None = None,
) -> list[Example]:
    """Instruction-tuning (or chat) examples from JSON Lines (+ an optional template.json,
    looked up in `path`, then in `template_from`); either may be remote."""
    with ExitStack() as stack:
        local = stack.enter_context(local_channel(path, field=field))
        other = (
            None
            if template_from is None
            else stack.enter_context(local_channel(template_from, field="train"))
        )
        files = data_files(local, field=field)
        template = find_template(local, other)
        examples = []
        for file in files:
            for where, record in read_records(file):
                if chat_dataset:
                    examples.append(chat(record, where))
                elif template is not None:
                    examples.append(template.apply(record, where))
                elif causal and "instruction" in record:
                    examples.append(alpaca(record, where))
                else:
                    examples.append(
                        _pair(record, where, (("prompt", "completion"), ("input", "output")))
                    )
    return examples


def load_domain_text(path: str | Path, *, field: str = "train") -> list[str]:
    """Raw text for domain adaptation: exactly one `.txt` file or JSON Lines with `text`."""
    with local_channel(path, field=field) as local:
        files = data_files(local, field=field)
        if len(files) != 1:
            raise ValidationError(
                [
                    Issue(
                        field,
                        f"domain adaptation reads exactly one file; "
                        f"{path} holds {len(files)}: "
                        f"{', '.join(f.name for f in files)}",
                        str(path),
                        "keep one .txt or .jsonl file in the directory",
                    )
                ]
            )
        file = files[0]
        if file.suffix == ".txt":
            return [file.read_text()]
        texts = []
        for where, record in read_records(file):
            if "text" not in record:
                raise ValidationError(
                    [
                        Issue(
                            "text",
                            f"{where}: domain adaptation needs `text`",
                            None,
                            f"the record has: {', '.join(sorted(record))}",
                        )
                    ]
                )
            texts.append(str(record["text"]))
    return texts


def held_out(n: int, ratio: float) -> int:
    """How many of `n` items `split` holds out: at least one, and one fewer than all."""
    if n < 2 or ratio <= 0:
        return 0
    return min(max(1, round(n * ratio)), n - 1)


def split(items: list[Any], ratio: float, seed: int) -> tuple[list[Any], list[Any]]:
    """A seeded train/validation split; at least one item on each side when possible."""
    if not items or ratio <= 0:
        return list(items), []
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    val = set(order[: held_out(len(items), ratio)])
    return (
        [x for i, x in enumerate(items) if i not in val],
        [x for i, x in enumerate(items) if i in val],
    )
