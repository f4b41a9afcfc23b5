"""Prometheus metrics, read from the store at each scrape (the daemon and the API may be
different processes: the store is what both see). Names follow Prometheus conventions: the
``codispatch_`` prefix, base units in the name (``_seconds``, ``_mw``), ``_total`` for counters."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from control.operations import queries
from control.operations.queries import Operations


class StoreCollector(Collector):
    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    def collect(self) -> Iterator[Metric]:
        ops = self.ops
        state = queries.status(ops)
        ticks = CounterMetricFamily("codispatch_ticks", "Control ticks stored", labels=[])
        ticks.add_metric([], state["ticks"])
        yield ticks
        stats = queries.tick_stats(ops)
        for key, name, doc in (("duration_s", "codispatch_tick_duration_seconds", "Wall time of the newest finished tick"),
                               ("solve_s", "codispatch_solver_seconds", "HiGHS solve time of the newest tick"),
                               ("plan_s", "codispatch_tick_plan_seconds", "Planning time of the newest tick"),
                               ("tick_timestamp_s", "codispatch_last_tick_timestamp_seconds",
                                "Unix time of the newest finished tick's hour")):
            if key in stats:
                gauge = GaugeMetricFamily(name, doc)
                gauge.add_metric([], stats[key])
                yield gauge
        flags = CounterMetricFamily("codispatch_tick_flags", "Ticks that raised each degraded-mode flag",
                                    labels=["flag"])
        for flag, count in sorted(queries.flag_counts(ops).items()):
            flags.add_metric([flag], count)
        yield flags
        last_flags = GaugeMetricFamily("codispatch_last_tick_flag", "1 for each flag the newest tick raised",
                                       labels=["flag"])
        for flag in (state["last_tick"] or {}).get("flags", []):
            last_flags.add_metric([flag], 1.0)
        yield last_flags
        jobs = GaugeMetricFamily("codispatch_jobs", "Jobs in the store by state", labels=["state"])
        for name, count in sorted(state["jobs_by_state"].items()):
            jobs.add_metric([name], count)
        yield jobs
        intents = GaugeMetricFamily("codispatch_intents", "Dispatch intents by status (failed = pending with "
                                    "failed sends)", labels=["status"])
        for name, count in sorted(state["intents_by_status"].items()):
            intents.add_metric([name], count)
        intents.add_metric(["failed"], state["intents_failed"])
        yield intents
        requests = GaugeMetricFamily("codispatch_requests_pending", "Operator requests the next tick acts on")
        requests.add_metric([], state["requests_pending"])
        yield requests
        power = queries.site_power_now(ops)
        for key, name, doc in (
            ("planned_mw", "codispatch_planned_power_mw", "Planned facility power in the newest tick's hour"),
            ("actual_mw", "codispatch_actual_power_mw", "Facility power of the newest booked hour"),
            ("green_share", "codispatch_green_share_ratio", "Share of the newest booked hour's energy that was green"),
            ("headroom_mw", "codispatch_grid_headroom_mw", "Import limit minus planned grid import, newest hour"),
            ("grid_mw", "codispatch_planned_grid_import_mw", "Planned grid import in the newest tick's hour"),
            ("green_forecast_mw", "codispatch_green_forecast_mw", "Green supply forecast for the newest tick's hour"),
            ("ci_g_per_kwh", "codispatch_carbon_intensity_g_per_kwh", "Grid carbon intensity the newest tick used"),
        ):
            gauge = GaugeMetricFamily(name, doc, labels=["site"])
            for site, values in sorted(power.items()):
                if key in values:
                    gauge.add_metric([site], values[key])
            yield gauge
        ages = GaugeMetricFamily("codispatch_feed_age_seconds", "Age of the newest forecast issue / measured hour",
                                 labels=["feed"])
        for feed, age in sorted(queries.feed_ages_s(ops).items()):
            ages.add_metric([feed], age)
        yield ages


def registry_for(ops: Operations) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(ops))
    return registry
