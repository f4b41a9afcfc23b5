"""Deferrable AI-training jobs: reading and validating the job table.

A job is a gang of ``gpus`` GPUs that needs ``work_gpu_h`` hours of reference-GPU work between
``release`` and ``deadline``. On a site whose GPU model has throughput ``k`` (relative to the
reference), the gang delivers ``gpus * k`` reference-GPU hours per hour. An elastic job
(``min_gpus < gpus``) may run on any whole number of GPUs from ``min_gpus`` to ``gpus``, still on
one site at a time; its speed is taken as proportional to its GPUs (an assumption: real data-
parallel scaling is somewhat sublinear).

Every rejection names the file (or ``submit``), the row (the file's own line number, header =
line 1), the column, the value and the fix. A header-only file is valid: zero jobs (the normal
state of a drop file that has just been emptied).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from control.errors import InputError

if TYPE_CHECKING:
    from control.settings import Settings

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("job_id", "release", "deadline", "gpus", "work_gpu_h", "home_site")
OPTIONAL_COLUMNS = {"allowed_sites": "", "priority": 0, "checkpoint_gb": 0.0, "min_gpus": np.nan}
"""Optional columns and their value when the column is absent or the cell is empty."""

TIGHT_SHARE = 0.8
"""A job that needs more than this share of its window on its fastest allowed site (all its GPUs,
every hour) is accepted but flagged: whether it finishes depends on the other jobs, outages and
grid limits of the hours it waits for."""

_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_MAX_EXACT_INT = 2**53
_JOB_FILE_HINT = ("derive a job file for your own fleet with "
                  "`python scripts/derive_default_jobs.py --config YOUR.toml --out jobs.csv`, "
                  "or set [jobs] file to a CSV whose home_site values are your sites")


class JobFileError(InputError):
    """The job table has a missing column or an invalid value."""


@dataclass(frozen=True)
class SiteGpus:
    """What a site offers one job: its GPU count and their throughput (reference GPU = 1.0)."""

    gpu_count: int
    throughput: float


def site_gpus(settings: Settings) -> dict[str, SiteGpus]:
    """GPUs and throughput of each configured site, for the capacity and window checks."""
    return {s.name: SiteGpus(s.gpu_count, settings.gpu_models[s.gpu_model].throughput) for s in settings.sites}


def read_jobs(path: str | Path, site_names: Iterable[str], *, capacity: Mapping[str, SiteGpus] | None = None,
              now: pd.Timestamp | None = None, late: str = "reject") -> pd.DataFrame:
    """Read and validate a job CSV (columns in ``docs/CONTRACTS.md``); times become UTC.

    Raises
    ------
    JobFileError
        When the file is missing, empty (0 bytes), not UTF-8 CSV, has a row whose field count
        differs from the header's, or holds an invalid value (see :func:`validate_jobs`).
    """
    path = Path(path)
    if not path.is_file():
        raise JobFileError(f"job file {path} does not exist; give the path of a job CSV")
    raw = path.read_bytes()
    if not raw.strip():
        raise JobFileError(
            f"job file {path} is empty ({len(raw)} bytes); a job file starts with the header line "
            f"{','.join(REQUIRED_COLUMNS)} (a header alone means zero jobs)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobFileError(f"job file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from None
    frame, lines = _parse_csv(text, str(path))
    return validate_jobs(frame, site_names, source=str(path), capacity=capacity, now=now, lines=lines, late=late)


def _parse_csv(text: str, source: str) -> tuple[pd.DataFrame, list[int]]:
    """All cells as stripped strings, with each data row's line number in the file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue  # blank line
            if header is None:
                header = [f.strip() for f in fields]
                _check_header(header, source, reader.line_num)
                continue
            if len(fields) != len(header):
                raise JobFileError(_field_count_message(source, reader.line_num, fields, header))
            rows.append(fields)  # stripped where validated: an id's own spaces are an error
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise JobFileError(f"{source} line {reader.line_num}: not valid CSV ({exc}); check the quotes on that line") from None
    assert header is not None  # the caller rejected a blank file
    return pd.DataFrame(rows, columns=header, dtype=object), lines


