"""Seeded generators of the sample tasks the repo ships (our own text, no public dataset).

Each generator returns records for one task from a `random.Random`, so a seed gives the
same data on every machine. `python scripts/synthetic.py` (re)writes the files under
`examples/`; they are committed, and a test checks they match what the generators make.

Tasks so far:
- question generation: a short context about one fact (plus a sentence of colour) and the
  question that asks for that fact — the fine-tuning journey's task;
- harbour log: raw text in one domain's fixed style, for domain adaptation of a causal model.

This module only makes data; training and evaluation live in the package.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NAMES = ["Ada", "Bruno", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kira", "Luca", "Mila", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tara", "Umar",
         "Vera", "Wim", "Yara", "Zeno"]
TOWNS = ["Arlen", "Brisk", "Corvo", "Dunmere", "Elmwick", "Fenhold", "Galloway", "Harrow",
         "Ivel", "Juniper", "Kestrel", "Lowmoor", "Marden", "Northby", "Oakridge", "Pellham"]
ANIMALS = ["goats", "sheep", "hens", "ducks", "horses", "rabbits", "pigs", "cows"]  # plural
SHOPS = ["bakery", "library", "pharmacy", "market", "museum", "bookshop", "post office", "cafe"]
VEHICLES = ["train", "bus", "bicycle", "ferry", "car", "tram"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
OBJECTS = ["fence", "door", "boat", "kitchen", "bench", "gate", "shed", "bicycle"]
COLORS = ["red", "blue", "green", "yellow", "white", "orange", "grey", "purple"]
EVENTS = ["fair", "concert", "race", "festival", "market day", "parade"]
MONTHS = ["January", "March", "April", "May", "June", "August", "October", "December"]
COLOUR = ["The weather was mild that week.", "Most of the neighbours knew about it.",
          "It was a quiet time of the year.", "Nobody was surprised.",
          "The local paper mentioned it briefly.", "It had rained the night before."]


def _farm(rng: random.Random) -> tuple[str, str]:
    name, n, animal, town = rng.choice(NAMES), rng.randint(2, 40), rng.choice(ANIMALS), rng.choice(TOWNS)
    return (f"{name} keeps {n} {animal} on a farm near {town}.",
            f"How many {animal} does {name} keep?")


def _shop(rng: random.Random) -> tuple[str, str]:
    shop, town, hour = rng.choice(SHOPS), rng.choice(TOWNS), rng.randint(6, 11)
    return (f"The {shop} in {town} opens at {hour} o'clock.", f"When does the {shop} in {town} open?")


def _trip(rng: random.Random) -> tuple[str, str]:
    name, town, vehicle, day = rng.choice(NAMES), rng.choice(TOWNS), rng.choice(VEHICLES), rng.choice(DAYS)
    return (f"{name} travelled to {town} by {vehicle} last {day}.",
            f"How did {name} travel to {town}?")


def _paint(rng: random.Random) -> tuple[str, str]:
    name, thing, color = rng.choice(NAMES), rng.choice(OBJECTS), rng.choice(COLORS)
    return (f"{name} painted the {thing} {color}.", f"What color did {name} paint the {thing}?")


def _event(rng: random.Random) -> tuple[str, str]:
    event, town, month = rng.choice(EVENTS), rng.choice(TOWNS), rng.choice(MONTHS)
    return (f"The {event} in {town} was held in {month}.", f"When was the {event} in {town} held?")


FACTS: list[Callable[[random.Random], tuple[str, str]]] = [_farm, _shop, _trip, _paint, _event]


def question_generation(rng: random.Random, n: int) -> list[dict[str, str]]:
    """Records {"context", "question"}: the question asks for the context's one fact."""
    records = []
    for _ in range(n):
        fact, question = rng.choice(FACTS)(rng)
        context = f"{fact} {rng.choice(COLOUR)}" if rng.random() < 0.7 else fact
        records.append({"context": context, "question": question})
    return records


BOATS = ["Heron", "Marlin", "Gull", "Otter", "Pike", "Tern", "Seal", "Kite"]
CARGO = ["timber", "salt", "grain", "wool", "coal", "fish", "cloth", "iron"]


def harbour_log(rng: random.Random, n: int) -> list[str]:
    """Entries of a harbour master's log, one per line, in one fixed style."""
    lines = []
    for _ in range(n):
        boat, cargo, town = rng.choice(BOATS), rng.choice(CARGO), rng.choice(TOWNS)
        hour, tons, berth = rng.randint(5, 21), rng.randint(2, 90), rng.randint(1, 12)
        lines.append(rng.choice([
            f"At {hour:02d}:00 the {boat} came in from {town} with {tons} tons of {cargo} for berth {berth}.",
            f"At {hour:02d}:00 the {boat} left berth {berth} for {town} carrying {tons} tons of {cargo}.",
            f"At {hour:02d}:00 the {boat} waited outside the harbour; berth {berth} was full.",
        ]))
    return lines


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_question_generation(root: Path = ROOT / "examples" / "question-generation") -> None:
    """train/ (400 records + template.json), validation.jsonl (40), test.jsonl (40, held
    out) and prompts.jsonl (6 held-out prompts for `springboard compare`)."""
    rng = random.Random(6)
    records = question_generation(rng, 480)
    _write_jsonl(root / "train" / "train.jsonl", records[:400])
    (root / "train" / "template.json").write_text(json.dumps(
        {"prompt": "Ask a question about: {context}", "completion": "{question}"}, indent=2) + "\n")
    _write_jsonl(root / "validation.jsonl", records[400:440])
    _write_jsonl(root / "test.jsonl", records[440:])
    _write_jsonl(root / "prompts.jsonl", [{"id": i, "text_inputs": f"Ask a question about: {r['context']}"}
                                          for i, r in enumerate(records[440:446])])


def write_harbour_log(root: Path = ROOT / "examples" / "domain-adaptation") -> None:
    """train/harbour.txt (600 entries) and heldout.txt (60 entries)."""
    lines = harbour_log(random.Random(7), 660)
    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "train" / "harbour.txt").write_text("\n".join(lines[:600]) + "\n")
    (root / "heldout.txt").write_text("\n".join(lines[600:]) + "\n")


WRITERS = [write_question_generation, write_harbour_log]

if __name__ == "__main__":
    for write in WRITERS:
        write()
