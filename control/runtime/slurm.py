"""Slurm adapter: each data centre is a partition; codispatch moves held jobs between partitions.

A deferrable training job is a Slurm job named ``codispatch:<job id>``. The adapter submits it held
(or adopts one a user submitted with that name), and for each intent:

run at site S with G GPUs
    if it runs elsewhere: requeue it held (it checkpoints; the requeue is the migration), move it to
    partition S (``scontrol update JobId=.. Partition=S``), release it (``scontrol release``).
hold
    a running job is requeued held (``scontrol requeuehold``); a pending one is held.
cancel
    (an operator's cancel request) ``scancel``; applied once the job has left the queue.

Whether an intent is applied is read from Slurm's own state (``squeue --json``): a run intent
holds when the job sits in S and is not held, a hold intent when the job is held. Applying an
intent that holds changes nothing, so a crash between sending and recording is harmless.
One GPU is one Slurm CPU slot here (``-n G``); sites with GRES GPUs would request ``--gres``.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass

from control.runtime.adapters import AdapterUnavailable, Intent, JobObservation

logger = logging.getLogger(__name__)

PREFIX = "codispatch:"
UNREACHABLE = ("Unable to contact slurm controller", "Socket timed out", "Connection refused", "Zero Bytes were transmitted")


@dataclass(frozen=True)
class SlurmJob:
    slurm_id: int
    name: str
    partition: str
    state: str
    held: bool


class SlurmAdapter:
    """Drive a Slurm installation through its command-line tools.

    Parameters
    ----------
    partitions
        Site -> partition.
    capacity_gpus
        Site -> GPUs (reported as capacity).
    submit_command
        Command the held placeholder job runs when codispatch submits it itself.
    """

    def __init__(self, partitions: dict[str, str], capacity_gpus: dict[str, int],
                 submit_command: str = "sleep infinity") -> None:
        self.partitions = dict(partitions)
        self.site_of = {p: s for s, p in partitions.items()}
        self._capacity = dict(capacity_gpus)
        self.submit_command = submit_command

    # plumbing -----------------------------------------------------------------------------
    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AdapterUnavailable(f"{args[0]}: {exc}") from exc
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip()
            if any(marker in message for marker in UNREACHABLE):
                raise AdapterUnavailable(f"{' '.join(args[:2])}: {message}")
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {message}")
        return done.stdout

    def jobs(self) -> dict[str, SlurmJob]:
        """codispatch job id -> its Slurm job (the newest if several)."""
        data = json.loads(self._run("squeue", "--json"))
        out: dict[str, SlurmJob] = {}
        for job in data.get("jobs", []):
            name = job.get("name", "")
            if not name.startswith(PREFIX):
                continue
            state = job.get("job_state")
            state = state[0] if isinstance(state, list) else state
            held = job.get("priority", {}).get("number", 1) == 0 if isinstance(job.get("priority"), dict) \
                else job.get("priority", 1) == 0
            held = held or "Held" in str(job.get("state_reason", ""))
            candidate = SlurmJob(int(job["job_id"]), name[len(PREFIX):], job.get("partition", ""), str(state), bool(held))
            if candidate.name not in out or candidate.slurm_id > out[candidate.name].slurm_id:
                out[candidate.name] = candidate
        return out

    # the adapter interface ------------------------------------------------------------------
    def observe(self) -> dict[str, JobObservation]:
        result = {}
        for job_id, job in self.jobs().items():
            state = "held" if job.held else "running" if job.state == "RUNNING" else "pending"
            result[job_id] = JobObservation(job_id, self.site_of.get(job.partition, job.partition), state)
        return result

    def capacity(self) -> dict[str, int]:
        return dict(self._capacity)

    def applied(self, intent: Intent) -> bool:
        job = self.jobs().get(intent.job_id)
        if intent.action == "cancel":
            return job is None or job.state in ("CANCELLED", "COMPLETED", "FAILED")
        if intent.action == "hold":
            return job is None or job.held
        return job is not None and job.partition == self.partitions[intent.site] and not job.held

    def apply(self, intent: Intent) -> None:
        if self.applied(intent):
            return
        job = self.jobs().get(intent.job_id)
        if intent.action == "cancel":
            if job is not None:
                self._run("scancel", str(job.slurm_id))
                logger.info("slurm job %d (%s) cancelled", job.slurm_id, intent.job_id)
            return
        if intent.action == "hold":
            self._hold(job)
            return
        partition = self.partitions[intent.site]
        if job is None:
            job = self.submit_held(intent.job_id, partition, intent.gpus)
        if job.partition != partition:
            if job.state == "RUNNING":
                self._run("scontrol", "requeuehold", str(job.slurm_id))  # migration: back to the queue, held
            elif not job.held:
                self._run("scontrol", "hold", str(job.slurm_id))
            # a requeued job is not eligible again for a while (its begin time moves): start now
            self._run("scontrol", "update", f"JobId={job.slurm_id}", f"Partition={partition}", f"NumTasks={intent.gpus}",
                      "StartTime=now")
        self._run("scontrol", "release", str(job.slurm_id))
        logger.info("slurm job %d (%s) released in %s", job.slurm_id, intent.job_id, partition)

    def submit_held(self, job_id: str, partition: str, gpus: int) -> SlurmJob:
        """Submit the job held, so codispatch decides where and when it runs."""
        out = self._run("sbatch", "--hold", "--parsable", f"--job-name={PREFIX}{job_id}", f"--partition={partition}",
                        f"--ntasks={gpus}", "--requeue", "--output=/dev/null", f"--wrap={self.submit_command}")
        slurm_id = int(out.strip().split(";")[0])
        return SlurmJob(slurm_id, job_id, partition, "PENDING", True)

    def _hold(self, job: SlurmJob | None) -> None:
        if job is None or job.held:
            return
        if job.state == "RUNNING":
            self._run("scontrol", "requeuehold", str(job.slurm_id))
        else:
            self._run("scontrol", "hold", str(job.slurm_id))
