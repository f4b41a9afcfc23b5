"""Store faults (issue 13 items 2 and 11, fault campaign): a store that is missing, deleted,
replaced, read-only, on a full disk, or whose PostgreSQL connection is cut mid-transaction.

Permanent faults are named at once (path and fix), never retried as if transient and never
answered by creating a new, empty store; transient ones are retried and write exactly once."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from control.store import Store, StoreGone, StorePermanentError
from control.store.tables import IntentRecord

T0 = datetime(2023, 7, 3, 0, tzinfo=timezone.utc)


def _intent(key: str) -> IntentRecord:
    return IntentRecord(key=key, tick_time=T0, job_id="j", action="hold", created_at=T0)


def _add(store: Store, key: str) -> None:
    store._run(lambda session: session.add(_intent(key)))


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``path`` (we are root in the test container), unmounted after."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_a_missing_store_is_refused_and_not_created(tmp_path) -> None:
    path = tmp_path / "store.sqlite"
    with pytest.raises(StoreGone, match=r"no codispatch store at .*store.sqlite.*codispatch init"):
        Store.open(f"sqlite:///{path}")
    assert not path.exists()
    with Store.open(f"sqlite:///{path}", create=True) as store:  # explicit creation writes the identity
        first = store.identity().store_id
    with Store.open(f"sqlite:///{path}", create=True) as store:  # creating again changes nothing
        assert store.identity().store_id == first


def test_a_store_deleted_under_an_open_store_is_refused_not_recreated(tmp_path) -> None:
    path = tmp_path / "store.sqlite"
    store = Store.open(f"sqlite:///{path}", create=True)
    _add(store, "a")
    path.unlink()
    with pytest.raises(StoreGone, match="was deleted"):
        _add(store, "b")
    with pytest.raises(StoreGone, match="was deleted"):
        store.acquire_lease("daemon:x:1", 60, T0)  # the lease renewal no longer 'succeeds' on a new store
    assert not path.exists()
    store.close()


def test_a_replaced_store_is_refused(tmp_path) -> None:
    path = tmp_path / "store.sqlite"
    store = Store.open(f"sqlite:///{path}", create=True)
    _add(store, "a")
    path.rename(tmp_path / "old.sqlite")
    Store.open(f"sqlite:///{path}", create=True).close()  # someone created another store there
    with pytest.raises(StoreGone, match="was replaced"):
        store.pending_intents()
    store.close()


@pytest.mark.postgres
def test_an_emptied_postgres_store_is_refused(postgres_url) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text("drop schema public cascade; create schema public"))
    store = Store.open(postgres_url, create=True)
    _add(store, "a")
    with engine.begin() as connection:  # dropped and recreated under the running process
        connection.execute(sa.text("drop schema public cascade; create schema public"))
    engine.dispose()
    with pytest.raises(StorePermanentError, match="codispatch init"):  # no tables any more
        store.pending_intents()
    Store.open(postgres_url, create=True).close()  # a new, different store in the same database
    with pytest.raises(StoreGone, match="not the store this process opened"):
        store.pending_intents()
    store.close()


def test_a_missing_folder_is_permanent_and_named_at_once(tmp_path) -> None:
    started = time.monotonic()
    with pytest.raises(StorePermanentError, match=r"folder .*nowhere does not exist.*mkdir -p"):
        Store.open(f"sqlite:///{tmp_path / 'nowhere' / 'store.sqlite'}", retries=5, create=True)
    assert time.monotonic() - started < 1.0  # no retries with back-off
    assert not (tmp_path / "nowhere").exists()


def test_a_read_only_store_is_permanent_and_named_at_once(tmp_path) -> None:
    with tmpfs(tmp_path / "mnt", "4m") as mount:
        url = f"sqlite:///{mount / 'store.sqlite'}"
        Store.open(url, create=True).close()
        store = Store.open(url, retries=5)
        _add(store, "a")
        store.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        started = time.monotonic()
        with pytest.raises(StorePermanentError, match=r"store .*store.sqlite.*read-only.*writable"):
            store = Store.open(url, retries=5)
            _add(store, "b")
        assert time.monotonic() - started < 2.0
        store.close()
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        with Store.open(url) as store:  # nothing half written; works again once writable
            assert sorted(store.intents()["key"]) == ["a"]


def test_a_full_disk_is_permanent_and_loses_nothing_committed(tmp_path) -> None:
    with tmpfs(tmp_path / "mnt", "1m") as mount:
        url = f"sqlite:///{mount / 'store.sqlite'}"
        store = Store.open(url, create=True, retries=5)
        committed = []
        with pytest.raises(StorePermanentError, match="disk holding the store is full"):
            for n in range(10_000):
                key = f"{n:05d}|" + "x" * 2000
                _add(store, key)
                committed.append(key)
        store.close()
        (mount / "filler").unlink(missing_ok=True)
        with Store.open(url) as store:
            assert sorted(store.intents()["key"]) == committed  # every committed write is there, once
        assert len(committed) > 10


@pytest.mark.postgres
def test_postgres_connection_cut_mid_transaction_is_retried_and_writes_once(postgres_url) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text("drop schema public cascade; create schema public"))
    store = Store.open(postgres_url, create=True, retries=3)
    cuts = []

    def work(session) -> None:  # noqa: ANN001
        session.add(_intent("cut"))
        session.flush()
        if not cuts:  # first attempt: the server terminates this backend before the commit
            pid = session.execute(sa.text("select pg_backend_pid()")).scalar_one()
            with engine.begin() as other:
                cuts.append(other.execute(sa.text("select pg_terminate_backend(:p)"), {"p": pid}).scalar_one())

    store._run(work)
    assert cuts == [True]
    assert list(store.intents()["key"]) == ["cut"]  # retried on a new connection, written once
    store.close()
    engine.dispose()
