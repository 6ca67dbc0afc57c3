"""Seeded generators of the sample tasks the repo ships (our own text, no public dataset).

Each generator returns records for one task from a `random.Random`, so a seed gives the
same data on every machine. `python scripts/synthetic.py` (re)writes the files under
`examples/`; they are committed, and a test checks they match what the generators make.

Tasks so far:
- question generation: a short context about one fact (plus a sentence of colour) and the
  question that asks for that fact — the fine-tuning journey's task;
- harbour log: raw text in one domain's fixed style, for domain adaptation of a causal model;
- arithmetic word problems (two or three steps, integer answers) with worked rationales, and
  the same as five-way multiple choice — the self-consistency journey's tasks.

This module only makes data; training and evaluation live in the package.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling generator modules

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


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_question_generation(root: Path = ROOT / "examples" / "question-generation") -> None:
    """train/ (400 records + template.json), validation.jsonl (40), test.jsonl (40, held
    out), prompts.jsonl (6 held-out prompts for `springboard compare`) and fine-tune.jsonl
    (train/ through its template: the prompt/completion lines OpenAI's fine-tuning API takes)."""
    rng = random.Random(6)
    records = question_generation(rng, 480)
    _write_jsonl(root / "train" / "train.jsonl", records[:400])
    (root / "train" / "template.json").write_text(json.dumps(
        {"prompt": "Ask a question about: {context}", "completion": "{question}"}, indent=2) + "\n")
    _write_jsonl(root / "validation.jsonl", records[400:440])
    _write_jsonl(root / "test.jsonl", records[440:])
    _write_jsonl(root / "prompts.jsonl", [{"id": i, "text_inputs": f"Ask a question about: {r['context']}"}
                                          for i, r in enumerate(records[440:446])])
    _write_jsonl(root / "fine-tune.jsonl", [{"prompt": f"Ask a question about: {r['context']}",
                                            "completion": r["question"]} for r in records[:400]])


def write_harbour_log(root: Path = ROOT / "examples" / "domain-adaptation") -> None:
    """train/harbour.txt (600 entries) and heldout.txt (60 entries)."""
    lines = harbour_log(random.Random(7), 660)
    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "train" / "harbour.txt").write_text("\n".join(lines[:600]) + "\n")
    (root / "heldout.txt").write_text("\n".join(lines[600:]) + "\n")


# Arithmetic word problems: each template returns (question, rationale, answer); the
# rationale shows every step, as chain-of-thought exemplars do.
Problem = tuple[str, str, int]
GOODS = ["notebooks", "pencils", "candles", "mugs", "kites", "maps"]
ITEMS = ["lamp", "jacket", "tent", "radio", "backpack", "chess set"]
CONTAINERS = [("boxes", "pens"), ("bags", "apples"), ("crates", "bottles"),
              ("packs", "cards"), ("jars", "buttons"), ("trays", "eggs")]
BAKES = ["biscuits", "muffins", "pancakes", "dumplings"]


def _shopping(rng: random.Random) -> Problem:
    name, goods = rng.choice(NAMES), rng.choice(GOODS)
    count, price = rng.randint(2, 9), rng.randint(2, 12)
    cost = count * price
    note = next(n for n in (20, 50, 100, 200) if n > cost)
    question = (f"{name} buys {count} {goods} at ${price} each and pays with a ${note} note. "
                f"How many dollars of change does {name} get?")
    rationale = (f"{count} {goods} at ${price} each cost {count} * {price} = {cost} dollars. "
                 f"The change from {note} dollars is {note} - {cost} = {note - cost} dollars.")
    return question, rationale, note - cost