def _check_header(header: list[str], source: str, line: int) -> None:
    empty = [k + 1 for k, name in enumerate(header) if not name]
    if empty:
        raise JobFileError(f"{source} line {line} (header): column {empty[0]} has no name; name it or remove the empty field")
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        raise JobFileError(f"{source} line {line} (header): column(s) {dupes} appear twice; keep one of each")


def _field_count_message(source: str, line: int, fields: list[str], header: list[str]) -> str:
    if len(fields) > len(header):
        extra = fields[len(header)]
        return (f"{source} line {line}: {len(fields)} fields but the header has {len(header)}; field {len(header) + 1} "
                f"({_show(extra)}) comes after the last column {header[-1]!r} and has no column. Remove the extra "
                "field, or quote a value that contains a comma")
    missing = header[len(fields):]
    return (f"{source} line {line}: {len(fields)} fields but the header has {len(header)}; no value for column(s) "
            f"{missing}. Add the missing fields (empty fields ',,' are allowed for optional columns)")


def validate_jobs(frame: pd.DataFrame, site_names: Iterable[str], source: str = "jobs", *,
                  capacity: Mapping[str, SiteGpus] | None = None, now: pd.Timestamp | None = None,
                  lines: list[int] | None = None, late: str = "reject") -> pd.DataFrame:
    """Check a job table and return it with canonical dtypes (nothing is repaired silently).

    Parameters
    ----------
    capacity
        GPUs per site (:func:`site_gpus`): rejects jobs whose smallest gang fits no allowed site and
        jobs whose work cannot fit between release (or ``now``) and deadline on any allowed site.
    now
        Submission time: a deadline at or before it is rejected.
    lines
        Line number of each row in its file (messages name them); else rows count from 1.
    late
        ``"reject"`` (submit) or ``"warn"`` (a simulation's job file, which may hold such jobs on
        purpose): what to do with a job that cannot finish inside its window at full speed.
    """
    sites = list(site_names)
    check = _Checker(frame, source, lines)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise JobFileError(f"{source}: missing column(s) {missing}; required: {list(REQUIRED_COLUMNS)}, "
                           f"optional: {list(OPTIONAL_COLUMNS)}")
    jobs = frame.copy().reset_index(drop=True)
    for column in OPTIONAL_COLUMNS:
        if column not in jobs.columns:
            jobs[column] = np.nan
    for column in ("job_id", "home_site", "allowed_sites"):
        jobs[column] = jobs[column].map(_text)
    for column in REQUIRED_COLUMNS:
        check.fail_if(jobs[column].map(_is_empty), column, "")
    raw_ids = frame["job_id"].reset_index(drop=True).map(lambda v: v if isinstance(v, str) else _text(v))
    check.fail_if(raw_ids != raw_ids.str.strip(), "job_id", "has spaces before or after it; remove them "
                  "(ids are matched exactly, e.g. by the workload manager)", values=raw_ids)
    dupes = jobs["job_id"][jobs["job_id"].duplicated()].unique()
    if len(dupes):
        check.fail_if(jobs["job_id"].duplicated(), "job_id", f"is repeated; job_id must be unique (repeated: {list(dupes[:5])})")
    for column in ("release", "deadline"):
        jobs[column] = check.utc(jobs[column], column)
    early = jobs["deadline"] <= jobs["release"]
    if early.any():
        release = _show(jobs["release"][early].iloc[0])
        check.fail_if(early, "deadline", f"is not after the release {release}; fix the deadline or the release",
                      values=jobs["deadline"])
    if now is not None:
        now = pd.Timestamp(now).tz_convert("UTC")
        check.fail_if(jobs["deadline"] <= now, "deadline", f"is already past (now {_show(now)}); give a deadline in the future",
                      values=jobs["deadline"])
    for column, default in (("priority", 0), ("checkpoint_gb", 0.0)):
        jobs[column] = jobs[column].where(~jobs[column].map(_is_empty), default)
    empty_min = jobs["min_gpus"].map(_is_empty)
    for column, kind in (("gpus", "integer"), ("min_gpus", "integer"), ("work_gpu_h", "number"),
                         ("checkpoint_gb", "number"), ("priority", "integer")):
        values = jobs[column] if column != "min_gpus" else jobs[column].where(~empty_min, jobs["gpus"])
        jobs[column] = check.number(values, column, kind)
    for column, low, strict in (("gpus", 1, False), ("min_gpus", 1, False), ("work_gpu_h", 0.0, True),
                                ("checkpoint_gb", 0.0, False)):
        bad = jobs[column] <= low if strict else jobs[column] < low
        check.fail_if(bad, column, f"must be {'>' if strict else '>='} {low}", values=jobs[column])
    check.fail_if(jobs["min_gpus"] > jobs["gpus"], "min_gpus", "is above gpus; min_gpus is the smallest gang an elastic "
                  "job may run on (leave it empty for a fixed gang)", values=jobs["min_gpus"])
    check.fail_if(~jobs["home_site"].isin(sites), "home_site", f"is not a site of this fleet (sites are {sites}); "
                  f"{_JOB_FILE_HINT}", values=jobs["home_site"])
    for row, allowed in enumerate(jobs["allowed_sites"]):
        unknown = [a for a in allowed.split(";") if a and a not in sites]
        if unknown:
            raise JobFileError(f"{check.where(row, 'allowed_sites')}: allows unknown site(s) {unknown}; sites are {sites}. "
                               "Separate names with ';', or leave it empty for any site")
    if capacity is not None:
        _check_fits(jobs, sites, capacity, now, check, late)
    return jobs


