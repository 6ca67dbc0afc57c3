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
    spec = base.model_copy(update={"id": "springboard-tiny-t5-ft-demo",
                                   "lineage": {"base_model": base.id}})
    register(json.loads(spec.model_dump_json()))
    catalog = Catalog.load()
    assert catalog.get("springboard-tiny-t5-ft-demo").lineage == {"base_model": base.id}
    assert get_settings().home == isolated_env
