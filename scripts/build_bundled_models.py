#!/usr/bin/env python
"""Build the two tiny models bundled with Springboard, reproducibly and fully offline.

This script is the ONE source of the bundled models under ``src/springboard/bundled/``:

* ``springboard-tiny-t5``    -- ``T5ForConditionalGeneration`` (text2text-generation)
* ``springboard-tiny-llama`` -- ``LlamaForCausalLM`` (text-generation)

Everything is derived from ``--seed``: a seeded generator writes an English-like corpus
(short summaries, questions with a context, arithmetic word problems, plain sentences),
a byte-level BPE tokenizer is trained on it with the ``tokenizers`` library, and the
model weights are randomly initialised with a seeded ``torch`` RNG. Nothing is
downloaded. Running the script twice with the same seed (and the same library versions)
produces byte-identical files.

Usage::

    python scripts/build_bundled_models.py                      # into src/springboard/bundled/
    python scripts/build_bundled_models.py --output-dir /tmp/x --seed 0

The pipeline is split into small functions (``generate_examples`` / ``generate_corpus``,
``build_tokenizer``, ``build_t5``, ``build_llama``, ``save_model``, ``main``) so a
training step can be slotted in between building and saving later.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Never touch the network, whatever the caller's environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)
from transformers.utils import logging as hf_logging  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT_DIR = REPO_ROOT / "src" / "springboard" / "bundled"

T5_NAME = "springboard-tiny-t5"
LLAMA_NAME = "springboard-tiny-llama"

VOCAB_SIZE = 1280  # size of both BPE vocabularies (special tokens included); the corpus supports ~1530
CORPUS_EXAMPLES = 6000  # examples produced by the seeded generator for tokenizer training
MODEL_MAX_LENGTH = 512

# Special tokens. The order of each list is the id order (ids 0, 1, 2, ...).
T5_SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]  # pad=0, eos=1, unk=2
LLAMA_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]  # unk=0, bos=1, eos=2, pad=3

# The causal model's chat template: a turn is a worked question and its answer, as the
# model is trained (a user message is a question, "Q: " added when it has none; the reply
# follows "A:"; a turn ends with a blank line, which its catalog entry's `chat_stop` says).
LLAMA_CHAT_TEMPLATE = (
    "{%- for message in messages -%}\n"
    "{%- if message['role'] == 'system' -%}\n"
    "{{ message['content'] }}{{ '\\n\\n' }}\n"
    "{%- elif message['role'] == 'user' -%}\n"
    "{%- if not message['content'].startswith('Q:') %}Q: {% endif -%}\n"
    "{{ message['content'] }}{{ '\\nA:' }}\n"
    "{%- elif message['role'] == 'assistant' -%}\n"
    "{{ ' ' + message['content'] | trim }}{{ '\\n\\n' }}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
)

# Files every bundled model directory must contain (README.md is added by this script).
EXPECTED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
)


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------

NAMES = [
    "Maya", "Omar", "Lena", "Noah", "Priya", "Tomas", "Aiko", "Felix", "Sara", "Jonah",
    "Ines", "Ravi", "Clara", "Mateo", "Hana", "Leo", "Zara", "Iván", "Nora", "Kofi",
    "Elsa", "Arjun", "Mila", "Theo", "Yara", "Bruno", "Lucia", "Sami", "Greta", "Dev",
]
ITEMS = [
    "apples", "pencils", "books", "marbles", "cookies", "stickers", "coins", "shells",
    "cups", "tickets", "oranges", "stamps", "crayons", "buttons", "cards", "plums",
    "candles", "ribbons", "pebbles", "muffins", "notebooks", "balloons", "lemons", "keys",
]
CONTAINERS = ["box", "bag", "basket", "jar", "crate", "tray", "drawer", "bucket"]
PLACES = [
    "library", "market", "park", "school", "station", "garden", "kitchen", "museum",
    "harbor", "bakery", "office", "workshop", "beach", "farm", "river bank", "hill",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TIMES = ["in the morning", "at noon", "in the afternoon", "in the evening", "at night"]
COLORS = ["red", "blue", "green", "yellow", "white", "black", "orange", "purple", "grey"]
ADJECTIVES = ["small", "large", "old", "new", "quiet", "busy", "bright", "warm", "cold", "tidy"]
OBJECTS = [
    "cup", "lamp", "map", "umbrella", "scarf", "bicycle", "kite", "letter", "basket",
    "camera", "clock", "jacket", "backpack", "violin", "plant", "bottle",
]
SURFACES = [
    "on the kitchen table", "under the bed", "next to the door", "on the top shelf",
    "in the blue drawer", "behind the sofa", "near the window", "in the garden shed",
]
TOPICS = [
    "birds", "rivers", "old ships", "the moon", "bread", "music", "trains", "gardens",
    "weather", "mountains", "insects", "history", "cooking", "stars", "boats", "maps",
]
ACTIVITIES = [
    "painted a picture", "wrote a letter", "baked bread", "fixed a bicycle",
    "planted tomatoes", "read a story", "cleaned the windows", "built a kite",
    "played the violin", "sorted the mail", "washed the dishes", "drew a map",
]
FEELINGS = ["happy", "tired", "proud", "curious", "calm", "surprised", "hungry", "excited"]
WEATHER = ["sunny", "rainy", "windy", "cloudy", "foggy", "snowy", "warm", "chilly"]
NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
]
# A broader word bank for free-form sentences, so the tokenizer sees everyday English.
ANIMALS = [
    "fox", "owl", "rabbit", "horse", "sparrow", "turtle", "goat", "whale", "bee", "duck",
    "wolf", "frog", "squirrel", "heron", "donkey", "otter", "beetle", "salmon", "deer", "mouse",
]
NATURE = [
    "forest", "valley", "meadow", "island", "lake", "desert", "cliff", "storm", "rainbow",
    "ocean", "glacier", "canyon", "field", "orchard", "pond", "waterfall", "cave", "shore",
]
FOODS = [
    "soup", "bread", "cheese", "rice", "noodles", "salad", "pancakes", "honey", "tea",
    "coffee", "porridge", "pie", "carrots", "potatoes", "beans", "yogurt", "jam", "butter",
]
TOOLS = [
    "hammer", "ladder", "rope", "needle", "shovel", "brush", "wrench", "lantern", "compass",
    "telescope", "saw", "bucket", "scissors", "pencil", "ruler", "kettle", "spoon", "blanket",
]
PEOPLE = [
    "teacher", "farmer", "doctor", "baker", "sailor", "painter", "student", "neighbor",
    "driver", "gardener", "librarian", "engineer", "nurse", "musician", "captain", "grandmother",
]
VERBS_PAST = [
    "opened", "closed", "carried", "watched", "followed", "repaired", "counted", "measured",
    "cooked", "borrowed", "returned", "explained", "answered", "remembered", "forgot", "found",
    "noticed", "collected", "visited", "delivered", "described", "shared", "chose", "finished",
    "started", "moved", "pushed", "pulled", "climbed", "crossed", "waited", "listened",
]
VERBS_BASE = [
    "open", "carry", "watch", "follow", "repair", "count", "measure", "cook", "borrow",
    "return", "explain", "answer", "remember", "find", "notice", "collect", "visit", "deliver",
    "describe", "share", "choose", "finish", "start", "move", "climb", "cross", "listen", "learn",
]
MORE_ADJECTIVES = [
    "gentle", "heavy", "narrow", "wide", "ancient", "modern", "careful", "clever", "brave",
    "honest", "strange", "simple", "difficult", "important", "beautiful", "sudden", "early",
    "late", "empty", "full", "soft", "loud", "silent", "friendly", "famous", "wooden", "golden",
]
ADVERBS = [
    "slowly", "quickly", "carefully", "quietly", "happily", "suddenly", "finally", "often",
    "never", "always", "sometimes", "usually", "gently", "loudly", "together", "almost",
]
CONNECTIVES = ["because", "although", "while", "after", "before", "when", "until", "since", "so", "but"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]


@dataclass(frozen=True)
class Example:
    """One generated example: ``source`` is the prompt, ``target`` the expected answer."""

    task: str
    source: str
    target: str


def _pronoun(rng: random.Random) -> tuple[str, str]:
    return rng.choice([("She", "her"), ("He", "his"), ("They", "their")])


def _arithmetic(rng: random.Random) -> Example:
    name = rng.choice(NAMES)
    other = rng.choice([n for n in NAMES if n != name])
    item = rng.choice(ITEMS)
    kind = rng.randrange(5)
    if kind == 0:
        a, b = rng.randint(2, 60), rng.randint(1, 40)
        text = f"{name} has {a} {item}. {name} buys {b} more {item}. How many {item} does {name} have now?"
        answer = a + b
    elif kind == 1:
        a = rng.randint(10, 90)
        b = rng.randint(1, a - 1)
        text = f"{name} had {a} {item} and gave {b} of them to {other}. How many {item} are left?"
        answer = a - b
    elif kind == 2:
        box = rng.choice(CONTAINERS)
        per, count = rng.randint(2, 12), rng.randint(2, 9)
        text = f"Each {box} holds {per} {item}. {name} fills {count} {box}s. How many {item} is that in total?"
        answer = per * count
    elif kind == 3:
        per, count = rng.randint(2, 9), rng.randint(2, 9)
        total = per * count
        text = f"{name} shares {total} {item} equally among {count} friends. How many {item} does each friend get?"
        answer = per
    else:
        a, b, c = rng.randint(1, 30), rng.randint(1, 30), rng.randint(1, 20)
        text = (
            f"{name} found {a} {item} on {rng.choice(DAYS)} and {b} on {rng.choice(DAYS)}, "
            f"then lost {min(c, a + b)}. How many {item} does {name} have?"
        )
        answer = a + b - min(c, a + b)
    prefix = rng.choice(["", "question: ", "Solve: "])
    return Example("arithmetic", prefix + text, str(answer))


def _question(rng: random.Random) -> Example:
    name = rng.choice(NAMES)
    kind = rng.randrange(4)
    if kind == 0:
        color, obj, spot = rng.choice(COLORS), rng.choice(OBJECTS), rng.choice(SURFACES)
        context = f"{name} put the {color} {obj} {spot} before leaving for the {rng.choice(PLACES)}."
        question = f"Where did {name} put the {color} {obj}?"
        answer = spot
    elif kind == 1:
        place, day = rng.choice(PLACES), rng.choice(DAYS)
        context = f"On {day} {rng.choice(TIMES)}, {name} walked to the {place} with a friend."
        question = f"Where did {name} go on {day}?"
        answer = f"to the {place}"
    elif kind == 2:
        topic = rng.choice(TOPICS)
        n = rng.randint(2, 9)
        context = f"{name} borrowed {n} books about {topic} from the {rng.choice(ADJECTIVES)} library."
        question = f"How many books did {name} borrow?"
        answer = str(n)
    else:
        feeling, activity = rng.choice(FEELINGS), rng.choice(ACTIVITIES)
        context = f"After {name} {activity}, {name} felt {feeling} and sat down for a while."
        question = f"How did {name} feel?"
        answer = feeling
    return Example("question", f"question: {question} context: {context}", answer)


def _summary(rng: random.Random) -> Example:
    name = rng.choice(NAMES)
    subj, poss = _pronoun(rng)
    day, place, topic = rng.choice(DAYS), rng.choice(PLACES), rng.choice(TOPICS)
    activity = rng.choice(ACTIVITIES)
    n = rng.randint(2, 9)
    sentences = [
        f"On {day}, {name} went to the {place} {rng.choice(TIMES)}.",
        f"The weather was {rng.choice(WEATHER)} and the {place} was {rng.choice(ADJECTIVES)}.",
        f"{subj} {activity} and talked with a friend about {topic}.",
        f"Later {subj.lower()} bought {n} {rng.choice(ITEMS)} for {poss} family.",
        f"By the evening {name} felt {rng.choice(FEELINGS)}.",
    ]
    keep = sorted(rng.sample(range(len(sentences)), rng.randint(3, 5)))
    text = " ".join(sentences[i] for i in keep)
    target = f"{name} {activity} at the {place} on {day}."
    return Example("summary", "summarize: " + text, target)


def _sentence(rng: random.Random) -> Example:
    name = rng.choice(NAMES)
    templates = [
        lambda: f"The {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)} is {rng.choice(SURFACES)}.",
        lambda: f"{name} likes to read about {rng.choice(TOPICS)} {rng.choice(TIMES)}.",
        lambda: f"It was {rng.choice(WEATHER)} on {rng.choice(DAYS)}, so {name} stayed near the {rng.choice(PLACES)}.",
        lambda: f"There are {rng.choice(NUMBER_WORDS)} {rng.choice(ITEMS)} in the {rng.choice(COLORS)} {rng.choice(CONTAINERS)}.",
        lambda: f"Once upon a time, {name} {rng.choice(ACTIVITIES)} and felt {rng.choice(FEELINGS)}.",
        lambda: f"\"Can you help me?\" asked {name}. \"I lost my {rng.choice(COLORS)} {rng.choice(OBJECTS)}!\"",
        lambda: f"{name}'s {rng.choice(OBJECTS)} costs {rng.randint(1, 99)}.{rng.randint(0, 9)}{rng.randint(0, 9)} dollars (about {rng.randint(1, 120)}% of the budget).",
        lambda: f"At {rng.randint(1, 12)}:{rng.randint(0, 5)}{rng.randint(0, 9)} the train left the {rng.choice(PLACES)}; {name} waved.",
    ]
    text = rng.choice(templates)()
    cut = text.rfind(" ", 0, max(1, len(text) // 2))
    return Example("sentence", text[:cut] if cut > 0 else text, text[cut:] if cut > 0 else "")


def _noun(rng: random.Random) -> str:
    return rng.choice(rng.choice([ANIMALS, NATURE, FOODS, TOOLS, PEOPLE, OBJECTS, TOPICS]))


def _free_text(rng: random.Random) -> Example:
    """A small story-like paragraph built from the broader word bank (for causal LM style text)."""
    name = rng.choice(NAMES)
    adj = lambda: rng.choice(ADJECTIVES + MORE_ADJECTIVES)  # noqa: E731
    clauses = [
        lambda: f"The {adj()} {rng.choice(ANIMALS)} {rng.choice(VERBS_PAST)} the {rng.choice(TOOLS)} near the {rng.choice(NATURE)}.",
        lambda: f"In {rng.choice(MONTHS)}, the {rng.choice(PEOPLE)} {rng.choice(ADVERBS)} {rng.choice(VERBS_PAST)} a {adj()} {rng.choice(OBJECTS)}.",
        lambda: f"{name} wanted to {rng.choice(VERBS_BASE)} the {_noun(rng)} {rng.choice(CONNECTIVES)} it was {adj()}.",
        lambda: f"Why did the {rng.choice(PEOPLE)} {rng.choice(VERBS_BASE)} the {_noun(rng)}?",
        lambda: f"We {rng.choice(ADVERBS)} eat {rng.choice(FOODS)} with {rng.choice(FOODS)} on {rng.choice(DAYS)}.",
        lambda: f"A {adj()} {rng.choice(NATURE)} lies beyond the {rng.choice(NATURE)}, {rng.randint(2, 40)} miles away.",
        lambda: f"{name} and the {rng.choice(PEOPLE)} {rng.choice(VERBS_PAST)} {rng.choice(NUMBER_WORDS)} {rng.choice(ITEMS)} {rng.choice(ADVERBS)}.",
        lambda: f"Please {rng.choice(VERBS_BASE)} the {adj()} {rng.choice(TOOLS)} before {rng.choice(TIMES)[3:]}.",
        lambda: f"It is {adj()} to {rng.choice(VERBS_BASE)} {rng.choice(FOODS)} {rng.choice(CONNECTIVES)} the {rng.choice(ANIMALS)} is {rng.choice(FEELINGS)}.",
    ]
    text = " ".join(rng.choice(clauses)() for _ in range(rng.randint(1, 3)))
    cut = text.rfind(" ", 0, max(1, len(text) // 2))
    return Example("text", text[:cut] if cut > 0 else text, text[cut:] if cut > 0 else "")


_GENERATORS = (_arithmetic, _question, _summary, _sentence, _free_text)


def generate_examples(seed: int, n: int = CORPUS_EXAMPLES) -> Iterator[Example]:
    """Yield ``n`` varied English-like examples, fully determined by ``seed``."""
    rng = random.Random(seed)
    for _ in range(n):
        yield rng.choice(_GENERATORS)(rng)


def generate_corpus(seed: int, n: int = CORPUS_EXAMPLES) -> list[str]:
    """Plain texts for tokenizer training (sources and targets of ``generate_examples``)."""
    texts: list[str] = []
    for ex in generate_examples(seed, n):
        texts.append(ex.source)
        if ex.target:
            texts.append(ex.target)
    # A few fixed lines so every printable ASCII symbol is seen in context at least once.
    texts.append("Symbols: ! \" # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~")
    texts.append("Digits: 0 1 2 3 4 5 6 7 8 9, 10, 25, 100, 2024, 3.14, 1,000.")
    return texts


LLAMA_ARITHMETIC_TEXTS = 4000


def llama_corpus(seed: int) -> list[str]:
    """The causal model's tokenizer corpus: `generate_corpus` plus chain-of-thought word
    problems of `synthetic_arithmetic.py` (the task the model is trained on), so their words
    and equations are few tokens each."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import synthetic_arithmetic as sa

    rng = random.Random(seed + 1)
    texts = generate_corpus(seed)
    for _ in range(LLAMA_ARITHMETIC_TEXTS):
        p = sa.problem(rng)
        texts.append(f"Q: {p['question']}\nA: {p['rationale']} The answer is {p['answer']}.")
    return texts


