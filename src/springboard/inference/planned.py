"""A checked prompt ready to run (`Planned`), and how its finished sequences become a
`GenerationResult`. `Generator.plan` makes them; the Generator and the batchers run them.
Nothing here tokenizes or touches the model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from springboard.errors import ClientError
from springboard.inference.observers import TokenCallback
from springboard.inference.params import DecodingParams
from springboard.inference.payloads import GenerationResult, TokenLogprob
from springboard.inference.rows import RowSpec, sequence_seed

__all__ = ["CANCELLED", "Planned", "TokenCallback", "require_streamable"]

CANCELLED = "cancelled"  # the finish reason of a sequence stopped because its caller left


@dataclass(frozen=True)
class Planned:
    """One prompt, checked and ready: its token ids, settings and budget.

    The ids are kept so no later stage tokenizes the prompt again."""

    index: int
    prompt: str
    params: DecodingParams
    prompt_ids: tuple[int, ...]
    max_new_tokens: int
    seed: int | None

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt_ids)

    @property
    def rows(self) -> int:
        return 1 if self.params.num_beams > 1 else self.params.num_return_sequences

    def row_specs(self) -> list[RowSpec]:
        """One row per returned sequence (one for beam search, which returns them all)."""
        p = self.params
        return [
            RowSpec(
                do_sample=p.do_sample,
                temperature=p.temperature,
                top_k=p.top_k,
                top_p=p.top_p,
                seed=sequence_seed(self.seed, j) if self.seed is not None else None,
                max_new_tokens=self.max_new_tokens,
                stop=p.stop,
                logprobs=p.logprobs,
                presence_penalty=p.presence_penalty,
                frequency_penalty=p.frequency_penalty,
            )
            for j in range(self.rows)
        ]

    def cancelled_result(self) -> GenerationResult:
        """The result of an item that was never run because its caller left."""
        n = self.params.num_return_sequences
        return self.result(
            [("", 0, CANCELLED)] * n,
            None if self.params.logprobs is None else [[] for _ in range(n)],
        )

    def result(
        self,
        sequences: list[tuple[str, int, str]],
        logprobs: list[list[TokenLogprob]] | None = None,
    ) -> GenerationResult:
        """Assemble finished sequences `(text, tokens, finish_reason)` (and, when asked
        for, their tokens' logprobs) into a result."""
        return GenerationResult(
            texts=[s[0] for s in sequences],
            input_tokens=self.prompt_tokens,
            output_tokens=[s[1] for s in sequences],
            finish_reasons=[s[2] for s in sequences],
            seed=self.seed,
            logprobs=logprobs,
        )


def require_streamable(planned: Sequence[Planned]) -> None:
    """Refuse to stream tokens of beam search: beams are only ranked once it ends."""
    for item in planned:
        beams = item.params.num_beams
        if beams > 1:
            raise ClientError(
                f"tokens cannot be streamed with beam search (num_beams={beams}): the "
                "returned sequences are only known once the search ends",
                field="num_beams",
                value=beams,
                fix="use num_beams=1 (with do_sample for several sequences), or do not stream",
            )


def mark_cancelled(
    batch: Sequence[Planned],
    sequences: list[list[tuple[str, int, str]]],
    cancelled: Callable[[int], bool],
) -> None:
    """In place: a sequence of an item whose caller left (`cancelled(k)`), cut short
    before its token budget, gets the finish reason `cancelled` instead of `length`."""
    for k, seqs in enumerate(sequences):
        if cancelled(k):
            seqs[:] = [
                (
                    text,
                    count,
                    CANCELLED if reason == "length" and count < batch[k].max_new_tokens else reason,
                )
                for text, count, reason in seqs
            ]
