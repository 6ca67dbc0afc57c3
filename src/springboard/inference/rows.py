"""Per-row decoding controls that let requests with different settings share one batch.

`RowSampler` is a logits processor that samples each row with its own temperature,
top-k, top-p and `torch.Generator`, so a seeded request produces the same tokens alone or
batched with others; greedy rows pass through untouched. Before that it applies each
row's presence and frequency penalties (OpenAI's: on the tokens the row has generated,
not its prompt), to greedy and sampling rows alike. `RowStopper` ends each row at
its own token budget or stop string. Both are used with `do_sample=False` in
`model.generate`: the sampler turns a sampling row's logits into a one-hot choice, which
greedy selection then takes. `CancelStopper` ends the rows of requests whose caller has
gone; once every row has ended, `generate` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RowSpec:
    """Decoding settings of one batch row (one returned sequence)."""

    do_sample: bool
    temperature: float
    top_k: int
    top_p: float
    seed: int | None
    max_new_tokens: int
    stop: tuple[str, ...]
    logprobs: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @property
    def penalized(self) -> bool:
        return self.presence_penalty != 0.0 or self.frequency_penalty != 0.0


def row_generator(seed: int) -> torch.Generator:
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    return generator


def sequence_seed(seed: int, index: int) -> int:
    """The seed of the `index`-th returned sequence of a request seeded with `seed`."""
    return seed if index == 0 else hash((seed, index)) & (2**63 - 1)


class RowSampler:
    """Logits processor: per-row penalties, then per-row temperature / top-k / top-p
    sampling with per-row RNGs."""

    def __init__(
        self,
        rows: Sequence[RowSpec],
        generators: Sequence[torch.Generator | None] | None = None,
        *,
        start: int = 0,
    ) -> None:
        """`generators` (one per row) carry RNG state across calls when rows change
        between steps (continuous batching); by default each sampling row gets a fresh
        generator seeded with its seed. As a logits processor of `model.generate`, a row's
        generated tokens are `input_ids[row, start:]`."""
        self.sample_rows = [i for i, r in enumerate(rows) if r.do_sample]
        picked = [rows[i] for i in self.sample_rows]
        self.temperature = torch.tensor([[r.temperature] for r in picked], dtype=torch.float32)
        self.top_k = torch.tensor([r.top_k for r in picked], dtype=torch.long)
        self.top_p = torch.tensor([[r.top_p] for r in picked], dtype=torch.float32)
        if generators is None:
            self.generators = [row_generator(r.seed if r.seed is not None else 0) for r in picked]
        else:
            self.generators = [generators[i] for i in self.sample_rows]  # type: ignore[misc]
        self.start = start
        self.penalized = [i for i, r in enumerate(rows) if r.penalized]
        self.presence = torch.tensor(
            [[rows[i].presence_penalty] for i in self.penalized], dtype=torch.float32
        )
        self.frequency = torch.tensor(
            [[rows[i].frequency_penalty] for i in self.penalized], dtype=torch.float32
        )

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        counts = None
        if self.penalized:
            rows = torch.tensor(self.penalized, device=input_ids.device)
            generated = input_ids.index_select(0, rows)[:, self.start :]
            counts = torch.zeros(
                (len(self.penalized), scores.shape[-1]), dtype=torch.float32, device=scores.device
            )
            counts.scatter_add_(
                1,
                generated.to(scores.device),
                torch.ones(generated.shape, dtype=torch.float32, device=scores.device),
            )
        return self.process(scores, counts)

    def counts(self, generated: Sequence[Sequence[int]], vocab: int) -> torch.Tensor | None:
        """How often each token occurs in each penalized row's `generated` tokens (the
        continuous path, whose rows keep their tokens in lists); None without penalties."""
        if not self.penalized:
            return None
        return torch.stack(
            [
                torch.bincount(
                    torch.tensor(list(generated[i]), dtype=torch.long), minlength=vocab
                ).float()
                for i in self.penalized
            ]
        )

    def process(self, scores: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        """Penalize (`counts` per penalized row, from `counts` or `__call__`), then turn
        each sampling row into a one-hot choice; greedy rows keep their scores."""
        if counts is not None:
            counts = counts.to(scores.device)
            penalty = counts * self.frequency.to(scores.device) + (
                counts > 0
            ).float() * self.presence.to(scores.device)
            rows = torch.tensor(self.penalized, device=scores.device)
            scores = scores.index_add(0, rows, -penalty.to(scores.dtype))
        if not self.sample_rows:
            return scores
        idx = torch.tensor(self.sample_rows, device=scores.device)
        logits = scores.index_select(0, idx).float() / self.temperature.to(scores.device)
        sorted_logits, sorted_ids = logits.sort(dim=-1, descending=True)
        vocab = logits.shape[-1]
        position = torch.arange(vocab, device=logits.device).unsqueeze(0)
        k = torch.where(self.top_k > 0, self.top_k, torch.full_like(self.top_k, vocab))
        drop = position >= k.to(logits.device).unsqueeze(1)
        probs = sorted_logits.masked_fill(drop, float("-inf")).softmax(dim=-1)
        # nucleus: drop a token when the mass before it already reaches top_p (keep >= 1)
        before = probs.cumsum(dim=-1) - probs
        drop |= before >= self.top_p.to(logits.device)
        drop[:, 0] = False
        probs = sorted_logits.masked_fill(drop, float("-inf")).softmax(dim=-1)
        draws = torch.cat([torch.rand(1, generator=g) for g in self.generators]).to(logits.device)
        cdf = probs.cumsum(dim=-1)
        choice = torch.searchsorted(cdf, (draws * cdf[:, -1]).unsqueeze(1)).clamp(max=vocab - 1)
        tokens = sorted_ids.gather(1, choice).squeeze(1)
        out = scores.clone()
        out[idx] = float("-inf")
        out[idx, tokens] = 0.0
        return out


class RowStopper:
    """Stopping criterion: each row stops at its own budget or on one of its stop strings."""

    def __init__(
        self, rows: Sequence[RowSpec], start: int, decode: Callable[[list[int]], str]
    ) -> None:
        self.limits = torch.tensor([r.max_new_tokens for r in rows], dtype=torch.long)
        self.stops = [r.stop for r in rows]
        self.start = start
        self.decode = decode
        # tokens to look back: a stop string can span at most this many tokens
        self.window = [max((len(s.encode()) for s in r.stop), default=0) + 2 for r in rows]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: object) -> torch.Tensor:
        produced = input_ids.shape[1] - self.start
        done = produced >= self.limits.to(input_ids.device)
        for i, stops in enumerate(self.stops):
            if stops and not done[i]:
                tail = self.decode(
                    input_ids[i, max(self.start, input_ids.shape[1] - self.window[i]) :].tolist()
                )
                done[i] = any(s in tail for s in stops)
        return done


class CancelStopper:
    """Stopping criterion: rows whose request is no longer wanted stop at the next token.

    `cancelled(k)` is asked once per step for each of the `items` requests of the pass.
    `owners[r]` is the request of row `r`; without it (beam search) the rows are split
    evenly between the requests, as `generate` lays out beams."""

    def __init__(
        self, cancelled: Callable[[int], bool], items: int, owners: Sequence[int] | None = None
    ) -> None:
        self.cancelled = cancelled
        self.items = items
        self.owners = list(owners) if owners is not None else None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: object) -> torch.Tensor:
        gone = torch.tensor([bool(self.cancelled(k)) for k in range(self.items)], dtype=torch.bool)
        rows = input_ids.shape[0]
        if self.owners is not None and len(self.owners) == rows:
            owner = torch.tensor(self.owners, dtype=torch.long)
        else:
            owner = torch.arange(rows) * self.items // rows
        return gone[owner].to(input_ids.device)