# --------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------


def _train_byte_level_bpe(corpus: list[str], special_tokens: list[str], vocab_size: int) -> Tokenizer:
    """Byte-level BPE with every digit its own piece and the space before a number its own
    token (" 13" -> " ", "1", "3"), so a digit is the same token wherever it stands: the
    units digit of 7 and of 27 is one embedding, which is what lets the causal model learn
    column arithmetic (a tokenizer that kept the leading space on the first digit -- " 1",
    "3" -- learned it markedly slower: see the llama model card)."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer, length=len(corpus))
    for i, t in enumerate(special_tokens):
        if tok.token_to_id(t) != i:
            raise RuntimeError(f"special token {t!r} got id {tok.token_to_id(t)}, expected {i}")
    if tok.get_vocab_size() != vocab_size:
        raise RuntimeError(f"BPE vocabulary has {tok.get_vocab_size()} tokens, expected {vocab_size}: corpus too small")
    return tok


def build_tokenizer(kind: str, corpus: list[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer for ``kind`` ("t5" or "llama") and wrap it for transformers.

    T5:    <pad>=0 </s>=1 <unk>=2, "$A </s>" post-processor (eos appended), right padding.
    Llama: <unk>=0 <s>=1 </s>=2 <pad>=3, "<s> $A" post-processor (bos prepended), left padding.

    The backend post-processor is the source of truth for bos/eos insertion: transformers 5
    drops ``add_bos_token``/``add_eos_token`` from tokenizer_config.json whenever a
    tokenizer.json exists, so they are deliberately not passed here.
    """
    if kind == "t5":
        tok = _train_byte_level_bpe(corpus, T5_SPECIAL_TOKENS, vocab_size)
        tok.post_processor = processors.TemplateProcessing(
            single="$A:0 </s>:0",
            pair="$A:0 </s>:0 $B:1 </s>:1",
            special_tokens=[("</s>", tok.token_to_id("</s>"))],
        )
        specials = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
        padding_side = "right"
    elif kind == "llama":
        tok = _train_byte_level_bpe(corpus, LLAMA_SPECIAL_TOKENS, vocab_size)
        tok.post_processor = processors.TemplateProcessing(
            single="<s>:0 $A:0",
            pair="<s>:0 $A:0 <s>:1 $B:1",
            special_tokens=[("<s>", tok.token_to_id("<s>"))],
        )
        specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
        padding_side = "left"
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}")

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=MODEL_MAX_LENGTH,
        padding_side=padding_side,
        truncation_side="right",
        clean_up_tokenization_spaces=False,
        **specials,
    )


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def build_t5(tokenizer: PreTrainedTokenizerFast, seed: int) -> T5ForConditionalGeneration:
    """A randomly initialised (seeded) tiny T5 encoder-decoder (gated-GELU feed-forward, tied embeddings)."""
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=128,
        d_kv=32,
        d_ff=512,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        feed_forward_proj="gated-gelu",
        # transformers 5 always ties T5's lm_head to the shared embedding and only uses this flag
        # to decide whether decoder outputs are rescaled by d_model**-0.5 (original T5: True).
        tie_word_embeddings=True,
        is_encoder_decoder=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config).eval()
    # Zero the <pad> embedding row (what nn.Embedding(padding_idx=0) would do). <pad> is also the
    # decoder start token and the lm_head is tied to this matrix: with T5's N(0, 1) embedding init
    # an untrained model otherwise echoes its start token and only ever "generates" <pad>, which
    # decodes to an empty string. With the row zeroed it emits visible (random) tokens instead.
    with torch.no_grad():
        model.shared.weight[tokenizer.pad_token_id].zero_()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_length=64,
    )
    return model


