"""A training job's checkpoints (`$SPRINGBOARD_HOME/jobs/ID/checkpoints/`, written by the
trainer): which one a resume starts from, and their removal once the job has succeeded.

A checkpoint holds the weights, the optimizer state and the learning-rate schedule; only
resuming reads it. The registered model lives elsewhere (`models/`) and is never touched
here. Removal goes through `housekeeping.layout.remove` (inside home only, counted).
"""

from __future__ import annotations

import logging
from pathlib import Path

from springboard.config import get_settings

log = logging.getLogger("springboard.training")


def newest(out_dir: Path) -> Path | None:
    """The newest complete checkpoint: the trainer writes `trainer_state.json` last, so a
    directory without it was cut off mid-save (a kill -9) and is skipped."""
    complete = [
        p
        for p in out_dir.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return max(complete, key=lambda p: int(p.name.split("-")[-1]), default=None)


def after_success(out_dir: Path, keep: bool) -> str:
    """Remove a successful run's checkpoints unless `keep` (the `keep_checkpoints`
    hyperparameter); what was done and how many bytes, for the job's message (also logged)."""
    from springboard.housekeeping import layout

    if keep:
        kept = layout.measure(out_dir).bytes
        log.info("kept the checkpoints in %s (%s)", out_dir, _megabytes(kept))
        return f"checkpoints kept in {out_dir} ({_megabytes(kept)})"
    freed = layout.remove(get_settings().home, out_dir)
    log.info("removed the checkpoints in %s: %s freed", out_dir, _megabytes(freed))
    return f"checkpoints removed ({_megabytes(freed)} freed; keep_checkpoints=true keeps them)"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
