"""Table definitions (SQLAlchemy Core). Changing a table means adding a migration in
`migrations.py`, never editing an applied one."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

migrations_table = Table(
    "schema_migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("version", String(50), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=True),
)

# What `endpoints.env` holds for a variable that is not a deployment setting: its value
# (a token, a path) reaches the server through its environment and is never stored.
REDACTED = "<redacted>"

endpoints = Table(
    "endpoints",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("model_id", String(200), nullable=False),
    Column("model_version", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=True),
    Column("url", String(300), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("pid_started", Float, nullable=True),
    Column("env", JSON, nullable=False),
    Column("model_dir", Text, nullable=True),
    Column("log_path", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False, index=True),
    Column("name", String(100), nullable=False, index=True),
    Column("model_id", String(200), nullable=False),
    Column("model_version", String(50), nullable=False),
    Column("status", String(30), nullable=False, index=True),
    Column("status_message", Text, nullable=True),
    Column("inputs", JSON, nullable=False),
    Column("outputs", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("client_token", String(256), nullable=True, index=True),
    Column("pid", Integer, nullable=True),
    Column("pid_started", Float, nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)

# A job's name is unique among its kind (added by m005; a table m003 creates now has it).
jobs_kind_name = Index("ux_jobs_kind_name", jobs.c.kind, jobs.c.name, unique=True)

# Uploaded files (the OpenAI Files API): the bytes live under SPRINGBOARD_HOME/files/<id>/.
files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("purpose", String(20), nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)
