#!/usr/bin/env bash
# Stops the single-node Slurm cluster of scripts/slurm-local-up.sh: cancels its jobs, then stops slurmd,
# slurmctld and munged by their pid files. Idempotent. VDLAB_SLURM_PURGE=1 also removes its saved job
# state and logs.
set -uo pipefail
dir=${VDLAB_SLURM_DIR:-/tmp/vdlab-slurm}
export SLURM_CONF=$dir/etc/slurm.conf
say() { echo "slurm-local-down: $*"; }

stop() {  # stop PIDFILE NAME
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    say "$2 stopped"
  fi
  rm -f "$1"
}

# Jobs still queued or running would leave orphaned job steps behind.
if [ -s "$SLURM_CONF" ] && scontrol ping 2>/dev/null | grep -q "is UP"; then
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    scancel $jobs 2>/dev/null
    for _ in $(seq 100); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
    say "cancelled $(echo "$jobs" | wc -l) job(s)"
  fi
fi
stop "$dir/run/slurmd.pid" slurmd
stop "$dir/run/slurmctld.pid" slurmctld
stop "$dir/munge/munged.pid" munged
if [ "${VDLAB_SLURM_PURGE:-0}" = 1 ]; then rm -rf "$dir/state" "$dir/spool" "$dir/log"; say "purged saved state and logs"; fi
