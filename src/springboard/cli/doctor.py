"""`springboard doctor`: what is installed, where state lives, which models are here.

Renders `springboard.diagnostics.diagnose()` as plain lines (or JSON with `--json`); the
gathering lives in the library. Plain `typer.echo` lines, so nothing is cut when piped.
"""

from __future__ import annotations

import typer

from springboard.cli.options import JsonOpt
from springboard.cli.output import emit_json


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable


def doctor(json_out: JsonOpt = False) -> None:
    """Say what is installed, where state lives, and which catalog models are available."""
    from springboard.diagnostics import diagnose

    report = diagnose()
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    echo = typer.echo
    echo(f"{'Python':<16}{report.python}")
    for package in report.packages:
        version = package.version or "not installed"
        note = " (optional: s3 locations)" if package.optional and not package.version else ""
        echo(f"{package.name:<16}{version}{note}")
    echo("")
    echo(f"home            {report.home} ({_size(report.home_bytes)}; SPRINGBOARD_HOME)")
    created = "" if report.database_exists else " (not created yet)"
    echo(f"database        {report.database_url}{created}")
    roots = ", ".join(report.data_roots)
    echo(f"data roots      {roots} ({report.data_roots_source}; for HTTP callers only)")
    echo(f"offline         {str(report.offline).lower()} (SPRINGBOARD_OFFLINE)")
    echo(f"HF cache        {report.hf_cache}")
    threads = report.threads
    echo(f"threads         {threads.threads} for a new worker ({threads.reason}); {threads.rule}")
    echo(f"endpoints       {report.endpoints_running} running of {report.endpoints_total}")
    echo(f"jobs            {report.jobs_active} active")
    echo("")
    available = sum(1 for m in report.models if m.available)
    echo(f"models          {available} available of {len(report.models)}")
    for model in report.models:
        if model.available:
            echo(f"  available  {model.id} {model.version}  {model.path}")
        else:
            echo(f"  missing    {model.id} {model.version}  {model.source}")
            if model.fix:
                echo(f"             {model.fix}")
