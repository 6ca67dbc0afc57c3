"""Seeded arithmetic word problems with step-by-step rationales, for the bundled causal model.

A problem starts with one person holding a small number of things (2-30) and applies two to
four operations to it: a gain ("buys 17 more"), a loss ("gives 4 to Omar"), 1-20 each, or a
gain of boxes ("gets 3 boxes of 4 each", 2-4 boxes of 2-5, which takes a multiplication
first). Every running total stays in 0-60, so the numbers the model writes are at most two
digits, but sums and differences carry and borrow: slips a model makes at random, which a
majority vote over sampled paths can outvote.

The answer is worked out in short equations, "25 + 2 = 27. 27 - 5 = 22.", and the chain-of-
thought format adds "The answer is 22." (`springboard.prompting.few_shot_prompt`). The same
problem can be solved in several ways: the operations may be applied in any order whose running
totals stay within range, and, when there are two gains or more and a loss, the gains may be
summed first and the losses taken away after. `rationale_variants` lists every such path and
`problem` draws one of them at random, so a model trained on these problems learns several
reasoning paths to each answer -- which is what self-consistency (majority vote over sampled
paths) feeds on.

`key(question)` is a stable identifier of a question's text, used to keep held-out questions
(the example files under `examples/self-consistency/arithmetic/`) out of the training data.

All text here is our own; nothing is taken from a public dataset.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import Any

NAMES = ["Maya", "Omar", "Lena", "Noah", "Priya", "Tomas", "Aiko", "Felix", "Sara", "Jonah",
         "Ines", "Ravi", "Clara", "Mateo", "Hana", "Leo", "Zara", "Nora", "Kofi", "Elsa"]
ITEMS = ["apples", "pencils", "books", "marbles", "cookies", "stickers", "coins", "shells",
         "cups", "tickets", "oranges", "stamps", "crayons", "buttons", "cards", "plums"]
CONTAINERS = ["boxes", "bags", "jars", "packs", "trays", "baskets"]

LOW, HIGH = 0, 60          # every running total stays within [LOW, HIGH]
OPS_WEIGHTS = {2: 0.45, 3: 0.4, 4: 0.15}
START = (2, 30)            # the starting amount
AMOUNT = (1, 20)           # a gain or a loss
BOXES, PER_BOX = (2, 4), (2, 5)

GAIN_TEXT = ["{name} buys {a} more {item}.", "{name} finds {a} more {item}.",
             "{other} gives {name} {a} {item}.", "{name} gets {a} more {item}."]
LOSS_TEXT = ["{name} gives {a} {item} to {other}.", "{name} loses {a} {item}.",
             "{name} sells {a} {item}.", "{name} uses {a} {item}."]
BOX_TEXT = ["{name} buys {k} {box} of {m} {item} each.", "{name} gets {k} {box} with {m} {item} in each.",
            "{other} gives {name} {k} {box} of {m} {item}."]

# An operation is ("+", a), ("-", a) or ("*", k, m) -- the last adds k * m.
Op = tuple[Any, ...]


def key(question: str) -> str:
    """A stable identifier of a question: sha1 of its lower-cased, whitespace-normalised text."""
    return hashlib.sha1(" ".join(question.lower().split()).encode("utf-8")).hexdigest()


def _amount(op: Op) -> int:
    return op[1] * op[2] if op[0] == "*" else op[1]


def _delta(op: Op) -> int:
    return -op[1] if op[0] == "-" else _amount(op)


def _in_range(start: int, ops: list[Op]) -> bool:
    total = start
    for op in ops:
        total += _delta(op)
        if not LOW <= total <= HIGH:
            return False
    return True


def _steps(start: int, ops: list[Op]) -> str:
    """Apply the operations in order: '25 + 2 = 27. 3 * 4 = 12. 27 + 12 = 39.'"""
    out, total = [], start
    for op in ops:
        if op[0] == "*":
            product = op[1] * op[2]
            out.append(f"{op[1]} * {op[2]} = {product}.")
            out.append(f"{total} + {product} = {total + product}.")
            total += product
        elif op[0] == "+":
            out.append(f"{total} + {op[1]} = {total + op[1]}.")
            total += op[1]
        else:
            out.append(f"{total} - {op[1]} = {total - op[1]}.")
            total -= op[1]
    return " ".join(out)


def _sum_chain(ops: list[Op]) -> tuple[list[str], int]:
    """Sum the amounts of several operations: products first, then a running sum."""
    out, amounts = [], []
    for op in ops:
        if op[0] == "*":
            out.append(f"{op[1]} * {op[2]} = {op[1] * op[2]}.")
        amounts.append(_amount(op))
    total = amounts[0]
    for a in amounts[1:]:
        out.append(f"{total} + {a} = {total + a}.")
        total += a
    return out, total


def rationale_variants(start: int, ops: list[Op]) -> list[str]:
    """Every distinct valid reasoning path for a problem, in a fixed order.

    Paths: the operations in each order whose running totals stay in [LOW, HIGH]; plus, with
    two or more gains and at least one loss, "sum the gains, add them, then take the losses
    away" (losses summed first when there are several).
    """
    variants: list[str] = []
    for order in itertools.permutations(ops):
        if _in_range(start, list(order)):
            text = _steps(start, list(order))
            if text not in variants:
                variants.append(text)
    gains = [op for op in ops if op[0] != "-"]
    losses = [op for op in ops if op[0] == "-"]
    if len(gains) >= 2 and losses:
        out, g = _sum_chain(gains)
        total = start + g
        if total <= HIGH:
            out.append(f"{start} + {g} = {total}.")
            if len(losses) == 1:
                out.append(f"{total} - {losses[0][1]} = {total - losses[0][1]}.")
            else:
                chain, lsum = _sum_chain(losses)
                out += chain
                out.append(f"{total} - {lsum} = {total - lsum}.")
            text = " ".join(out)
            if text not in variants:
                variants.append(text)
    return variants


def _op(rng: random.Random) -> Op:
    kind = rng.random()
    if kind < 0.4:
        return ("+", rng.randint(*AMOUNT))
    if kind < 0.8:
        return ("-", rng.randint(*AMOUNT))
    return ("*", rng.randint(*BOXES), rng.randint(*PER_BOX))


def _sentence(op: Op, rng: random.Random, name: str, other: str, item: str) -> str:
    if op[0] == "+":
        return rng.choice(GAIN_TEXT).format(name=name, other=other, a=op[1], item=item)
    if op[0] == "-":
        return rng.choice(LOSS_TEXT).format(name=name, other=other, a=op[1], item=item)
    return rng.choice(BOX_TEXT).format(name=name, other=other, k=op[1], m=op[2], item=item,
                                       box=rng.choice(CONTAINERS))


def problem(rng: random.Random, n_ops: int | None = None) -> dict[str, Any]:
    """One problem: {"question", "rationale", "answer"} (+ "variants": every valid path).

    The question states the operations in one valid order; the rationale is drawn at random
    from all valid paths (`rationale_variants`).
    """
    if n_ops is None:
        n_ops = rng.choices(list(OPS_WEIGHTS), weights=list(OPS_WEIGHTS.values()))[0]
    while True:
        start = rng.randint(*START)
        ops = [_op(rng) for _ in range(n_ops)]
        if _in_range(start, ops):
            break
    name = rng.choice(NAMES)
    other = rng.choice([n for n in NAMES if n != name])
    item = rng.choice(ITEMS)
    sentences = [f"{name} has {start} {item}."]
    sentences += [_sentence(op, rng, name, other, item) for op in ops]
    sentences.append(f"How many {item} does {name} have now?")
    variants = rationale_variants(start, ops)
    answer = start + sum(_delta(op) for op in ops)
    return {"question": " ".join(sentences), "rationale": rng.choice(variants),
            "answer": answer, "variants": variants}


def distinct_problems(rng: random.Random, n: int, avoid: set[str], n_ops: int | None = None
                      ) -> list[dict[str, Any]]:
    """n problems whose question keys differ from each other and from `avoid` (updated)."""
    out: list[dict[str, Any]] = []
    while len(out) < n:
        p = problem(rng, n_ops)
        k = key(p["question"])
        if k not in avoid:
            avoid.add(k)
            out.append(p)
    return out


if __name__ == "__main__":
    r = random.Random(0)
    for _ in range(5):
        p = problem(r)
        print(p["question"])
        for v in p["variants"]:
            print("   ", v, f"The answer is {p['answer']}.")
