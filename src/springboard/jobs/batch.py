"""The one batch pipeline: every record-by-record job kind (transform, invocation, later
OpenAI batches) runs through `BatchRunner`, configured by the kind's `RecordCodec`.

The runner streams each input file (`lines`; local or remote, entered at the checkpoint's
byte offset on resume), asks the codec to decode each line into a Generator request (or
a failure), runs the batch's requests together (`Generator.execute_each`: a record that
breaks a shared pass is found and fails alone), asks the codec for each record's output
line, appends the lines durably to `NAME.out`, checkpoints after every batch, counts
records and tokens, reports progress, and between batches stops early on a stop request
or a passed deadline. When an input file is done its output is published (uploaded
whole to a remote output folder, `batch_locations`); at the end the codec's manifest,
if it has one, is written beside the outputs. A resumed job skips what its checkpoint
says is done and truncates any torn tail, so every record lands exactly once.

What a record looks like in and out is the codec's business, and nothing else is. Where
the records run is the `RecordMapper`'s: in this process (`LocalMapper`, the default) or
on an actor pool of Generators on a Ray cluster (`jobs.ray_records`); either hands the
output lines back in input order to the same writer, checkpoints and counts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from springboard.artifacts import storage
from springboard.errors import ClientError, GenerationError, SpringboardError
from springboard.jobs.batch_locations import OutputFolder, output_name
from springboard.jobs.checkpoint import (
    Checkpoint,
    FileProgress,
    open_output,
    write_durably,
)
from springboard.jobs.lines import Line, Oversized, count_records, read_from
from springboard.jobs.states import JobStatus
from springboard.jobs.worker import JobContext, Outcome
from springboard.store import job_records

log = logging.getLogger("springboard.jobs")

COUNT_KEYS = ("total", "processed", "succeeded", "failed", "input_tokens", "output_tokens")


def zero_counts(total: int = 0) -> dict[str, int]:
    """A new batch job's counts (`total` 0 until a remote input is counted by the worker)."""
    return {key: (total if key == "total" else 0) for key in COUNT_KEYS}


@dataclass(frozen=True)
class RecordRef:
    """Where a line came from: its input file's name and its index among non-blank lines."""

    file_name: str
    index: int


@dataclass
class Decoded:
    """A line the codec understood: the key its output line carries, the Generator's
    parsed request, and whatever the codec wants back when it writes the line."""

    key: Any
    request: Any
    echo: Any = None


class RecordFailure(Exception):
    """A record that cannot run; its output line carries `error` (its siblings go on)."""

    def __init__(self, error: SpringboardError, key: Any, echo: Any = None) -> None:
        super().__init__(str(error))
        self.error, self.key, self.echo = error, key, echo


class RecordCodec(Protocol):
    """What a batch kind provides: how a line becomes a request, and a result a line."""

    @property
    def manifest_name(self) -> str | None:
        """A file written beside the outputs however the job ends, or None."""
        ...

    def decode(self, line: bytes | Oversized, ref: RecordRef) -> Decoded:
        """The record's request; raise `RecordFailure` for a line that cannot run."""
        ...

    def fallback_key(self, ref: RecordRef) -> Any:
        """The key of a record whose own could not be read."""
        ...

    def success(self, record: Decoded, results: list[Any]) -> dict[str, Any]: ...

    def failure(self, failure: RecordFailure) -> dict[str, Any]: ...

    def manifest(self, counts: dict[str, Any]) -> dict[str, Any]: ...


RESULT_KEYS = ("succeeded", "failed", "input_tokens", "output_tokens")


@dataclass
class Mapped:
    """A run of consecutive records mapped to their output lines (same order), their
    counts (`RESULT_KEYS`), and where in the input the last of them ends."""

    lines: list[dict[str, Any]]
    counts: dict[str, int]
    records: int
    input_end: int


class RecordMapper(Protocol):
    """Where a job's records run; whatever the order they finish in, `map` yields them in
    input order, one `Mapped` per batch."""

    def map(self, batches: Iterator[list[Line]], file_name: str) -> Iterator[Mapped]: ...


