"""The loop every record-by-record batch job shares (transform, invocation).

`BatchRunner.run` streams each input file in batches, hands a batch to the kind's
`process` (one output line per input line, same order), appends the lines durably to
`NAME.out`, checkpoints after every batch, reports progress and records/s, and between
batches asks `interrupted()` whether to end early (a stop request; an expired deadline).
A resumed job skips what its checkpoint says is done and truncates any torn tail, so
every record lands exactly once. What a record becomes is the subclass's business.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from springboard.jobs.checkpoint import Checkpoint, open_output, write_durably
from springboard.jobs.records import Oversized, read_lines
from springboard.jobs.states import JobStatus
from springboard.jobs.worker import JobContext, Outcome

log = logging.getLogger("springboard.jobs")

Batch = list[tuple[int, bytes | Oversized]]


class BatchRunner:
    """Streams `files` through `process` into `output_dir/NAME.out` with checkpoints."""

    def __init__(self, ctx: JobContext, files: list[str], output_dir: str | Path,
                 batch_size: int, max_record_bytes: int) -> None:
        self.ctx = ctx
        self.max_record_bytes = max_record_bytes  # longer lines reach `process` as Oversized
        self.files = [Path(f) for f in files]
        self.output_dir = Path(output_dir)
        self.batch_size = batch_size
        self.checkpoint = Checkpoint.load(ctx.dir)
        self.counts: dict[str, Any] = dict(self.checkpoint.counts or ctx.counts)
        self.generator: Any = None  # set by the subclass; used by `_alone`

    # -- what a kind provides ------------------------------------------------------------
    def process(self, batch: Batch, file_name: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def interrupted(self) -> Outcome | None:
        """Between batches: an outcome that ends the job now, or None to go on."""
        if self.ctx.stop_requested():
            return Outcome(JobStatus.STOPPED, "stopped on request; output kept")
        return None

    def finished(self, outcome: Outcome) -> Outcome:
        """After the last batch (or an interruption): a last word, e.g. a manifest."""
        return outcome

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> Outcome:
        started, done_before = time.monotonic(), self.counts["processed"]
        for file in self.files:
            progress = self.checkpoint.progress(file.name)
            if progress.done:
                continue
            out_path = self.output_dir / f"{file.name}.out"
            log.info("%s -> %s, from record %d", file, out_path, progress.records)
            with open_output(out_path, progress.offset) as out:
                batch: Batch = []
                for item in read_lines(file, skip=progress.records,
                                       max_bytes=self.max_record_bytes):
                    batch.append(item)
                    if len(batch) == self.batch_size:
                        self._write(batch, out, file.name)
                        batch = []
                        self._report(started, done_before)
                        if (early := self.interrupted()) is not None:
                            return self.finished(early)
                if batch:
                    self._write(batch, out, file.name)
            progress.done = True
            self.checkpoint.save(self.ctx.dir)
        self._report(started, done_before)
        return self.finished(self.outcome())

    def outcome(self) -> Outcome:
        ok, failed = self.counts["succeeded"], self.counts["failed"]
        if failed and not ok:
            return Outcome(JobStatus.FAILED, f"all {failed} records failed; see the .out files")
        if failed:
            return Outcome(JobStatus.PARTIALLY_COMPLETED, f"{ok} records succeeded, {failed} failed")
        return Outcome(JobStatus.COMPLETED, f"{ok} records succeeded")

    def _write(self, batch: Batch, out: Any, name: str) -> None:
        lines = self.process(batch, name)
        offset = write_durably(out, lines)
        progress = self.checkpoint.progress(name)
        progress.records += len(batch)
        progress.offset = offset
        self.counts["processed"] += len(batch)
        self.checkpoint.counts = self.counts
        self.checkpoint.save(self.ctx.dir)
        self.ctx.save_counts(self.counts)

    def _report(self, started: float, done_before: int) -> None:
        rate = (self.counts["processed"] - done_before) / max(time.monotonic() - started, 1e-9)
        log.info("processed %d/%d records (%d failed), %.1f records/s",
                 self.counts["processed"], self.counts["total"], self.counts["failed"], rate)
        self.ctx.metric("records_per_second", round(rate, 3), step=self.counts["processed"])

    def execute(self, planned_per_record: list[list[Any] | None]) -> list[Any]:
        """Run every record's planned items in shared batches; per record, its results, or
        None (nothing to run), or the GenerationError that record alone raises — a record
        that breaks a batch is found and the rest are spared (`Generator.execute_each`)."""
        outcomes = iter(self.generator.execute_each([items for items in planned_per_record
                                                     if items]))
        return [next(outcomes) if items else None for items in planned_per_record]
