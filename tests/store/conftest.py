"""Store back-ends for the same tests: SQLite in a temp file, and a real PostgreSQL server
(``postgres_url`` in ../conftest.py, started on 127.0.0.1 and stopped when the tests are done)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url = request.getfixturevalue("postgres_url")
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:  # a clean schema per test
        connection.execute(sa.text("drop schema public cascade; create schema public"))
    engine.dispose()
    return url
