"""What a decoding pass reports while it runs: each row's new token and its logprobs.

`LogprobRecorder` keeps one step's log-softmax of the rows that asked for logprobs — of
the model's logits as they come, before Springboard's penalties, temperature, top-k and
top-p (in `model.generate`, transformers' own batch-wide processors, `repetition_penalty`
and `no_repeat_ngram_size`, run first) — and, once the step's tokens are chosen, reduces
it to the chosen token's logprob and the top N: memory stays at one step of the
vocabulary, whatever the sequence length. `RowObserver` is a stopping criterion for
`model.generate` that wraps the pass's own criteria and, each step, reports the new token
of every row still running (the end-of-sequence token included), so tokens can stream and
logprobs line up with the output. Both only observe: the tokens chosen are unchanged.
`Relay` and `fan_out` route reported tokens to the request each row belongs to.
Turning ids into text is not done here (`Generator.token_logprobs`, `detokenize`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import torch

from springboard.inference.rows import RowSpec


@dataclass(frozen=True)
class StepLogprob:
    """The logprob of one chosen token and the top alternatives, as ids and floats."""

    token_id: int
    logprob: float
    top: tuple[tuple[int, float], ...]


# (row, token id, its logprobs or None): a row's new token, as a pass reports it.
RowReport = Callable[[int, int, "StepLogprob | None"], None]

# `on_token(item, seq, token_id, logprob)`: sequence `seq` of item `item` (its position in
# the list of Planned run) generated `token_id`; `logprob` is its StepLogprob when the
# item asked for logprobs, else None. Called from the thread that runs the model, once
# per generated token, the end-of-sequence token included: keep it cheap.
TokenCallback = Callable[[int, int, int, "StepLogprob | None"], None]


class LogprobRecorder:
    """Logits processor that changes nothing: it keeps this step's log-softmax of the
    rows that asked for logprobs, until `take` is told the tokens chosen."""

    def __init__(self, rows: Sequence[RowSpec]) -> None:
        self.size = len(rows)
        self.rows = [i for i, r in enumerate(rows) if r.logprobs is not None]
        self.top = [rows[i].logprobs or 0 for i in self.rows]
        self._step: torch.Tensor | None = None

    @classmethod
    def wanted(cls, rows: Sequence[RowSpec]) -> LogprobRecorder | None:
        """A recorder when any row asked for logprobs, else None."""
        return cls(rows) if any(r.logprobs is not None for r in rows) else None

    def __call__(self, input_ids: torch.Tensor | None, scores: torch.Tensor) -> torch.Tensor:
        rows = torch.tensor(self.rows, device=scores.device)
        self._step = scores.index_select(0, rows).float().log_softmax(dim=-1)
        return scores

    def take(self, tokens: torch.Tensor) -> list[StepLogprob | None]:
        """Per row, the logprobs of its chosen token (`tokens`, one per row); None for the
        rows that did not ask. Forgets the step."""
        out: list[StepLogprob | None] = [None] * self.size
        step, self._step = self._step, None
        if step is None:
            return out
        rows = torch.tensor(self.rows, device=tokens.device)
        chosen_ids = tokens.index_select(0, rows)
        chosen = step.gather(1, chosen_ids.to(step.device).unsqueeze(1)).squeeze(1).tolist()
        k = max(self.top)
        top_values, top_ids = step.topk(k, dim=-1) if k else (step[:, :0], step[:, :0].long())
        values, ids = top_values.tolist(), top_ids.tolist()
        for n, (row, token) in enumerate(zip(self.rows, chosen_ids.tolist(), strict=True)):
            top = self.top[n]
            out[row] = StepLogprob(
                token, chosen[n], tuple(zip(ids[n][:top], values[n][:top], strict=True))
            )
        return out


class RowObserver:
    """Stopping criterion around the pass's own: reports each step's new token of every
    row still running, then closes the rows that ended (a criterion said so, or the token
    is an end-of-sequence token). Rows closed get padding from `generate`; it is never
    reported. `records[row]` keeps the logprobs of rows that asked for them."""

    def __init__(
        self,
        criteria: Sequence[Callable[..., torch.Tensor]],
        rows: int,
        end_ids: Collection[int],
        *,
        report: RowReport | None = None,
        recorder: LogprobRecorder | None = None,
    ) -> None:
        self.criteria = list(criteria)
        self.end_ids = set(end_ids)
        self.report = report
        self.recorder = recorder
        self.open = [True] * rows
        self.records: list[list[StepLogprob]] = [[] for _ in range(rows)]

    def __call__(
        self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: object
    ) -> torch.Tensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for criterion in self.criteria:
            done = done | criterion(input_ids, scores, **kwargs)
        last = input_ids[:, -1]
        steps = self.recorder.take(last) if self.recorder is not None else None
        for row, (token, ended) in enumerate(zip(last.tolist(), done.tolist(), strict=True)):
            if not self.open[row]:
                continue
            step = steps[row] if steps is not None else None
            if step is not None:
                self.records[row].append(step)
            if self.report is not None:
                self.report(row, token, step)
            if ended or token in self.end_ids:
                self.open[row] = False
        return done


class Relay:
    """Forwards a group's tokens; after `rerun`, skips as many per sequence as it has
    already forwarded, so a group run again alone does not repeat them."""

    def __init__(self, callback: TokenCallback) -> None:
        self.callback = callback
        self.sent: dict[tuple[int, int], int] = {}
        self.skip: dict[tuple[int, int], int] = {}

    def rerun(self) -> None:
        self.skip = dict(self.sent)

    def __call__(self, item: int, seq: int, token: int, step: StepLogprob | None) -> None:
        key = (item, seq)
        if self.skip.get(key, 0) > 0:
            self.skip[key] -= 1
            return
        self.sent[key] = self.sent.get(key, 0) + 1
        self.callback(item, seq, token, step)


def fan_out(owners: list[tuple[int, int]], relays: list[Relay | None]) -> TokenCallback:
    """Send the tokens of a pass over many groups' items to each item's group."""

    def report(n: int, seq: int, token: int, step: StepLogprob | None) -> None:
        group, item = owners[n]
        relay = relays[group]
        if relay is not None:
            relay(item, seq, token, step)

    return report