def build_llama(tokenizer: PreTrainedTokenizerFast, seed: int) -> LlamaForCausalLM:
    """A randomly initialised (seeded) tiny Llama decoder with tied embeddings, sized (about
    2M parameters) so that `train_tiny_llama.py` teaches it step-by-step arithmetic in minutes."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=192,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=6,
        num_key_value_heads=6,
        max_position_embeddings=MODEL_MAX_LENGTH,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


# --------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def count_parameters(model: torch.nn.Module) -> int:
    """Unique parameters (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class BuildResult:
    name: str
    path: Path
    params: int
    model_bytes: int
    total_bytes: int
    model_sha256: str
    vocab_size: int


def _model_card(name: str, model, tokenizer, seed: int, params: int, model_sha: str) -> str:
    cfg = model.config
    if cfg.model_type == "t5":
        arch = (
            f"`T5ForConditionalGeneration` (text2text-generation): d_model {cfg.d_model}, d_ff {cfg.d_ff} "
            f"({cfg.feed_forward_proj}), {cfg.num_layers} encoder + {cfg.num_decoder_layers} decoder layers, "
            f"{cfg.num_heads} heads x d_kv {cfg.d_kv}, relative attention, lm_head tied to the shared embedding"
        )
        specials = "`<pad>`=0 (also decoder start), `</s>`=1 (appended to every input), `<unk>`=2"
        padding = "right"
        init_note = " The `<pad>` row of the shared embedding is zeroed so the untrained model emits visible tokens."
        auto = "AutoModelForSeq2SeqLM"
        task = "text2text-generation"
    else:
        arch = (
            f"`LlamaForCausalLM` (text-generation): hidden {cfg.hidden_size}, intermediate "
            f"{cfg.intermediate_size}, {cfg.num_hidden_layers} layers, {cfg.num_attention_heads} heads / "
            f"{cfg.num_key_value_heads} kv heads, max positions {cfg.max_position_embeddings}, tied embeddings"
        )
        specials = "`<unk>`=0, `<s>`=1 (bos, prepended to every input), `</s>`=2 (eos), `<pad>`=3"
        padding = "left"
        init_note = ""
        auto = "AutoModelForCausalLM"
        task = "text-generation"
    return f"""---
library_name: transformers
pipeline_tag: {task}
license: apache-2.0
tags:
- springboard
- tiny
- random-weights
---

# {name}

A tiny {arch}.

It is bundled with Springboard so that every journey (catalog, endpoints, batch jobs,
fine-tuning, evaluation) works fully offline. **The weights are randomly initialised**
(seed `{seed}`): the model produces gibberish until it is fine-tuned. It is a test fixture,
not a useful language model.{init_note}

| | |
|---|---|
| Parameters | {params:,} |
| Weights | `model.safetensors`, float32, sha256 `{model_sha}` |
| Vocabulary | {len(tokenizer)} tokens, byte-level BPE (no unknown tokens), digits split one per token |
| Special tokens | {specials} |
| Padding side | {padding} |
| Tokenizer `model_max_length` | {MODEL_MAX_LENGTH} tokens |
| Built with | transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, torch {torch.__version__} |

The tokenizer was trained offline with the `tokenizers` library on a synthetic English-like
corpus (short summaries, questions with a context, arithmetic word problems, plain sentences)
written by a seeded generator inside the build script. No public dataset was used and nothing
was downloaded.

## Usage

```python
from transformers import AutoTokenizer, {auto}

tokenizer = AutoTokenizer.from_pretrained(path)
model = {auto}.from_pretrained(path)
```

## Rebuilding

This directory is generated by `scripts/build_bundled_models.py` and must not be edited by hand.
The build is deterministic: the same seed and library versions give byte-identical files.

```bash
python scripts/build_bundled_models.py --seed {seed}            # rewrites src/springboard/bundled/
python scripts/build_bundled_models.py --output-dir /tmp/bundled  # somewhere else
```
"""


def save_model(name: str, model, tokenizer, output_dir: Path, seed: int) -> BuildResult:
    """Write ``model`` + ``tokenizer`` + model card to ``output_dir/name``, replacing it atomically."""
    output_dir.mkdir(parents=True, exist_ok=True)
    final = output_dir / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=output_dir))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        model_path = staging / "model.safetensors"
        params = count_parameters(model)
        model_sha = sha256_file(model_path)
        (staging / "README.md").write_text(
            _model_card(name, model, tokenizer, seed, params, model_sha), encoding="utf-8"
        )
        missing = [f for f in EXPECTED_FILES if not (staging / f).is_file()]
        if missing:
            raise RuntimeError(f"{name}: missing files after save: {missing}")
        stray = sorted(p.name for p in staging.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".pkl"})
        if stray:
            raise RuntimeError(f"{name}: pickle files written: {stray}")
        # mkdtemp creates 0700 and some writers create 0600 files: make the package data world-readable.
        os.chmod(staging, 0o755)
        for p in staging.iterdir():
            os.chmod(p, 0o644)
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    model_bytes = (final / "model.safetensors").stat().st_size
    total_bytes = sum(p.stat().st_size for p in final.iterdir() if p.is_file())
    return BuildResult(name, final, params, model_bytes, total_bytes, model_sha, len(tokenizer))


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def build_all(output_dir: Path, seed: int = 0) -> list[BuildResult]:
    """Build both bundled models into ``output_dir`` and return their summaries."""
    corpus = generate_corpus(seed)
    results = []

    t5_tok = build_tokenizer("t5", corpus)
    t5 = build_t5(t5_tok, seed)
    results.append(save_model(T5_NAME, t5, t5_tok, output_dir, seed))

    llama_tok = build_tokenizer("llama", llama_corpus(seed))
    llama_tok.chat_template = LLAMA_CHAT_TEMPLATE  # saved as chat_template.jinja
    llama = build_llama(llama_tok, seed)
    results.append(save_model(LLAMA_NAME, llama, llama_tok, output_dir, seed))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help=f"directory receiving {T5_NAME}/ and {LLAMA_NAME}/ (default: {DEFAULT_OUTPUT_DIR})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for corpus, tokenizer and weights (default: 0)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # "Writing model shards" bars from save_pretrained
    start = time.perf_counter()
    results = build_all(args.output_dir.resolve(), args.seed)
    for r in results:
        print(
            f"{r.name}: params={r.params} vocab={r.vocab_size} model_bytes={r.model_bytes} "
            f"dir_bytes={r.total_bytes} sha256={r.model_sha256}"
        )
    print(f"built {len(results)} models into {args.output_dir} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