class LocalMapper:
    """The records run in this process, one batch at a time, on the job's own Generator."""

    def __init__(self, codec: RecordCodec, generator: Any) -> None:
        self.codec, self.generator = codec, generator

    def map(self, batches: Iterator[list[Line]], file_name: str) -> Iterator[Mapped]:
        for batch in batches:
            counts = dict.fromkeys(RESULT_KEYS, 0)
            lines = process_records(self.codec, self.generator, batch, file_name, counts)
            yield Mapped(lines, counts, len(batch), batch[-1].end)


class BatchRunner:
    """Streams `files` through `generator` with `codec` into `output`, with checkpoints."""

    def __init__(
        self,
        ctx: JobContext,
        *,
        codec: RecordCodec,
        generator: Any,
        files: list[str],
        output: OutputFolder,
        batch_size: int,
        max_record_bytes: int,
        input_field: str = "input",
        deadline: datetime | None = None,
        deadline_message: str = "",
        mapper: RecordMapper | None = None,
    ) -> None:
        self.ctx, self.codec, self.generator = ctx, codec, generator
        self.mapper = mapper or LocalMapper(codec, generator)
        self.files, self.output = files, output
        self.batch_size, self.max_record_bytes = batch_size, max_record_bytes
        self.input_field = input_field
        self.deadline, self.deadline_message = deadline, deadline_message
        self.checkpoint = Checkpoint.load(ctx.dir)
        self.counts: dict[str, Any] = {**zero_counts(), **(self.checkpoint.counts or ctx.counts)}
        if not self.counts["total"]:  # a remote input: counted here, streamed once more below
            self.counts["total"] = count_records(files, field=input_field)
            ctx.save_counts(self.counts)
        outputs = dict(ctx.row.get("outputs") or {})
        if not outputs.get("files"):  # a remote input listed by the worker: now they are known
            outputs["files"] = [output.final(output_name(f)) for f in files]
            job_records.update_row(ctx.job_id, outputs=outputs)

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> Outcome:
        started, done_before = time.monotonic(), self.counts["processed"]
        for file in self.files:
            source = storage.basename(file)
            name = output_name(file)
            progress = self.checkpoint.progress(source)
            if progress.done:
                self._publish(name, progress)
                continue
            out_path = self.output.path(name)
            log.info("%s -> %s, from record %d", file, out_path, progress.records)
            with open_output(out_path, progress.offset) as out:
                for done in self.mapper.map(self._batches(file, progress), source):
                    self._write(done, out, progress)
                    if done.records == self.batch_size:  # between batches, as ever
                        self._report(started, done_before)
                        if (early := self.interrupted()) is not None:
                            return self.finish(early)
            progress.done = True
            self.checkpoint.save(self.ctx.dir)
            self._publish(name, progress)
        self._report(started, done_before)
        return self.finish(self.outcome())

    def interrupted(self) -> Outcome | None:
        """Between batches: an outcome that ends the job now, or None to go on."""
        if self.deadline is not None and datetime.now(UTC) > self.deadline:
            return Outcome(
                JobStatus.EXPIRED,
                self.deadline_message or "ran past its deadline; output so far kept",
            )
        if self.ctx.stop_requested():
            return Outcome(JobStatus.STOPPED, "stopped on request; output kept")
        return None

    def outcome(self) -> Outcome:
        ok, failed = self.counts["succeeded"], self.counts["failed"]
        if failed and not ok:
            return Outcome(JobStatus.FAILED, f"all {failed} records failed; see the .out files")
        if failed:
            return Outcome(
                JobStatus.PARTIALLY_COMPLETED, f"{ok} records succeeded, {failed} failed"
            )
        return Outcome(JobStatus.COMPLETED, f"{ok} records succeeded")

    def finish(self, outcome: Outcome) -> Outcome:
        """However the job ends: the manifest, and what is written so far published."""
        if self.codec.manifest_name:
            path = self.output.path(self.codec.manifest_name)
            path.write_text(json.dumps(self.codec.manifest(self.counts), indent=2) + "\n")
            self.output.publish(self.codec.manifest_name)
        for file in self.files:  # an early end: outputs of unfinished files, as they are
            progress = self.checkpoint.files.get(storage.basename(file))
            if progress is not None and not progress.published:
                self.output.publish(output_name(file))
        return outcome

    def _publish(self, name: str, progress: FileProgress) -> None:
        if self.output.remote is None or progress.published:
            return
        self.output.publish(name)
        progress.published = True
        self.checkpoint.save(self.ctx.dir)

    # -- one batch -----------------------------------------------------------------------
    def _batches(self, file: str, progress: FileProgress) -> Iterator[list[Line]]:
        """The file's lines not done yet, `batch_size` at a time."""
        batch: list[Line] = []
        for line in read_from(
            file,
            records=progress.records,
            offset=progress.input_offset,
            max_bytes=self.max_record_bytes,
            field=self.input_field,
        ):
            batch.append(line)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _write(self, done: Mapped, out: Any, progress: FileProgress) -> None:
        progress.offset = write_durably(out, done.lines)
        progress.records += done.records
        progress.input_offset = done.input_end
        for key, value in done.counts.items():
            self.counts[key] += value
        self.counts["processed"] += done.records
        self.checkpoint.counts = self.counts
        self.checkpoint.save(self.ctx.dir)
        self.ctx.save_counts(self.counts)

    def _report(self, started: float, done_before: int) -> None:
        rate = (self.counts["processed"] - done_before) / max(time.monotonic() - started, 1e-9)
        log.info(
            "processed %d/%d records (%d failed), %.1f records/s",
            self.counts["processed"],
            self.counts["total"],
            self.counts["failed"],
            rate,
        )
        self.ctx.metric("records_per_second", round(rate, 3), step=self.counts["processed"])