def _giving(rng: random.Random) -> Problem:
    name, (containers, things) = rng.choice(NAMES), rng.choice(CONTAINERS)
    boxes, each = rng.randint(2, 8), rng.randint(6, 15)
    total = boxes * each
    given = rng.randint(1, total - 1)
    question = (f"{name} has {boxes} {containers} of {each} {things}. {name} gives away {given} "
                f"{things}. How many {things} does {name} have left?")
    rationale = (f"{name} has {boxes} {containers} of {each} {things}, so {boxes} * {each} = {total} "
                 f"{things}. After giving away {given}, {total} - {given} = {total - given} are left.")
    return question, rationale, total - given


def _sharing(rng: random.Random) -> Problem:
    name, baked = rng.choice(NAMES), rng.choice(BAKES)
    friends, per_tray, trays = rng.randint(2, 6), rng.randint(2, 5), rng.randint(2, 4)
    size = friends * per_tray
    total = trays * size
    question = (f"{name} bakes {trays} trays of {size} {baked} and shares them equally among "
                f"{friends} friends. How many {baked} does each friend get?")
    rationale = (f"{trays} trays of {size} {baked} make {trays} * {size} = {total} {baked}. Shared "
                 f"among {friends} friends, each gets {total} / {friends} = {total // friends}.")
    return question, rationale, total // friends


def _travel(rng: random.Random) -> Problem:
    vehicle, town = rng.choice(["train", "bus", "ferry", "car"]), rng.choice(TOWNS)
    speed, hours, extra = rng.choice([30, 40, 45, 50, 60, 70, 80]), rng.randint(2, 5), rng.randint(5, 60)
    first = speed * hours
    question = (f"A {vehicle} travels at {speed} km per hour for {hours} hours and then {extra} km "
                f"more to reach {town}. How many km does it travel in total?")
    rationale = (f"At {speed} km per hour for {hours} hours it covers {speed} * {hours} = {first} km. "
                 f"With {extra} km more, the total is {first} + {extra} = {first + extra} km.")
    return question, rationale, first + extra


def _savings(rng: random.Random) -> Problem:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    weekly, weeks = rng.randint(3, 25), rng.randint(3, 12)
    saved = weekly * weeks
    spent = rng.randint(1, saved - 1)
    question = (f"{name} saves ${weekly} every week for {weeks} weeks and then spends ${spent} on a "
                f"{item}. How many dollars does {name} have left?")
    rationale = (f"Saving {weekly} dollars for {weeks} weeks gives {weekly} * {weeks} = {saved} "
                 f"dollars. After spending {spent}, {saved} - {spent} = {saved - spent} dollars are left.")
    return question, rationale, saved - spent


def _herd(rng: random.Random) -> Problem:
    name, animal = rng.choice(NAMES), rng.choice(ANIMALS)
    start = rng.randint(4, 40)
    bought = rng.randint(2, 30)
    bought += (start + bought) % 2  # an even herd, so half of it is whole
    total = start + bought
    question = (f"{name} has {start} {animal}, buys {bought} more at the market and then sells half "
                f"of them. How many {animal} does {name} have now?")
    rationale = (f"{name} has {start} + {bought} = {total} {animal} after the market. Selling half "
                 f"leaves {total} / 2 = {total // 2}.")
    return question, rationale, total // 2


def _tickets(rng: random.Random) -> Problem:
    event, town = rng.choice(EVENTS), rng.choice(TOWNS)
    adult, child = rng.randint(6, 20), rng.randint(2, 5)
    adults, children = rng.randint(1, 5), rng.randint(1, 6)
    a, c = adults * adult, children * child
    question = (f"Tickets to the {event} in {town} cost ${adult} for an adult and ${child} for a "
                f"child. How many dollars does a group of {adults} adults and {children} children "
                f"pay?")
    rationale = (f"The adults pay {adults} * {adult} = {a} dollars and the children pay {children} * "
                 f"{child} = {c} dollars, so the group pays {a} + {c} = {a + c} dollars.")
    return question, rationale, a + c


