"""Loss curves of a job's metrics stream, as a PNG (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from springboard.errors import ClientError


def plot_losses(points: list[dict[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Draw train_loss and val_loss against step; raise if the stream has neither."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {
        name: [
            (p.get("step", i), p["value"]) for i, p in enumerate(points) if p["metric_name"] == name
        ]
        for name in ("train_loss", "val_loss")
    }
    if not any(series.values()):
        raise ClientError(
            "this job has no train_loss or val_loss metrics to plot",
            field="points",
            fix="plot the metrics of a training job",
        )
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in series.items():
        if values:
            steps, losses = zip(*values, strict=True)
            ax.plot(steps, losses, marker="o" if name == "val_loss" else None, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
