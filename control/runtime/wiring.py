"""Open the store and the workload-manager adapter a config names."""

from __future__ import annotations

from control.runtime.adapters import FileAdapter, WorkloadManager
from control.settings import Settings
from control.store import Store


def open_store(settings: Settings) -> Store:
    return Store.open(settings.runtime.url(), retries=settings.runtime.db_retries)


def make_adapter(settings: Settings) -> WorkloadManager:
    capacity = {s.name: s.gpu_count for s in settings.sites}
    if settings.runtime.adapter == "slurm":
        from control.runtime.slurm import SlurmAdapter

        partitions = {s.name: settings.runtime.slurm_partitions.get(s.name, s.name) for s in settings.sites}
        return SlurmAdapter(partitions, capacity)
    return FileAdapter(settings.runtime.intents_file, capacity)