def _reading(rng: random.Random) -> Problem:
    name = rng.choice(NAMES)
    daily, days, last = rng.randint(8, 30), rng.randint(3, 7), rng.randint(5, 20)
    read = daily * days + last
    book = read + rng.randint(10, 120)
    question = (f"A book has {book} pages. {name} reads {daily} pages a day for {days} days and "
                f"then {last} pages on a Sunday. How many pages are left to read?")
    rationale = (f"In {days} days {name} reads {daily} * {days} = {daily * days} pages, and with "
                 f"Sunday {daily * days} + {last} = {read} pages. That leaves {book} - {read} = "
                 f"{book - read} pages.")
    return question, rationale, book - read


PROBLEMS: list[Callable[[random.Random], Problem]] = [
    _shopping, _giving, _sharing, _travel, _savings, _herd, _tickets, _reading]


def _distinct(rng: random.Random, n: int, avoid: set[str], *, cycle: bool) -> list[Problem]:
    """n problems whose questions differ from each other and from `avoid` (the exemplars)."""
    problems: list[Problem] = []
    while len(problems) < n:
        template = PROBLEMS[len(problems) % len(PROBLEMS)] if cycle else rng.choice(PROBLEMS)
        problem = template(rng)
        if problem[0] not in avoid:
            avoid.add(problem[0])
            problems.append(problem)
    return problems


def _choices(rng: random.Random, answer: int) -> tuple[dict[str, str], str]:
    """Five numeric choices (the answer and four near misses, shuffled) and the answer's letter."""
    wrong = rng.sample([answer + d for d in range(-12, 13) if d and answer + d > 0], 4)
    values = [answer, *wrong]
    rng.shuffle(values)
    letters = "ABCDE"
    return ({letter: str(v) for letter, v in zip(letters, values, strict=True)},
            letters[values.index(answer)])


