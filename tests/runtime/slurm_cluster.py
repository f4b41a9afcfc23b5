"""A real single-host Slurm cluster in a temporary directory, on 127.0.0.1, for tests.

munged with its own key and socket, one slurmctld, one slurmd per data-centre node, one partition
per site; no cgroups, no accounting database. Everything is started as a child process with its
PID kept, and stopped by that PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    def __init__(self, root: Path, partitions: list[str], cpus_per_node: int = 64) -> None:
        self.root = Path(root)
        self.partitions = partitions
        self.cpus = cpus_per_node
        self.conf = self.root / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        self.processes: dict[str, subprocess.Popen] = {}
        self.munged_pid: int | None = None

    def write_config(self) -> None:
        r = self.root
        (r / "state").mkdir(parents=True, exist_ok=True)
        ctld_port = _port()
        lines = [
            "ClusterName=codispatch", "SlurmctldHost=localhost(127.0.0.1)", f"SlurmctldPort={ctld_port}",
            "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={r / 'munge.socket'},cred_expire=10",
            f"StateSaveLocation={r / 'state'}", f"SlurmdSpoolDir={r}/spool-%n", f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r}/slurmd-%n.pid", f"SlurmctldLogFile={r / 'slurmctld.log'}", f"SlurmdLogFile={r}/slurmd-%n.log",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt", f"JobCompLoc={r / 'jobcomp.txt'}", "SchedulerParameters=batch_sched_delay=0,sched_interval=1,sched_min_interval=0",
            "SlurmdParameters=config_overrides", "SlurmUser=root", "SlurmdUser=root", "ReturnToService=2",
            "MpiDefault=none", "SwitchType=switch/none", "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
            "JobRequeue=1", "MessageTimeout=3",
        ]
        for p in self.partitions:
            lines.append(f"NodeName={p}1 NodeAddr=127.0.0.1 Port={_port()} CPUs={self.cpus} State=UNKNOWN")
        for p in self.partitions:
            lines.append(f"PartitionName={p} Nodes={p}1 State=UP MaxTime=INFINITE")
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        r = self.root
        self.write_config()
        key = r / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        subprocess.run(["munged", "--force", f"--key-file={key}", f"--socket={r / 'munge.socket'}",
                        f"--pid-file={r / 'munged.pid'}", f"--log-file={r / 'munged.log'}", f"--seed-file={r / 'munge.seed'}"],
                       check=True, capture_output=True, text=True)
        self.munged_pid = int((r / "munged.pid").read_text().strip())
        self.start_controller()
        for p in self.partitions:
            (r / f"spool-{p}1").mkdir(exist_ok=True)
            self.processes[f"slurmd-{p}"] = subprocess.Popen(["slurmd", "-D", "-N", f"{p}1", "-f", str(self.conf)],
                                                             env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()

    def start_controller(self) -> None:
        self.processes["slurmctld"] = subprocess.Popen(["slurmctld", "-D", "-f", str(self.conf)], env=self.env,
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_controller(self) -> None:
        process = self.processes.pop("slurmctld")
        process.terminate()
        process.wait(timeout=30)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            done = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True)
            states = done.stdout.split()
            if done.returncode == 0 and states and all(s in ("idle", "mixed", "allocated") for s in states):
                return
            time.sleep(0.3)
        log = (self.root / "slurmctld.log").read_text()[-2000:] if (self.root / "slurmctld.log").exists() else ""
        raise RuntimeError(f"Slurm did not come up in {timeout_s} s: {log}")

    def stop(self) -> None:
        self._cancel_jobs()
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
        if self.munged_pid:
            try:
                os.kill(self.munged_pid, 15)
            except ProcessLookupError:
                pass

    def _cancel_jobs(self) -> None:
        """Cancel every job while the daemons still run, then end any job step left behind: a batch
        step (slurmstepd and its script) outlives slurmd, so stopping the daemons alone leaks it."""
        if "slurmctld" in self.processes:
            subprocess.run(["scancel", "--user", "root"], env=self.env, capture_output=True, timeout=30)
            deadline = time.time() + 10
            while time.time() < deadline and self._job_step_pids():
                time.sleep(0.3)
        for pid in self._job_step_pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def _job_step_pids(self) -> list[int]:
        """PIDs of this cluster's running job scripts and of the slurmstepd that runs each."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if f"{self.root}/spool-" in cmdline:  # a job script in a slurmd spool (daemons' argv name slurm.conf)
                pids.append(int(entry.name))
                try:
                    if (Path("/proc") / str(ppid) / "comm").read_text().strip() == "slurmstepd":
                        pids.append(ppid)
                except OSError:
                    pass
        return pids


def slurm_available() -> str | None:
    """None when the Slurm and munge binaries are installed and we are root, else the reason."""
    missing = [b for b in ("slurmctld", "slurmd", "munged", "sbatch", "scontrol", "squeue") if shutil.which(b) is None]
    if missing:
        return f"Slurm binaries missing: {missing} (make test installs Debian's slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "the test Slurm cluster runs its daemons as root"
    return None


@contextlib.contextmanager
def running_cluster(partitions: list[str], cpus_per_node: int = 64) -> Iterator[SlurmCluster]:
    """A started cluster with ``SLURM_CONF`` pointing at it (skips the test when Slurm is not
    usable here); stopped and the environment restored on exit."""
    reason = slurm_available()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster(tempfile.mkdtemp(prefix="codispatch-slurm-"), partitions, cpus_per_node)
    cluster.start()
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster
    finally:
        cluster.stop()
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
