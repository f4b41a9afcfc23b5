#!/usr/bin/env bash
# Installs the Debian packages the tests need (PostgreSQL, Slurm, munge, Chromium), once.
# Idempotent: does nothing when everything is already there.
set -euo pipefail
need=()
# Each entry: a command that proves the package is installed, then the package names.
check() { local probe="$1"; shift; command -v "$probe" >/dev/null 2>&1 || need+=("$@"); }
# (entries are added by the parts of the project that need them)
check pg_ctlcluster postgresql          # the store tests run on a real PostgreSQL on 127.0.0.1
check slurmctld slurmctld slurmd slurm-client munge   # the Slurm adapter tests start a real Slurm
check munged munge
check chromium chromium                # the accounting report test opens the HTML in headless Chromium
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "need root to apt-get install: ${need[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