def write_self_consistency(root: Path = ROOT / "examples" / "self-consistency") -> None:
    """arithmetic/: from `synthetic_arithmetic` (seed 80) -- exemplars.jsonl (2 short worked
    examples: the bundled model is trained on prompts of up to two), questions.jsonl (100 held out, what the demo and tests use) and
    heldout-300.jsonl (300 more held out, for measuring the bundled model); none of these
    questions is ever trained on. multiple-choice/: questions.jsonl (the first 40 held-out
    problems, five choices each) and exemplars.jsonl (the 2 exemplars, without choices)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import synthetic_arithmetic as sa

    arng, akeys = random.Random(80), set()
    a_exemplars = [p for n_ops in (2, 3) for p in sa.distinct_problems(arng, 1, akeys, n_ops)]
    a_questions = sa.distinct_problems(arng, 100, akeys)
    a_heldout = sa.distinct_problems(arng, 300, akeys)
    _write_jsonl(root / "arithmetic" / "exemplars.jsonl",
                 [{"question": p["question"], "rationale": p["rationale"], "answer": p["answer"]}
                  for p in a_exemplars])
    _write_jsonl(root / "arithmetic" / "questions.jsonl",
                 [{"id": i, "question": p["question"], "answer": p["answer"]}
                  for i, p in enumerate(a_questions)])
    _write_jsonl(root / "arithmetic" / "heldout-300.jsonl",
                 [{"id": i, "question": p["question"], "answer": p["answer"]}
                  for i, p in enumerate(a_heldout)])
    # multiple-choice/: the first held-out problems with five choices, in the cloze form the
    # bundled model can answer (`synthetic_multiple_choice`)
    import synthetic_multiple_choice as smc

    mc_exemplars, mc_questions = smc.sample(a_exemplars, a_heldout)
    _write_jsonl(root / "multiple-choice" / "exemplars.jsonl", mc_exemplars)
    _write_jsonl(root / "multiple-choice" / "questions.jsonl", mc_questions)


def write_invocation_records(root: Path = ROOT / "examples" / "invocation") -> None:
    """records.jsonl: 24 Bedrock-style records for the invocation-job quick start, for the
    bundled causal model (trained on arithmetic word problems): 20 held-out questions
    (`self-consistency/arithmetic/questions.jsonl`, written first) in the completion shape,
    one worked example before each, two sampled generations (seeded) that stop at the
    blank line; 2 in the model's own text-generation shape (greedy), 1 without a recordId,
    and 1 with a misspelt field (it gets an error line; its siblings still run)."""
    arithmetic = ROOT / "examples" / "self-consistency" / "arithmetic"
    shot = json.loads((arithmetic / "exemplars.jsonl").read_text().splitlines()[0])
    head = f"Q: {shot['question']}\nA: {shot['rationale']} The answer is {shot['answer']}.\n\n"
    questions = [json.loads(line)["question"]
                 for line in (arithmetic / "questions.jsonl").read_text().splitlines()]
    records: list[dict[str, Any]] = []
    for i, question in enumerate(questions[:20]):
        records.append({"recordId": f"rec-{i:02d}", "modelInput": {
            "prompt": f"{head}Q: {question}\nA:", "temperature": 0.7, "max_tokens": 48,
            "num_generations": 2, "stop_sequences": ["\n\n"], "seed": i}})
    records += [{"recordId": f"native-{i}", "modelInput": {
        "inputs": f"{head}Q: {question}\nA:",
        "parameters": {"max_new_tokens": 48, "stop": ["\n\n"], "return_full_text": False}}}
        for i, question in enumerate(questions[20:22])]
    records.append({"modelInput": {"prompt": f"{head}Q: {questions[22]}\nA:", "temperature": 0,
                                   "max_tokens": 48, "stop_sequences": ["\n\n"]}})
    records.append({"recordId": "typo", "modelInput": {"prompt": f"Q: {questions[23]}\nA:",
                                                       "temprature": 0.5}})
    _write_jsonl(root / "records.jsonl", records)


def write_instructions(root: Path = ROOT / "examples") -> None:
    """The bundled text2text model's held-out sets (never trained on):
    instructions/heldout.jsonl (50 per task: {"task", "prompt", "target"}) and the
    transform quick start's summarize/articles.jsonl + summaries.jsonl (20 news items)."""
    import synthetic_instructions as tasks

    rng = random.Random(10)
    held = [{"task": name, "prompt": prompt, "target": target}
            for name in sorted(tasks.TASKS) for prompt, target in
            (tasks.TASKS[name](rng) for _ in range(50))]
    _write_jsonl(root / "instructions" / "heldout.jsonl", held)
    rng = random.Random(11)
    items = [tasks.summarize(rng) for _ in range(20)]
    _write_jsonl(root / "summarize" / "articles.jsonl",
                 [{"id": f"news-{i:02d}", "text_inputs": prompt} for i, (prompt, _) in enumerate(items, 1)])
    _write_jsonl(root / "summarize" / "summaries.jsonl",
                 [{"id": f"news-{i:02d}", "summary": target} for i, (_, target) in enumerate(items, 1)])


def write_in_context(root: Path = ROOT / "examples" / "in-context") -> None:
    """One folder per built-in prompt template the bundled text2text model was trained
    through (summarization, data-to-text, translation, extractive-qa): examples.jsonl (2
    worked examples, ids ex-1, ex-2) and records.jsonl (20 held-out records of fields, ids
    1-20, with the expected output in the template's target field)."""
    import synthetic_instructions as tasks

    rng = random.Random(12)
    for task in sorted(tasks.FIELDS):
        folder = root / tasks.TEMPLATES[task]
        _write_jsonl(folder / "examples.jsonl",
                     [{"id": f"ex-{i}", **tasks.FIELDS[task](rng)} for i in (1, 2)])
        _write_jsonl(folder / "records.jsonl",
                     [{"id": i, **tasks.FIELDS[task](rng)} for i in range(1, 21)])


WRITERS = [write_question_generation, write_harbour_log, write_self_consistency,
           write_invocation_records, write_instructions, write_in_context]

if __name__ == "__main__":
    for write in WRITERS:
        write()
