"""``codispatch submit``: add deferrable jobs to the store (one on the command line, CSVs, or a drop
directory).

A submission is validated like the simulation's job files (``control.jobs.validate_jobs``), plus
what only a live store can check: the deadline is not already past, the gang fits an allowed site
and the work fits the window on it. Rejected means nothing was written.

* ``--file a.csv b.csv`` (and/or ``--job-id ...``): every job of every file in ONE transaction:
  all are written, or (any file rejected) none is.
* ``--drop-dir DIR``: each ``DIR/*.csv`` is its own transaction; a submitted file moves to
  ``DIR/done/``, a rejected one to ``DIR/rejected/`` with ``NAME.reason.txt`` beside it (the
  message), so a bad or already-submitted file never blocks the files after it. Write drop
  files under another name and rename them to ``*.csv`` when complete. Exit 0 when every file
  was submitted, 2 when any was rejected (the reasons are printed).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from control.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from control.jobs import SiteGpus
    from control.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("submit", help="submit deferrable jobs to the daemon's store")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--file", type=Path, nargs="*", default=[],
                        help="job CSV file(s) (columns as for simulate), all in one transaction")
    parser.add_argument("--drop-dir", type=Path, default=None,
                        help="submit each DIR/*.csv on its own, then move it to DIR/done/ or DIR/rejected/ "
                             "(with NAME.reason.txt)")
    parser.add_argument("--at", default=None,
                        help="submission time, ISO 8601 with offset (default: now); deadlines before it are "
                             "rejected (for replays in simulated time)")
    parser.add_argument("--job-id")
    # numbers are parsed by the job validation, so flags and CSV cells get the same messages
    parser.add_argument("--gpus", help="gang size (an integer)")
    parser.add_argument("--min-gpus", default=None, help="elastic jobs: smallest gang")
    parser.add_argument("--work-gpu-h", help="work in reference-GPU hours")
    parser.add_argument("--release", help="ISO 8601 with UTC offset")
    parser.add_argument("--deadline", help="ISO 8601 with UTC offset")
    parser.add_argument("--home-site")
    parser.add_argument("--allowed-sites", default="", help="';'-separated sites (data residency); empty = any")
    parser.add_argument("--priority", default=None, help="integer, higher is more important (default 0)")
    parser.add_argument("--checkpoint-gb", default=None, help="checkpoint size moved on migration (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from control.jobs import site_gpus
    from control.settings import load_settings

    settings = load_settings(args.config)
    now = _clock(args.at)
    capacity = site_gpus(settings)
    if args.drop_dir is not None:
        if args.file or args.job_id is not None:
            raise InputError("--drop-dir submits the directory's files on their own; give it without --file/--job-id")
        return _drop_dir(settings, args.drop_dir, now, capacity)
    return _submit_together(settings, args, now, capacity)


def _clock(at: str | None) -> pd.Timestamp:
    import pandas as pd

    from control.commands.flags import parse_time_flag

    return pd.Timestamp(datetime.now(UTC)) if at is None else parse_time_flag(at)


def _submit_together(settings: Settings, args: argparse.Namespace, now: pd.Timestamp,
                     capacity: dict[str, SiteGpus]) -> int:
    import pandas as pd

    from control.jobs import JobFileError, read_jobs, tight_jobs, validate_jobs
    from control.runtime.wiring import open_store
    from control.store.repository import StoreError

    batches: list[tuple[str, pd.DataFrame]] = []
    for path in args.file:
        batches.append((str(path), read_jobs(path, settings.site_names, capacity=capacity, now=now)))
    if args.job_id is not None:
        fields = {"job_id": args.job_id, "gpus": args.gpus, "work_gpu_h": args.work_gpu_h, "release": args.release,
                  "deadline": args.deadline, "home_site": args.home_site}
        missing = [f"--{k.replace('_', '-')}" for k, v in fields.items() if v is None]
        if missing:
            raise InputError(f"job {args.job_id!r}: missing {', '.join(missing)}")
        row = fields | {"allowed_sites": args.allowed_sites, "priority": args.priority,
                        "checkpoint_gb": args.checkpoint_gb, "min_gpus": args.min_gpus}
        batches.append(("the command line", validate_jobs(pd.DataFrame([row]), settings.site_names, source="submit",
                                                          capacity=capacity, now=now)))
    if not batches:
        raise InputError("nothing to submit: give --job-id ... , --file JOBS.csv or --drop-dir DIR")
    origin: dict[str, str] = {}
    for source, batch in batches:
        for job_id in batch["job_id"]:
            if job_id in origin:
                raise JobFileError(f"job id {job_id!r} is in both {origin[job_id]} and {source}; job ids must be unique "
                                   "(nothing was written)")
            origin[job_id] = source
    jobs = pd.concat([b for _, b in batches], ignore_index=True) if len(batches) > 1 else batches[0][1]
    total = 0
    if len(jobs):
        store = open_store(settings)
        try:
            total = store.add_jobs(jobs, now.to_pydatetime())
        except StoreError as exc:
            files = sorted({origin[j] for j in jobs["job_id"]})
            raise StoreError(f"{exc}; {files} were submitted as one transaction") from None
        finally:
            store.close()
    for source, batch in batches:
        note = " (header only)" if batch.empty else ""
        print(f"{source}: {len(batch)} job(s){note}")
    together = " in one transaction" if len(batches) > 1 else ""
    print(f"submitted {total} job(s){together}")
    _warn(tight_jobs(jobs, settings.site_names, capacity, now))
    return 0


def _drop_dir(settings: Settings, directory: Path, now: pd.Timestamp, capacity: dict[str, SiteGpus]) -> int:
    from control.jobs import JobFileError, read_jobs, tight_jobs
    from control.runtime.wiring import open_store
    from control.store.repository import StoreError

    if not directory.is_dir():
        raise InputError(f"drop directory {directory} does not exist; create it or fix --drop-dir")
    files = sorted(p for p in directory.glob("*.csv") if p.is_file())
    store = None
    submitted = rejected = 0
    try:
        for path in files:
            try:
                jobs = read_jobs(path, settings.site_names, capacity=capacity, now=now)
                count = 0
                if len(jobs):
                    store = store or open_store(settings)
                    count = store.add_jobs(jobs, now.to_pydatetime())
            except (JobFileError, StoreError) as exc:
                reason = str(exc)
                if isinstance(exc, StoreError) and "already exist" in reason:
                    reason += " (was this file submitted before?)"
                target = _move(path, directory / "rejected")
                target.with_name(target.name + ".reason.txt").write_text(
                    f"{datetime.now(UTC).isoformat(timespec='seconds')} rejected {path.name}: {reason}\n", encoding="utf-8")
                print(f"{path.name}: rejected, moved to {target}: {reason}")
                rejected += 1
                continue
            target = _move(path, directory / "done")
            print(f"{path.name}: submitted {count} job(s), moved to {target}")
            _warn(tight_jobs(jobs, settings.site_names, capacity, now))
            submitted += 1
    finally:
        if store is not None:
            store.close()
    print(f"drop directory {directory}: {submitted} file(s) submitted, {rejected} rejected, of {len(files)}")
    return 2 if rejected else 0


def _move(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder``; an existing name gets a numbered suffix (never overwritten)."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    return path.rename(target)


def _warn(messages: list[str]) -> None:
    import sys

    for message in messages:
        print(f"warning: {message}", file=sys.stderr)
