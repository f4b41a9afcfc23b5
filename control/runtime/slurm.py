"""Slurm adapter: each data centre is a partition; codispatch moves held jobs between partitions.

A deferrable training job is a Slurm job named ``codispatch:<job id>``. The adapter submits it held
(or adopts one a user submitted with that name), and for each intent:

run at site S with G GPUs
    if it runs elsewhere, or with another gang size: requeue it held (it checkpoints; the requeue
    is the migration or the elastic resize), set partition S and G CPU slots (``scontrol update
    JobId=.. Partition=S NumTasks=G NumCPUs=G``), release it (``scontrol release``).
hold
    a running job is requeued held (``scontrol requeuehold``); a pending one is held.
cancel
    (an operator's cancel request) ``scancel``; applied once the job has left the queue.

Whether an intent is applied is read from Slurm's own state (``squeue --json``): a run intent
holds when the job sits in S with G CPU slots and is not held, a hold intent when the job is
held. Applying an intent that holds changes nothing, so a crash between sending and recording
is harmless. The queue is listed once per tick (:meth:`SlurmAdapter.refresh`), kept up to date
with what the adapter sends, and listed once more to confirm what was sent
(:meth:`SlurmAdapter.confirm`): a constant number of ``squeue`` calls per tick, however many
intents. One GPU is one Slurm CPU slot here (``-n G``); sites with GRES GPUs would request
``--gres``.

A job named ``codispatch:<id>`` is adopted only if it belongs to the configured user (and
account, if one is set): another user's job of that name is ignored (logged).

Errors are classified (:func:`classify`): the controller unreachable or a command over its
timeout is :class:`AdapterUnavailable` (every intent stays pending, retried); a refusal Slurm
gives for good (:data:`PERMANENT`: a job name or parameter too long, an invalid partition,
account or QOS, a node configuration that cannot exist, ...) is :class:`IntentRefused` (the
intent and its job are failed with Slurm's message); anything else is :class:`IntentError`
(retried a few times, then failed).
"""

from __future__ import annotations

import getpass
import json
import logging
import subprocess
from dataclasses import dataclass, replace

from control.runtime.adapters import AdapterUnavailable, Intent, IntentError, IntentRefused, JobObservation

logger = logging.getLogger(__name__)

PREFIX = "codispatch:"
UNREACHABLE = ("Unable to contact slurm controller", "Socket timed out", "Connection refused", "Zero Bytes were transmitted",
               "Resource temporarily unavailable", "Slurm temporarily unable to accept job", "Communication connection failure",
               "Could not establish a configuration source", "slurm_load_jobs error: Unable to contact")
"""Messages of a controller that is down, restarting or overloaded: transient."""
PERMANENT = ("too long", "Invalid partition", "invalid partition", "Requested node configuration is not available",
             "More processors requested than permitted", "Invalid account", "Invalid qos", "Invalid QOS",
             "violates accounting/QOS policy", "Invalid generic resource", "Invalid gres", "Access/permission denied",
             "Invalid job id specified", "Job is not in a state", "Requested partition configuration not available",
             "Node count specification invalid", "Invalid feature specification", "Memory required by task is not available",
             "Job dependency problem", "Invalid Trackable RESource")
"""Messages of a refusal that no retry changes: the intent fails with it."""


def classify(command: str, returncode: int, message: str) -> Exception:
    """The exception for a Slurm command that failed with ``message``."""
    text = f"{command} failed ({returncode}): {message}"
    if any(marker in message for marker in UNREACHABLE):
        return AdapterUnavailable(text)
    if any(marker in message for marker in PERMANENT):
        return IntentRefused(f"Slurm refused it: {message}")
    return IntentError(text)


