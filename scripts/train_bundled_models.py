#!/usr/bin/env python
"""Make the bundled models from nothing: build the tokenizers and architectures
(`build_bundled_models.py`, seconds), then train both models side by side, one CPU thread
each -- the text2text model (`train_tiny_t5.py`) and the causal one
(`train_tiny_llama.py`) -- each of which writes
its weights, its `training.json` and its model card with figures measured through
Springboard. Seeded and deterministic. `make models` runs this (on the 2-core build
machine: about 27 minutes of training for each model, side by side, then a few minutes of
measuring).

    .venv/bin/python scripts/train_bundled_models.py [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
T5_ARGS = ["--steps", "1200", "--threads", "1"]
LLAMA_ARGS = ["--steps", "1100"]  # the causal model's schedule: see its card


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=HERE.parent / "src" / "springboard" / "bundled")
    args = parser.parse_args()
    started = time.monotonic()
    out = ["--output-dir", str(args.output_dir)]
    subprocess.run([sys.executable, str(HERE / "build_bundled_models.py"), *out], check=True)
    log_dir = Path(tempfile.mkdtemp(prefix="springboard-train-"))
    commands = {"t5": [*T5_ARGS, *out], "llama": [*LLAMA_ARGS, *out]}
    trained = tuple(commands)
    logs = {name: open(log_dir / f"{name}.log", "w") for name in trained}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SPRINGBOARD_TRAIN_THREADS": "1"}
    runs = {name: subprocess.Popen([sys.executable, str(HERE / f"train_tiny_{name}.py"), *args],
                                   stdout=logs[name], stderr=subprocess.STDOUT, env=env)
            for name, args in commands.items()}
    print(f"training {', '.join(trained)}; follow the logs in {log_dir}", flush=True)
    failed = [name for name, run in runs.items() if run.wait() != 0]
    for handle in logs.values():
        handle.close()
    if failed:
        print(f"training failed: {', '.join(failed)} (see the logs)", file=sys.stderr)
        return 1
    print(f"trained {', '.join(trained)} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
