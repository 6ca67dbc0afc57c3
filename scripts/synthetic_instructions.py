"""Seeded generators of the instruction tasks the bundled text2text model is trained on.

Four tasks, each a prompt prefix and a target the prompt determines (our own text):

- `summarize:` a short news item of 3-5 sentences → its one event sentence (the others
  are background of a different kind, so the key sentence is recognisable);
- `describe:` a record of `key: value` pairs → one sentence saying them (data-to-text);
- `rewrite in the past tense:` a present-tense sentence → the same in the past tense;
- `question: ... context: ...` → the span of the context that answers (extractive QA).

Question generation (`Ask a question about: {context}` → the question) is deliberately
NOT among them: it is the task the fine-tuning journey teaches. `key(prompt)` names an
example so held-out sets can be kept out of training. Training and measuring live in
`train_tiny_t5.py` and `measure_bundled_models.py`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from synthetic import (ANIMALS, COLORS, DAYS, EVENTS, MONTHS, NAMES, OBJECTS, SHOPS, TOWNS,
                       VEHICLES)

JOBS = ["baker", "teacher", "nurse", "farmer", "painter", "carpenter", "doctor", "driver",
        "gardener", "librarian"]
FOODS = ["soup", "bread", "pie", "rice", "salad", "cheese", "apples", "fish"]

# -- summarize -------------------------------------------------------------------------------

def _event(rng: random.Random) -> str:
    town, name, day = rng.choice(TOWNS), rng.choice(NAMES), rng.choice(DAYS)
    return rng.choice([
        f"The council of {town} voted to close the old bridge on {day}.",
        f"The {rng.choice(SHOPS)} in {town} closed after {rng.randint(3, 90)} years.",
        f"{name} won the {rng.choice(EVENTS)} in {town} on {day}.",
        f"A storm cut power to {rng.randint(20, 900)} homes in {town} on {day}.",
        f"The river flooded the main square of {town} after {rng.randint(2, 9)} days of rain.",
        f"{town} opened a new {rng.choice(SHOPS)} on {day}.",
        f"{name} was elected mayor of {town} on {day}.",
        f"Fire destroyed a {rng.choice(OBJECTS)} factory in {town} on {day}.",
    ])


def _background(rng: random.Random, k: int) -> list[str]:
    """k different background sentences."""
    name, town = rng.choice(NAMES), rng.choice(TOWNS)
    pool = [
        "The decision followed a long debate.",
        "Residents were told by letter.",
        f"{name}, a local {rng.choice(JOBS)}, said it was overdue.",
        "Nobody was hurt.",
        f"Many people from {town} came to watch.",
        "Repairs are expected to take several weeks.",
        "The weather had been poor all month.",
        f"It was the first time since {rng.randint(1950, 2019)}.",
        "Police asked drivers to take care.",
        f"{name} thanked the volunteers.",
    ]
    return rng.sample(pool, k)


def summarize_fields(rng: random.Random) -> dict[str, str]:
    event = _event(rng)
    sentences = _background(rng, rng.randint(2, 4))
    sentences.insert(rng.randint(0, len(sentences)), event)
    return {"article": " ".join(sentences), "summary": event}


def summarize(rng: random.Random) -> tuple[str, str]:
    return prefix_prompt("summarize", summarize_fields(rng))


# -- data to text -----------------------------------------------------------------------------

def describe_fields(rng: random.Random) -> dict[str, str]:
    name, job, town, age = rng.choice(NAMES), rng.choice(JOBS), rng.choice(TOWNS), rng.randint(19, 80)
    food = rng.choice(FOODS)
    fields = [("name", name), ("job", job), ("town", town), ("age", str(age))]
    target = f"{name} is a {age}-year-old {job} from {town}."
    if rng.random() < 0.5:
        fields.append(("likes", food))
        target = f"{name} is a {age}-year-old {job} from {town} who likes {food}."
    head, rest = fields[0], fields[1:]
    rng.shuffle(rest)
    return {"data": " | ".join(f"{k}: {v}" for k, v in [head, *rest]), "text": target}


def describe(rng: random.Random) -> tuple[str, str]:
    return prefix_prompt("data-to-text", describe_fields(rng))


# -- past tense --------------------------------------------------------------------------------

VERBS = [("walks", "walked"), ("buys", "bought"), ("paints", "painted"), ("sees", "saw"),
         ("takes", "took"), ("opens", "opened"), ("finds", "found"), ("visits", "visited"),
         ("cleans", "cleaned"), ("sells", "sold"), ("makes", "made"), ("carries", "carried")]


def past_tense_fields(rng: random.Random) -> dict[str, str]:
    name, (now, then) = rng.choice(NAMES), rng.choice(VERBS)
    thing = rng.choice([f"the {rng.choice(OBJECTS)}", f"the {rng.choice(COLORS)} {rng.choice(OBJECTS)}",
                        f"the {rng.choice(SHOPS)}", f"{rng.randint(2, 9)} {rng.choice(ANIMALS)}"])
    tail = rng.choice(["", f" in {rng.choice(TOWNS)}", f" on {rng.choice(DAYS)}"])
    return {"source_language": "Present tense", "target_language": "Past tense",
            "source": f"{name} {now} {thing}{tail}.", "target": f"{name} {then} {thing}{tail}."}


def past_tense(rng: random.Random) -> tuple[str, str]:
    return prefix_prompt("past-tense", past_tense_fields(rng))


# -- extractive QA -----------------------------------------------------------------------------

def _fact(rng: random.Random) -> tuple[str, str, str]:
    """(sentence, question, answer span)."""
    name, town = rng.choice(NAMES), rng.choice(TOWNS)
    kind = rng.randrange(5)
    if kind == 0:
        n, animal = rng.randint(2, 40), rng.choice(ANIMALS)
        return (f"{name} keeps {n} {animal} on a farm near {town}.",
                f"How many {animal} does {name} keep?", str(n))
    if kind == 1:
        shop, hour = rng.choice(SHOPS), rng.randint(6, 11)
        return (f"The {shop} in {town} opens at {hour} o'clock.",
                f"When does the {shop} in {town} open?", f"{hour} o'clock")
    if kind == 2:
        vehicle = rng.choice(VEHICLES)
        return (f"{name} travelled to {town} by {vehicle} last {rng.choice(DAYS)}.",
                f"How did {name} travel to {town}?", f"by {vehicle}")
    if kind == 3:
        thing, color = rng.choice(OBJECTS), rng.choice(COLORS)
        return (f"{name} painted the {thing} {color}.", f"What color did {name} paint the {thing}?", color)
    event, month = rng.choice(EVENTS), rng.choice(MONTHS)
    return (f"The {event} in {town} was held in {month}.", f"When was the {event} in {town} held?", month)


def extractive_qa_fields(rng: random.Random) -> dict[str, str]:
    facts = [_fact(rng) for _ in range(rng.randint(1, 3))]
    sentence, question, answer = rng.choice(facts)
    return {"context": " ".join(f[0] for f in facts), "question": question, "answer": answer}


def extractive_qa(rng: random.Random) -> tuple[str, str]:
    return prefix_prompt("extractive-qa", extractive_qa_fields(rng))


# -- one task's record as fields, as a prefix prompt, or through a built-in template --------

FIELDS: dict[str, Callable[[random.Random], dict[str, str]]] = {
    "summarize": summarize_fields, "data-to-text": describe_fields,
    "past-tense": past_tense_fields, "extractive-qa": extractive_qa_fields,
}
# The built-in prompt template (springboard.prompting) each task is also trained through.
TEMPLATES = {"summarize": "summarization", "data-to-text": "data-to-text",
             "past-tense": "translation", "extractive-qa": "extractive-qa"}
_PREFIX = {
    "summarize": lambda f: ("summarize: " + f["article"], f["summary"]),
    "data-to-text": lambda f: ("describe: " + f["data"], f["text"]),
    "past-tense": lambda f: ("rewrite in the past tense: " + f["source"], f["target"]),
    "extractive-qa": lambda f: (f"question: {f['question']} context: {f['context']}", f["answer"]),
}


def prefix_prompt(task: str, fields: dict[str, str]) -> tuple[str, str]:
    """(prompt, target) in the task's instruction-prefix form ("summarize: ...")."""
    return _PREFIX[task](fields)


def example_fields(rng: random.Random) -> tuple[str, dict[str, str]]:
    """(task, fields) of a task drawn uniformly."""
    task = rng.choice(sorted(FIELDS))
    return task, FIELDS[task](rng)


TASKS: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "summarize": summarize, "data-to-text": describe, "past-tense": past_tense,
    "extractive-qa": extractive_qa,
}


def example(rng: random.Random) -> tuple[str, str, str]:
    """(task, prompt, target) of a task drawn uniformly."""
    task, fields = example_fields(rng)
    prompt, target = prefix_prompt(task, fields)
    return task, prompt, target


def key(prompt: str) -> str:
    return hashlib.sha1(prompt.encode()).hexdigest()[:16]