@dataclass(frozen=True)
class SlurmJob:
    slurm_id: int
    name: str
    partition: str
    state: str
    held: bool
    cpus: int = 0
    """CPU slots (= GPUs here) requested, or allocated when running."""
    user: str = ""
    account: str = ""


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
    user, account
        Only jobs of this user (default: the user codispatch runs as) and, if given, account
        are adopted.
    timeout_s
        A Slurm command that takes longer counts as the controller unavailable.
    """

    def __init__(self, partitions: dict[str, str], capacity_gpus: dict[str, int],
                 submit_command: str = "sleep infinity", user: str = "", account: str = "",
                 timeout_s: float = 60.0) -> None:
        self.partitions = dict(partitions)
        self.site_of = {p: s for s, p in partitions.items()}
        self._capacity = dict(capacity_gpus)
        self.submit_command = submit_command
        self.user = user or getpass.getuser()
        self.account = account
        self.timeout_s = timeout_s
        self._queue: dict[str, SlurmJob] | None = None
        self.calls: list[str] = []
        """Every Slurm command run (its name and first argument), for tests and the log."""

    # plumbing -----------------------------------------------------------------------------
    def _run(self, *args: str) -> str:
        self.calls.append(" ".join(args[:2]))
        try:
            done = subprocess.run(list(args), capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise AdapterUnavailable(f"{args[0]} did not answer within {self.timeout_s:g} s ([runtime] "
                                     "slurm_timeout_s); the controller is hanging or overloaded") from exc
        except OSError as exc:
            raise AdapterUnavailable(f"{args[0]}: {exc}") from exc
        if done.returncode != 0:
            raise classify(" ".join(args[:2]), done.returncode, (done.stderr or done.stdout).strip())
        return done.stdout

    def jobs(self) -> dict[str, SlurmJob]:
        """codispatch job id -> its Slurm job (the newest if several), read from Slurm now.
        Jobs of that name owned by another user (or account) are not ours and are left out."""
        data = json.loads(self._run("squeue", "--json"))
        out: dict[str, SlurmJob] = {}
        for job in data.get("jobs", []):
            name = job.get("name", "")
            if not name.startswith(PREFIX):
                continue
            user, account = str(job.get("user_name", "")), str(job.get("account", "") or "")
            if user != self.user or (self.account and account != self.account):
                logger.warning("slurm job %s named %s belongs to %s (account %r), not to %s%s: not adopted",
                               job.get("job_id"), name, user, account, self.user,
                               f" (account {self.account!r})" if self.account else "")
                continue
            state = job.get("job_state")
            state = state[0] if isinstance(state, list) else state
            held = job.get("priority", {}).get("number", 1) == 0 if isinstance(job.get("priority"), dict) \
                else job.get("priority", 1) == 0
            held = held or "Held" in str(job.get("state_reason", ""))
            cpus = job.get("cpus", 0)
            cpus = cpus.get("number", 0) if isinstance(cpus, dict) else cpus
            candidate = SlurmJob(int(job["job_id"]), name[len(PREFIX):], job.get("partition", ""), str(state),
                                 bool(held), int(cpus or 0), user, account)
            if candidate.name not in out or candidate.slurm_id > out[candidate.name].slurm_id:
                out[candidate.name] = candidate
        self._queue = dict(out)
        return out

    def _known(self) -> dict[str, SlurmJob]:
        """The queue as last read (read now if it was not), updated with what was sent since."""
        if self._queue is None:
            self.jobs()
        assert self._queue is not None
        return self._queue

    # the adapter interface ------------------------------------------------------------------
    def refresh(self) -> None:
        self._queue = None  # never act on an old listing, even if this read fails
        self.jobs()

    def observe(self) -> dict[str, JobObservation]:
        result = {}
        for job_id, job in self.jobs().items():
            state = "held" if job.held else "running" if job.state == "RUNNING" else "pending"
            result[job_id] = JobObservation(job_id, self.site_of.get(job.partition, job.partition), state)
        return result

    def capacity(self) -> dict[str, int]:
        return dict(self._capacity)

    def _holds(self, job: SlurmJob | None, intent: Intent) -> bool:
        if intent.action == "cancel":
            return job is None or job.state in ("CANCELLED", "COMPLETED", "FAILED")
        if intent.action == "hold":
            return job is None or job.held
        return (job is not None and job.partition == self.partitions[intent.site] and not job.held
                and job.cpus == intent.gpus)

    def applied(self, intent: Intent) -> bool:
        return self._holds(self._known().get(intent.job_id), intent)

    def confirm(self, intents: list[Intent]) -> list[Intent]:
        queue = self.jobs()
        return [i for i in intents if self._holds(queue.get(i.job_id), i)]

    def apply(self, intent: Intent) -> None:
        if self.applied(intent):
            return
        queue = self._known()
        job = queue.get(intent.job_id)
        if intent.action == "cancel":
            if job is not None:
                self._run("scancel", str(job.slurm_id))
                queue[intent.job_id] = replace(job, state="CANCELLED")
                logger.info("slurm job %d (%s) cancelled", job.slurm_id, intent.job_id)
            return
        if intent.action == "hold":
            self._hold(job)
            if job is not None:
                queue[intent.job_id] = replace(job, held=True, state="PENDING")
            return
        partition = self.partitions[intent.site]
        if job is None:
            job = self.submit_held(intent.job_id, partition, intent.gpus)
        if job.partition != partition or job.cpus != intent.gpus:
            if job.state == "RUNNING":
                self._run("scontrol", "requeuehold", str(job.slurm_id))  # migration or resize: back to the queue, held
            elif not job.held:
                self._run("scontrol", "hold", str(job.slurm_id))
            # a requeued job is not eligible again for a while (its begin time moves): start now
            self._run("scontrol", "update", f"JobId={job.slurm_id}", f"Partition={partition}", f"NumTasks={intent.gpus}",
                      f"NumCPUs={intent.gpus}", "StartTime=now")
        self._run("scontrol", "release", str(job.slurm_id))
        queue[intent.job_id] = replace(job, partition=partition, cpus=intent.gpus, held=False, state="PENDING")
        logger.info("slurm job %d (%s) released in %s with %d GPUs", job.slurm_id, intent.job_id, partition,
                    intent.gpus)

    def submit_held(self, job_id: str, partition: str, gpus: int) -> SlurmJob:
        """Submit the job held, so codispatch decides where and when it runs."""
        out = self._run("sbatch", "--hold", "--parsable", f"--job-name={PREFIX}{job_id}", f"--partition={partition}",
                        f"--ntasks={gpus}", "--requeue", "--output=/dev/null", f"--wrap={self.submit_command}")
        slurm_id = int(out.strip().split(";")[0])
        job = SlurmJob(slurm_id, job_id, partition, "PENDING", True, gpus, self.user, self.account)
        if self._queue is not None:
            self._queue[job_id] = job
        return job

    def _hold(self, job: SlurmJob | None) -> None:
        if job is None or job.held:
            return
        try:
            if job.state == "RUNNING":
                self._run("scontrol", "requeuehold", str(job.slurm_id))
            else:
                self._run("scontrol", "hold", str(job.slurm_id))
        except IntentRefused as exc:
            if "Invalid job id" not in str(exc):
                raise
            logger.info("slurm job %d (%s) is gone already; nothing to hold", job.slurm_id, job.name)
