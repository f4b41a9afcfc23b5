"""Open the store and the workload-manager adapter a config names."""

from __future__ import annotations

import os
import socket

from control.runtime.adapters import FileAdapter, WorkloadManager
from control.settings import Settings
from control.store import Store


def open_store(settings: Settings, create: bool = False) -> Store:
    """The configured store; refuses a missing one unless ``create`` (``codispatch init``)."""
    return Store.open(settings.runtime.url(), retries=settings.runtime.db_retries, create=create)


def make_adapter(settings: Settings) -> WorkloadManager:
    capacity = {s.name: s.gpu_count for s in settings.sites}
    if settings.runtime.adapter == "slurm":
        from control.runtime.slurm import SlurmAdapter

        partitions = {s.name: settings.runtime.slurm_partitions.get(s.name, s.name) for s in settings.sites}
        runtime = settings.runtime
        return SlurmAdapter(partitions, capacity, user=runtime.slurm_user, account=runtime.slurm_account,
                            timeout_s=runtime.slurm_timeout_s)
    return FileAdapter(settings.runtime.intents_file, capacity)


def lease_holder(kind: str) -> str:
    """``<kind>:<host>:<pid>`` - who holds the store's lease."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str) -> bool:
    """True when ``holder`` is a process on this host that no longer runs (killed, crashed):
    its lease need not be waited out. Holders on other hosts are trusted until they expire."""
    parts = holder.split(":")
    if len(parts) != 3 or parts[1] != socket.gethostname() or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
