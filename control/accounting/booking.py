"""Booking rules: what one hour books, per job and per site (pure functions, numpy in and out).

One rule per fact, called by the simulation (:func:`control.simulate.execute_hour`), the daemon's
store (finishing a tick records progress, settling an hour books the ledger) and ``report --db``
(which replays each job's work from the store's ledger):

- :func:`arrival_wait_h`: checkpoint-transfer time a job waits before it works at a site;
- :func:`hour_progress`: reference work done in the hour, the idle (transfer) part of it, and the
  transfer time carried to the job's next hour;
- :func:`hour_it_energy_mwh`: IT energy of a gang in the hour (busy GPUs for the work, idle GPUs
  while the checkpoint arrives);
- :func:`green_first`: a site's load is covered by its renewables first, the rest by the grid;
- :func:`green_share`: the share of each job's energy that is green (the site's split, pro rata);
- :func:`location_emissions_t`: grid energy at the grid's carbon intensity.
"""

from __future__ import annotations

import numpy as np


def arrival_wait_h(migrated: bool | np.ndarray, move_h: float | np.ndarray,
                   transfer_left_h: float | np.ndarray) -> np.ndarray:
    """Hours a job waits for its checkpoint at the site it runs at this hour.

    A job that moved (``migrated``: it last ran at another site) waits the whole move
    (``move_h``: checkpoint size / WAN bandwidth); one that stays waits what is left of an
    earlier move (``transfer_left_h``)."""
    return np.where(migrated, move_h, transfer_left_h).astype(float)


def hour_progress(remaining_gpu_h: float | np.ndarray, gpus: float | np.ndarray, throughput: float | np.ndarray,
                  waiting_h: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(done_gpu_h, idle_h, transfer_left_h)`` of one hour of a gang.

    The gang idles while its checkpoint arrives (at most the hour), then works at
    ``gpus x throughput`` reference GPU-hours per hour; the work is capped by what the job has
    left (a job that finishes early stops). The rest of a transfer longer than an hour carries
    over to the next hour."""
    idle_h = np.minimum(waiting_h, 1.0)
    done = np.minimum(remaining_gpu_h, gpus * throughput * (1.0 - idle_h))
    return done, idle_h, waiting_h - idle_h


def hour_it_energy_mwh(done_gpu_h: float | np.ndarray, gpus: float | np.ndarray, idle_h: float | np.ndarray,
                       throughput: float | np.ndarray, gpu_it_mw: float | np.ndarray,
                       gpu_idle_it_mw: float | np.ndarray = 0.0) -> np.ndarray:
    """IT energy [MWh] of the hour: busy GPU-hours for the work done plus the idle draw of the
    gang while it waits for its checkpoint."""
    return np.asarray(done_gpu_h / throughput * gpu_it_mw + gpus * idle_h * gpu_idle_it_mw)


def green_first(load_mwh: float | np.ndarray, green_mwh: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(green_used_mwh, grid_mwh)`` of a site's hour: renewables cover the load first."""
    green_used = np.minimum(load_mwh, green_mwh)
    return green_used, load_mwh - green_used


def green_share(site_load_mwh: float | np.ndarray, green_mwh: float | np.ndarray) -> np.ndarray:
    """Share of each job's energy that is green at a site: the site's green-first split, shared
    pro rata to energy (0 at a site without load)."""
    load = np.asarray(site_load_mwh, dtype=float)
    safe = np.where(load > 0, load, 1.0)
    return np.where(load > 0, np.minimum(1.0, np.fmax(green_mwh, 0.0) / safe), 0.0)  # NaN green: none


def location_emissions_t(grid_mwh: float | np.ndarray, ci_g_per_kwh: float | np.ndarray) -> np.ndarray:
    """Location-based emissions [tCO2] of grid energy [MWh] at an intensity [gCO2/kWh]."""
    return np.asarray(grid_mwh * ci_g_per_kwh / 1000.0)
