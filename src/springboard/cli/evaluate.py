"""`springboard evaluate rouge|accuracy`: score a predictions file against references.

The scoring is `springboard.evaluation`'s; this module maps options to it and draws the
table. rouge-score and pydantic load inside the commands, not at `--help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from springboard.cli.output import console, emit_json
from springboard.evaluation import (
    ACCURACY_REFERENCE_FIELD,
    ID_FIELD,
    PREDICTION_FIELD,
    ROUGE_REFERENCE_FIELD,
)

app = typer.Typer(
    help="Score predictions against references: ROUGE, exact-match accuracy.", no_args_is_help=True
)

PredictionsOpt = Annotated[
    Path,
    typer.Option(
        "--predictions",
        help="JSON Lines predictions, one object per line (e.g. a batch job's "
        ".out file); lines with an `error` object are counted, not scored.",
    ),
]
ReferencesOpt = Annotated[
    Path, typer.Option("--references", help="JSON Lines references, one object per line.")
]
IdFieldOpt = Annotated[
    str,
    typer.Option("--id-field", help='Field that joins the two files; 1 and "1" are the same id.'),
]
PredictionFieldOpt = Annotated[
    str,
    typer.Option(
        "--prediction-field",
        help="Field holding the prediction: a string, or a list whose "
        "first element (or first element's first element) is used.",
    ),
]
PerRecordOpt = Annotated[
    Path | None,
    typer.Option("--per-record", help="Also write one JSON line per scored id, with its scores."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("rouge")
def rouge(
    predictions: PredictionsOpt,
    references: ReferencesOpt,
    id_field: IdFieldOpt = ID_FIELD,
    prediction_field: PredictionFieldOpt = PREDICTION_FIELD,
    reference_field: Annotated[
        str,
        typer.Option(
            "--reference-field",
            help="Field holding the reference text, or a list of them "
            "(the best-scoring one counts).",
        ),
    ] = ROUGE_REFERENCE_FIELD,
    per_record: PerRecordOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mean ROUGE-1/2/L/Lsum precision, recall and F1 (rouge-score, Porter stemmer)."""
    from springboard.evaluation import ROUGE_TYPES
    from springboard.evaluation import rouge as score_rouge

    report = score_rouge(
        predictions,
        references,
        id_field=id_field,
        prediction_field=prediction_field,
        reference_field=reference_field,
        per_record=per_record,
    )
    if json_out:
        emit_json(report.model_dump())
        return
    table = Table("metric", "precision", "recall", "F1", title=f"ROUGE over {report.count} pairs")
    for name in ROUGE_TYPES:
        score = getattr(report, name)
        table.add_row(
            name, f"{score.precision:.4f}", f"{score.recall:.4f}", f"{score.fmeasure:.4f}"
        )
    console.print(table)
    _print_coverage(report, per_record)


@app.command("accuracy")
def accuracy(
    predictions: PredictionsOpt,
    references: ReferencesOpt,
    id_field: IdFieldOpt = ID_FIELD,
    prediction_field: PredictionFieldOpt = PREDICTION_FIELD,
    reference_field: Annotated[
        str,
        typer.Option(
            "--reference-field",
            help="Field holding the answer, or a list of acceptable answers (any one matches).",
        ),
    ] = ACCURACY_REFERENCE_FIELD,
    normalize: Annotated[
        bool,
        typer.Option(
            "--normalize/--no-normalize",
            help="Compare SQuAD-style: lowercase, punctuation "
            "around words and a/an/the dropped, spaces "
            "collapsed. Off: identical strings only.",
        ),
    ] = True,
    per_record: PerRecordOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Exact-match accuracy: the share of predictions equal to a reference answer."""
    from springboard.evaluation import accuracy as score_accuracy

    report = score_accuracy(
        predictions,
        references,
        id_field=id_field,
        prediction_field=prediction_field,
        reference_field=reference_field,
        normalize=normalize,
        per_record=per_record,
    )
    if json_out:
        emit_json(report.model_dump())
        return
    how = "normalised" if report.normalized else "verbatim"
    console.print(
        f"[bold]accuracy[/] {report.accuracy:.4f}  ({report.correct} of "
        f"{report.count} pairs match, compared {how})",
        highlight=False,
    )
    _print_coverage(report, per_record)


def _print_coverage(report: Any, per_record: Path | None) -> None:
    rows = [
        ("scored", report.count, [], ""),
        (
            "missing predictions",
            len(report.missing_predictions),
            report.missing_predictions,
            "reference ids with no prediction",
        ),
        (
            "missing references",
            len(report.missing_references),
            report.missing_references,
            "prediction ids with no reference",
        ),
        (
            "errored",
            report.errored,
            report.errored_ids,
            "prediction lines with an `error`, not scored",
        ),
    ]
    for label, count, ids, meaning in rows:
        sample = ", ".join(str(i) for i in ids[:5]) + (", …" if len(ids) > 5 else "")
        detail = f"  {meaning}: {sample}" if ids else ""
        console.print(f"[bold]{label:>19}[/]  {count}{detail}", highlight=False)
    if per_record is not None:
        console.print(f"per-record results written to {per_record}", highlight=False)