def process_records(
    codec: RecordCodec, generator: Any, batch: list[Line], file_name: str, counts: dict[str, Any]
) -> list[dict[str, Any]]:
    """One output line per input line, same order: the valid records run together, each
    bad one gets its error line and spares the rest; `counts` (`RESULT_KEYS`) grows by them."""
    decoded: list[Decoded | RecordFailure] = []
    planned: list[list[Any] | None] = []
    for line in batch:
        ref = RecordRef(file_name, line.index)
        record: Decoded | None = None
        try:
            record = codec.decode(line.data, ref)
            planned.append(generator.plan(record.request.prompts, record.request.params))
            decoded.append(record)
        except RecordFailure as refused:
            decoded.append(refused)
            planned.append(None)
        except ClientError as exc:  # e.g. the prompt is longer than the context
            decoded.append(
                RecordFailure(exc, record.key, record.echo)
                if record
                else RecordFailure(exc, codec.fallback_key(ref))
            )
            planned.append(None)
        except RecursionError:  # parsed, but too deep for the checks (and to echo)
            decoded.append(
                RecordFailure(
                    ClientError("the record nests too deeply", field="record", fix="flatten it"),
                    codec.fallback_key(ref),
                )
            )
            planned.append(None)
    outcomes = iter(generator.execute_each([items for items in planned if items]))
    lines: list[dict[str, Any]] = []
    for item, items in zip(decoded, planned, strict=True):
        results = next(outcomes) if items else None
        if isinstance(results, GenerationError) and isinstance(item, Decoded):
            item = RecordFailure(results, item.key, item.echo)
        if isinstance(item, RecordFailure) or not results:
            failure = (
                item
                if isinstance(item, RecordFailure)
                else RecordFailure(
                    ClientError("nothing to run", field="record"), item.key, item.echo
                )
            )
            counts["failed"] += 1
            lines.append(codec.failure(failure))
            continue
        counts["succeeded"] += 1
        counts["input_tokens"] += sum(r.input_tokens for r in results)
        counts["output_tokens"] += sum(sum(r.output_tokens) for r in results)
        lines.append(codec.success(item, results))
    return lines


def load_generator(ctx: JobContext, *, model_dir: str | None = None, options: Any = None) -> Any:
    """The job's model, loaded once; `model_load_seconds` (importing torch included) is
    recorded as a metric."""
    started = time.monotonic()
    from springboard.artifacts import resolve_model_dir
    from springboard.catalog import Catalog
    from springboard.inference.generator import create_generator

    spec = Catalog.load().get(ctx.row["model_id"], ctx.row["model_version"])
    generator = create_generator(spec, resolve_model_dir(spec, model_dir=model_dir), options)
    ctx.metric("model_load_seconds", round(time.monotonic() - started, 3))
    return generator
