"""The state database: SQLite in WAL mode, ordered migrations, registered models in the catalog."""

from __future__ import annotations

import json

from sqlalchemy import text

from springboard.catalog import Catalog
from springboard.config import get_settings
from springboard.store import engine_for
from springboard.store.migrations import MIGRATIONS, migrate
from springboard.store.registered_models import list_registered, register


def test_sqlite_file_in_home_with_wal(isolated_env):
    engine = engine_for()
    assert (isolated_env / "state.db").exists()
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        names = conn.execute(text("SELECT name FROM schema_migrations")).scalars().all()
    assert names == [name for name, _ in MIGRATIONS]


def test_migrations_run_once(isolated_env):
    engine = engine_for()
    with engine.begin() as conn:
        assert migrate(conn) == []


def test_listing_does_not_create_the_database(isolated_env):
    assert list_registered() == []
    assert not (isolated_env / "state.db").exists()


def test_registered_model_appears_in_the_catalog(isolated_env):
    base = Catalog.load().get("springboard-tiny-t5")
    spec = base.model_copy(
        update={"id": "springboard-tiny-t5-ft-demo", "lineage": {"base_model": base.id}}
    )
    register(json.loads(spec.model_dump_json()))
    catalog = Catalog.load()
    assert catalog.get("springboard-tiny-t5-ft-demo").lineage == {"base_model": base.id}
    assert get_settings().home == isolated_env


def _job_row(job_id: str, kind: str, name: str) -> dict:
    return {
        "id": job_id,
        "kind": kind,
        "name": name,
        "model_id": "m",
        "model_version": "1",
        "status": "Submitted",
        "status_message": None,
        "inputs": {},
        "outputs": {},
        "settings": {},
        "counts": {},
        "client_token": None,
    }


def test_job_names_become_unique_per_kind_and_old_twins_are_renamed(isolated_env):
    from datetime import UTC, datetime, timedelta

    import pytest

    from springboard.store import job_records
    from springboard.store.schema import jobs

    engine = engine_for()
    start = datetime.now(UTC)
    with engine.begin() as conn:  # a database as an older version left it: twins allowed
        conn.execute(text("DROP INDEX ux_jobs_kind_name"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = 'm005_unique_job_names'"))
        for i, kind in enumerate(["transform", "transform", "training"]):
            moment = start + timedelta(seconds=i)
            conn.execute(
                jobs.insert().values(
                    **_job_row(f"j{i}", kind, "demo"), created_at=moment, updated_at=moment
                )
            )
    with engine.begin() as conn:
        assert migrate(conn) == ["m005_unique_job_names"]
    assert {r["id"]: r["name"] for r in job_records.find()} == {
        "j0": "demo",
        "j1": "demo-j1",
        "j2": "demo",
    }  # the oldest keeps its name
    with pytest.raises(job_records.DuplicateNameError):
        job_records.insert(_job_row("j3", "transform", "demo"))
    job_records.insert(_job_row("j4", "invocation", "demo"))  # another kind may use it
    assert [r["id"] for r in job_records.find(status_in=("Submitted",), kind="invocation")] == [
        "j4"
    ]


def test_a_new_database_opened_at_once_by_threads_and_processes_migrates_once(isolated_env):
    import subprocess
    import sys
    import threading

    from tests.conftest import cli_env

    script = (
        "from springboard.store import engine_for\n"
        "from sqlalchemy import text\n"
        "with engine_for().connect() as conn:\n"
        "    print(conn.execute(text('SELECT count(*) FROM schema_migrations')).scalar())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=cli_env(isolated_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            engine_for()
        except Exception as exc:  # noqa: BLE001 (the outcome under test)
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert errors == []
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert [int(out) for out, _ in outputs] == [len(MIGRATIONS)] * 3
    with engine_for().connect() as conn:
        names = conn.execute(text("SELECT name FROM schema_migrations")).scalars().all()
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)
