"""Alembic environment: runs on the connection ``control.store.engine.migrate`` passes in."""

from alembic import context
from sqlmodel import SQLModel

import control.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through control.store.engine.migrate(engine)")
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