def _check_fits(jobs: pd.DataFrame, sites: list[str], capacity: Mapping[str, SiteGpus], now: pd.Timestamp | None,
                check: _Checker, late: str) -> None:
    """Reject jobs no allowed site can ever run, or finish inside the window at full speed."""
    if jobs.empty:
        return
    allowed = allowed_matrix(jobs, sites)
    cap = np.array([capacity[s].gpu_count for s in sites], dtype=float)
    speed = np.array([capacity[s].throughput for s in sites], dtype=float)
    min_gpus = jobs["min_gpus"].to_numpy(dtype=float)
    fits = allowed & (cap[None, :] >= min_gpus[:, None])
    largest = np.where(allowed, cap[None, :], 0).max(axis=1)
    for row in np.flatnonzero(~fits.any(axis=1)):
        raise JobFileError(
            f"{check.where(int(row), 'gpus')}: needs at least {int(min_gpus[row])} GPUs but the largest allowed site has "
            f"{int(largest[row])}; lower gpus (or set min_gpus for an elastic job), or allow a larger site"
        )
    rate = np.where(fits, np.minimum(jobs["gpus"].to_numpy(dtype=float)[:, None], cap[None, :]) * speed[None, :], 0.0)
    best = rate.argmax(axis=1)
    start = jobs["release"] if now is None else jobs["release"].clip(lower=now)
    window_h = ((jobs["deadline"] - start).dt.total_seconds() / 3600.0).to_numpy()
    possible = rate.max(axis=1) * window_h
    work = jobs["work_gpu_h"].to_numpy(dtype=float)
    short = np.flatnonzero(possible < work * (1 - 1e-9))
    for row in short:
        site = sites[best[row]]
        need_h = work[row] / rate[row, best[row]]
        message = (
            f"{check.where(int(row), 'work_gpu_h')}: {work[row]:g} reference-GPU h cannot finish between "
            f"{_show(start.iloc[row])} and the deadline {_show(jobs['deadline'].iloc[row])} ({window_h[row]:.1f} h) even on "
            f"{site!r} at full speed ({rate[row, best[row]]:g} per hour, {need_h:.1f} h needed); move the deadline later, "
            "reduce the work, or allow a faster site"
        )
        if late == "reject":
            raise JobFileError(message)
        logger.warning("%d job(s) cannot finish inside their window and will miss their deadline; first: %s",
                       len(short), message)
        return


def tight_jobs(jobs: pd.DataFrame, sites: list[str], capacity: Mapping[str, SiteGpus], now: pd.Timestamp) -> list[str]:
    """Warnings for accepted jobs that need more than :data:`TIGHT_SHARE` of their remaining window
    on their fastest allowed site: feasible alone, but at risk behind other jobs, outages or grid limits."""
    if jobs.empty:
        return []
    allowed = allowed_matrix(jobs, sites)
    cap = np.array([capacity[s].gpu_count for s in sites], dtype=float)
    speed = np.array([capacity[s].throughput for s in sites], dtype=float)
    fits = allowed & (cap[None, :] >= jobs["min_gpus"].to_numpy(dtype=float)[:, None])
    rate = np.where(fits, np.minimum(jobs["gpus"].to_numpy(dtype=float)[:, None], cap[None, :]) * speed[None, :], 0.0).max(axis=1)
    start = jobs["release"].clip(lower=pd.Timestamp(now).tz_convert("UTC"))
    window_h = ((jobs["deadline"] - start).dt.total_seconds() / 3600.0).to_numpy()
    need_h = jobs["work_gpu_h"].to_numpy(dtype=float) / rate
    out = []
    for row in np.flatnonzero(need_h > TIGHT_SHARE * window_h):
        out.append(f"job {jobs['job_id'].iloc[row]!r} is at risk: it needs {need_h[row]:.1f} h at full speed of the "
                   f"{window_h[row]:.1f} h left before its deadline; it can finish only if it starts almost at once")
    return out


