"""Operator commands on the daemon's store, on the same functions as the HTTP API
(:mod:`control.operations`): ``status``, ``jobs``, ``job ID`` (with the why), ``plan``,
``cancel ID``, ``modify ID --deadline ... --priority ...``, ``outage SITE --start --end``.
Writes are requests the next tick acts on, audited as ``cli:<user>``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("status", help="last tick, its flags, next tick, lease holder, jobs by state")
    _common(p)
    p.set_defaults(func=run_status)
    p = subparsers.add_parser("jobs", help="list jobs (filter by state or site)")
    _common(p)
    p.add_argument("--state")
    p.add_argument("--site")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.set_defaults(func=run_jobs)
    p = subparsers.add_parser("job", help="one job: progress, expected finish vs deadline, plan, history, why")
    _common(p)
    p.add_argument("job_id")
    p.set_defaults(func=run_job)
    p = subparsers.add_parser("plan", help="the newest tick's plan per site and hour")
    _common(p)
    p.add_argument("--site")
    p.add_argument("--hours", type=int, default=48)
    p.set_defaults(func=run_plan)
    p = subparsers.add_parser("cancel", help="cancel a job (the next tick removes it from the workload manager)")
    _common(p)
    p.add_argument("job_id")
    p.set_defaults(func=run_cancel)
    p = subparsers.add_parser("modify", help="change a job's deadline and/or priority (the next tick re-plans)")
    _common(p)
    p.add_argument("job_id")
    p.add_argument("--deadline", help="ISO 8601 with UTC offset")
    p.add_argument("--priority", type=int)
    p.set_defaults(func=run_modify)
    p = subparsers.add_parser("outage", help="declare a site outage (no GPUs in service from --start to --end)")
    _common(p)
    p.add_argument("site")
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.set_defaults(func=run_outage)


def _ops(args: argparse.Namespace):
    from control.operations.queries import Operations
    from control.runtime.wiring import open_store
    from control.settings import load_settings

    settings = load_settings(args.config)
    return Operations(settings, open_store(settings))


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def run_status(args: argparse.Namespace) -> int:
    from control.operations import queries

    ops = _ops(args)
    state = queries.status(ops)
    ops.store.close()
    if args.json:
        _print_json(state)
        return 0
    last = state["last_tick"]
    if last is None:
        print("no tick yet")
    else:
        print(f"last tick   {last['tick_time']}  {last['status']}  solver {last['solver_status'] or '-'}  "
              f"{last['jobs_running']} of {last['jobs_active']} active jobs run")
        print(f"flags       {', '.join(last['flags']) or 'none'}")
    print(f"next tick   {state['next_tick']}")
    lease = state["lease"]
    print(f"lease       {lease['holder'] + ' until ' + lease['expires_at'] if lease else 'free'}")
    print("jobs        " + (", ".join(f"{k} {v}" for k, v in sorted(state["jobs_by_state"].items())) or "none"))
    print(f"requests    {state['requests_pending']} pending;  intents failed {state['intents_failed']}")
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    from control.operations import queries

    ops = _ops(args)
    page = queries.jobs(ops, state=args.state, site=args.site, limit=args.limit, offset=args.offset)
    ops.store.close()
    if args.json:
        _print_json(page)
        return 0
    print(f"{'job':24} {'state':10} {'site':10} {'gpus':>5} {'progress':>8}  {'deadline':25} {'expected finish':25} risk")
    for j in page["items"]:
        print(f"{j['job_id'][:24]:24} {j['state']:10} {j['site'] or '-':10} {j['gpus']:5d} {j['progress']:8.1%}  "
              f"{j['deadline']:25} {j['expected_finish'] or '-':25} {j['deadline_risk']}")
    shown = len(page["items"])
    print(f"{page['offset'] + 1 if shown else 0}-{page['offset'] + shown} of {page['total']}")
    return 0


def run_job(args: argparse.Namespace) -> int:
    from control.operations import queries

    ops = _ops(args)
    try:
        j = queries.job(ops, args.job_id)
    finally:
        ops.store.close()
    if args.json:
        _print_json(j)
        return 0
    print(f"job {j['job_id']}: {j['state']} at {j['site'] or '-'} ({j['gpus']} GPUs), progress {j['progress']:.1%} "
          f"({j['remaining_gpu_h']:.1f} of {j['work_gpu_h']:.1f} GPU-h left)")
    slack = "" if j["slack_h"] is None else f", {j['slack_h']:+.1f} h slack"
    print(f"deadline {j['deadline']}; expected finish {j['expected_finish'] or 'not within the plan'} "
          f"({j['deadline_risk']}{slack})")
    print(f"emissions so far {j['emissions_t']:.3f} tCO2 over {j['energy_mwh']:.2f} MWh")
    hours = j["planned_hours"]
    if hours:
        print("planned: " + ", ".join(f"{h['hour'][5:16]} {h['site']} {h['gpus']:.0f}" for h in hours[:12])
              + (" ..." if len(hours) > 12 else ""))
    why = j["why"]
    if why:
        print(f"why ({why['tick_time']}, {why['decision']}): {why['summary']}")
    for h in j["history"][-10:]:
        print(f"  {h['tick_time']}  {h['action']:6} {h['site'] or '':10} {h['gpus'] or '':>4}  {h['status']}")
    return 0


def run_plan(args: argparse.Namespace) -> int:
    from control.operations import queries

    ops = _ops(args)
    result = queries.plan(ops, site=args.site)
    ops.store.close()
    if args.json:
        _print_json(result)
        return 0
    if result["tick_time"] is None:
        print("no plan yet")
        return 0
    print(f"plan of tick {result['tick_time']}")
    print(f"{'hour':17} {'site':10} {'gpus':>7} {'load MW':>8} {'green fc':>8} {'grid MW':>8} {'limit':>8} {'gCO2/kWh':>8}")
    hours = sorted({h["hour"] for h in result["hours"]})[: args.hours]
    for h in result["hours"]:
        if h["hour"] in hours:
            print(f"{h['hour'][:16]:17} {h['site']:10} {h['gpus']:7.1f} {h['load_mw']:8.2f} "
                  f"{h['green_forecast_mw']:8.2f} {h['grid_mw']:8.2f} {h['import_limit_mw']:8.2f} {h['ci_g_per_kwh']:8.0f}")
    return 0


def _write(args: argparse.Namespace, action: str) -> int:
    from control.operations import commands

    ops = _ops(args)
    who = commands.Actor.cli()
    try:
        if action == "cancel":
            result = commands.cancel(ops, who, args.job_id)
        elif action == "modify":
            result = commands.modify(ops, who, args.job_id, deadline=args.deadline, priority=args.priority)
        else:
            result = commands.declare_outage(ops, who, args.site, args.start, args.end)
    finally:
        ops.store.close()
    if args.json:
        _print_json(result)
    else:
        print(f"request {result['request_id']} ({result['kind']}) stored; the next tick acts on it")
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    return _write(args, "cancel")


def run_modify(args: argparse.Namespace) -> int:
    return _write(args, "modify")


def run_outage(args: argparse.Namespace) -> int:
    return _write(args, "outage")
