"""Warm start between control steps: carry the simplex basis of the last LP to the next one.

Consecutive hourly LPs are nearly the same problem one hour later: most job classes, sites and
hours reappear, only the first hour dropped, a new last hour added and a few classes re-formed.
The LP's columns and rows are renumbered every step, so the basis is carried by *keys* that stay
the same from step to step:

- a class is named by its member with the smallest stable job number (the policy numbers jobs
  in the order it first sees them), so a class keeps its key while its composition is unchanged;
- hours are absolute (hours since 1970), not positions in the horizon.

Columns and rows found again take their last status; new ones start at their lower bound
(columns) or basic (row slacks). HiGHS is told the basis is "alien": it repairs a basis with the
wrong number of basic variables or a singular one before the dual simplex starts from it. The
result is the same optimum (tested); only the number of iterations changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.mpc.build import LinearProgram

_HOUR_BITS = 21  # hours since 1970 < 2**21 until the year 2209
_SITE_BITS = 10
_TAG_BITS = 28


@dataclass(frozen=True)
class Basis:
    """Simplex statuses of one LP's columns and rows (HiGHS ``HighsBasisStatus`` values)."""

    col_status: np.ndarray
    row_status: np.ndarray


@dataclass(frozen=True)
class LpKeys:
    """Step-independent identities of an LP's columns and rows (int64, unique within a family)."""

    cols: np.ndarray
    rows: np.ndarray


class JobNumbers:
    """Stable small integers for job ids, in the order they are first seen."""

    def __init__(self) -> None:
        self._number: dict[str, int] = {}

    def of(self, job_ids: np.ndarray) -> np.ndarray:
        number = self._number
        for job in job_ids:
            if job not in number:
                number[job] = len(number) + 1
        return np.fromiter((number[j] for j in job_ids), dtype=np.int64, count=len(job_ids))


def class_tags(job_numbers: np.ndarray, class_of_job: np.ndarray, n_class: int) -> np.ndarray:
    """Key of each class: the smallest stable number among its members."""
    tags = np.full(n_class, np.iinfo(np.int64).max)
    np.minimum.at(tags, class_of_job, job_numbers)
    return tags % (1 << _TAG_BITS)


def _key(family: int, tag: np.ndarray, site: np.ndarray, hour: np.ndarray) -> np.ndarray:
    key = np.asarray(family, dtype=np.int64)
    key = (key << _TAG_BITS) | np.asarray(tag, dtype=np.int64)
    key = (key << _SITE_BITS) | np.asarray(site, dtype=np.int64)
    return (key << _HOUR_BITS) | (np.asarray(hour, dtype=np.int64) % (1 << _HOUR_BITS))


def lp_keys(lp: LinearProgram, tags: np.ndarray, first_hour: int, n_site: int, n_step: int) -> LpKeys:
    """Keys of the columns and rows of an LP from :func:`control.mpc.build.build_lp`.

    ``tags`` are the classes' keys (:func:`class_tags`), ``first_hour`` the absolute hour of
    step 0 (hours since 1970).
    """
    idx = lp.index
    hour = first_hour + np.arange(n_step)
    site_st = np.repeat(np.arange(n_site), n_step)
    hour_st = np.tile(hour, n_site)
    zero_st = np.zeros(n_site * n_step, dtype=np.int64)
    cols = np.concatenate([
        _key(1, tags[idx.job], idx.site, first_hour + idx.step),
        _key(2, zero_st, site_st, hour_st),  # green used
        _key(3, zero_st, site_st, hour_st),  # grid import
        _key(4, zero_st, site_st, hour_st),  # export
        _key(5, tags, np.zeros(len(tags), dtype=np.int64), np.zeros(len(tags), dtype=np.int64)),  # work missing
    ])
    rows = np.empty(lp.a.shape[0], dtype=np.int64)
    for family, (name, span) in enumerate(lp.row_families.items(), start=6):
        n = span.stop - span.start
        if name in ("balance", "green_split", "gpu_capacity"):
            rows[span] = _key(family, zero_st, site_st, hour_st)
        elif name == "gang_rate":
            # rows are the unique (job, step) pairs of multi-site jobs, in sorted order
            a = lp.a[span.start:span.stop].tocsr()
            first_col = a.indices[a.indptr[:-1]]
            rows[span] = _key(family, tags[idx.job[first_col]], np.zeros(n, dtype=np.int64), first_hour + idx.step[first_col])
        elif name == "work":
            rows[span] = _key(family, tags, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
        else:  # line limits: (branch, step), branch-major
            branch = np.arange(n) // n_step
            rows[span] = _key(family, branch, np.zeros(n, dtype=np.int64), hour[np.arange(n) % n_step])
    return LpKeys(cols, rows)


def carry_basis(previous: Basis, previous_keys: LpKeys, keys: LpKeys, lp: LinearProgram) -> Basis | None:
    """The previous basis mapped onto this LP's columns and rows (see the module docstring);
    None when nothing carries over."""
    col_status = _carry(previous.col_status, previous_keys.cols, keys.cols, default=_LOWER)
    row_status = _carry(previous.row_status, previous_keys.rows, keys.rows, default=_BASIC)
    if col_status is None or row_status is None:
        return None
    # a nonbasic variable must sit at a finite bound
    col_status = _at_finite_bound(col_status, lp.col_lb, lp.col_ub)
    row_status = _at_finite_bound(row_status, lp.row_lb, lp.row_ub, free_status=_BASIC)
    return Basis(col_status, row_status)


_LOWER, _BASIC, _UPPER, _ZERO = 0, 1, 2, 3


def _carry(status: np.ndarray, old_keys: np.ndarray, new_keys: np.ndarray, default: int) -> np.ndarray | None:
    old = pd.Index(old_keys)
    if not old.is_unique:  # cannot happen with build_lp's families; never guess
        return None
    where = old.get_indexer(new_keys)
    if (where >= 0).sum() == 0:
        return None
    return np.where(where >= 0, status[np.maximum(where, 0)], default).astype(np.int8)


def _at_finite_bound(status: np.ndarray, lb: np.ndarray, ub: np.ndarray, free_status: int = _ZERO) -> np.ndarray:
    status = status.copy()
    has_lb, has_ub = np.isfinite(lb), np.isfinite(ub)
    at_lower = status == _LOWER
    status[at_lower & ~has_lb] = _UPPER
    at_upper = status == _UPPER
    status[at_upper & ~has_ub] = _LOWER
    stuck = (status == _LOWER) & ~has_lb | (status == _UPPER) & ~has_ub
    status[stuck] = free_status
    return status