class _Checker:
    """Raises :class:`JobFileError` naming source, line, job, column and value."""

    def __init__(self, frame: pd.DataFrame, source: str, lines: list[int] | None) -> None:
        self.source = source
        self.lines = lines
        self.frame = frame.reset_index(drop=True)
        self.ids = self.frame["job_id"].map(_text) if "job_id" in frame.columns else None

    def where(self, row: int, column: str) -> str:
        place = f"line {self.lines[row]}" if self.lines is not None else f"row {row + 1}"
        job = self.ids.iloc[row] if self.ids is not None else ""
        named = f" (job {job!r})" if job else ""
        return f"{self.source} {place}{named}, column {column}"

    def fail_if(self, bad: pd.Series, column: str, problem: str, values: pd.Series | None = None) -> None:
        mask = bad.to_numpy(dtype=bool)
        if not mask.any():
            return
        row = int(mask.argmax())
        value = (values if values is not None else self.frame[column]).iloc[row]
        more = f" ({int(mask.sum())} rows affected)" if mask.sum() > 1 else ""
        if _is_empty(value) and not problem:
            raise JobFileError(f"{self.where(row, column)}: no value{more}; every job needs one here")
        raise JobFileError(f"{self.where(row, column)}: value {_show(value)} {problem}{more}")

    def utc(self, values: pd.Series, column: str) -> pd.Series:
        text = values.map(_text)
        aware = text.str.contains(_OFFSET, regex=True)
        parsed = pd.to_datetime(text.where(aware, ""), errors="coerce", utc=True, format="ISO8601")
        self.fail_if(~aware & (text != ""), column, "has no UTC offset; append 'Z' (UTC) or an offset such as '+08:00' "
                     "so the time is unambiguous", values=text)
        self.fail_if(parsed.isna(), column, "is not an ISO 8601 time; write e.g. 2023-07-03T08:00:00Z", values=text)
        return parsed

    def number(self, values: pd.Series, column: str, kind: str) -> pd.Series:
        text = values.map(lambda v: v.strip() if isinstance(v, str) else v)
        numeric = pd.to_numeric(text, errors="coerce").astype(float)
        self.fail_if(numeric.isna(), column, f"is not {'an integer' if kind == 'integer' else 'a number'}", values=text)
        self.fail_if(~np.isfinite(numeric), column, "is not finite; give a finite number", values=text)
        if kind == "integer":
            self.fail_if((numeric.abs() > _MAX_EXACT_INT) | (numeric != np.floor(numeric)), column,
                         "is not a whole number; write an integer (e.g. 8)", values=text)
            return numeric.astype(np.int64)
        return numeric


def _text(value: Any) -> str:
    """A cell as stripped text; empty for None/NaN."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    return str(value).strip()


def _is_empty(value: Any) -> bool:
    return _text(value) == ""


def _show(value: Any) -> str:
    """A value as the user wrote it: no numpy reprs, strings quoted, times in ISO 8601."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.floor("s").isoformat().replace("+00:00", "Z")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(empty)"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def allowed_matrix(jobs: pd.DataFrame, site_names: list[str]) -> np.ndarray:
    """Boolean (n_job, n_site): where each job may run (empty ``allowed_sites`` = everywhere)."""
    allowed = np.ones((len(jobs), len(site_names)), dtype=bool)
    index = {name: k for k, name in enumerate(site_names)}
    for row, spec in enumerate(jobs["allowed_sites"].to_numpy()):
        if spec:
            allowed[row, :] = False
            for name in spec.split(";"):
                if name:
                    allowed[row, index[name]] = True
    return allowed
