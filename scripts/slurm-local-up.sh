#!/usr/bin/env bash
# Brings up a single-node Slurm cluster on this machine (munged, slurmctld, slurmd on localhost, no
# systemd), for the tests labelled `slurm` and for trying `vdlab submit` without a cluster.
# Idempotent and safe to call from parallel tests: a daemon already running (live pid file) is left
# alone, and concurrent callers are serialised by a lock. Needs root (the daemons run as root) and
# Debian's slurm-wlm and munge (scripts/install-deps.sh installs them).
#
#   scripts/slurm-local-up.sh            then: source ${VDLAB_SLURM_DIR:-/tmp/vdlab-slurm}/env.sh
#
# Env: VDLAB_SLURM_DIR (state, logs, config; default /tmp/vdlab-slurm), VDLAB_SLURM_PORT (slurmctld's
# port; slurmd uses the next one; default 6917, away from a system cluster's 6817).
#
# What a single-node cluster in a container needs (each found the hard way):
#   - munged gets a socket folder of its own with mode 0755, and slurm.conf names it (AuthInfo=socket=);
#   - the host is not called localhost, so slurmd is told its node name (-N localhost);
#   - no cgroups and no systemd: proctrack/linuxproc and task/none;
#   - no accounting database: accounting_storage/none (sacct does not work; scontrol show job does),
#     and completed jobs are kept in slurmctld's memory for an hour (MinJobAge) so tests can read them;
#   - a requeued job waits out the credential lifetime before it may start again (120 s by default):
#     cred_expire=10 in AuthInfo keeps the requeue tests short;
#   - MailProg=/bin/true, or slurmctld complains about a missing mailer.
set -euo pipefail
dir=${VDLAB_SLURM_DIR:-/tmp/vdlab-slurm}
port=${VDLAB_SLURM_PORT:-6917}
conf=$dir/etc/slurm.conf
export SLURM_CONF=$conf
say() { echo "slurm-local-up: $*"; }

if [ "$(id -u)" != 0 ]; then echo "slurm-local-up: must run as root (the daemons run as root)" >&2; exit 1; fi
for tool in munged slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$tool" >/dev/null || { echo "slurm-local-up: $tool not found: run scripts/install-deps.sh (slurm-wlm, munge)" >&2; exit 1; }
done
mkdir -p "$dir"/{etc,state,spool,log,run,munge}
exec 9>"$dir/up.lock"
flock 9

# Daemons keep neither the caller's output (a test reading it until EOF would wait for ever) nor the lock.

# running PIDFILE NAME: the pid in the file is alive and is NAME
running() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# munge: its own key and socket, so a system munged (if any) is neither needed nor disturbed.
chmod 0755 "$dir/munge"
if [ ! -s "$dir/munge/munge.key" ]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
  chmod 0400 "$dir/munge/munge.key"
fi
socket=$dir/munge/munge.socket
if ! running "$dir/munge/munged.pid" munged; then
  rm -f "$socket" "$socket.lock" "$dir/munge/munged.pid"
  munged --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
         --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" </dev/null >>"$dir/log/daemons.out" 2>&1 9>&-
  for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
  say "munged started"
fi
munge -S "$socket" -n | unmunge -S "$socket" >/dev/null || { echo "slurm-local-up: munge does not round-trip; see $dir/munge/munged.log" >&2; exit 1; }

# slurm.conf from what slurmd sees of this machine (memory with 10% left to the system).
hw=$(slurmd -C | head -1)
field() { echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
cpus=$(field CPUs); sockets=$(field SocketsPerBoard); cores=$(field CoresPerSocket); threads=$(field ThreadsPerCore)
memory=$(( $(field RealMemory) * 9 / 10 ))
cat > "$conf.new" <<CONF
ClusterName=vdlab-local
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
KillWait=30
DefMemPerCPU=$((memory / cpus))
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
if cmp -s "$conf.new" "$conf"; then rm -f "$conf.new"; else mv "$conf.new" "$conf"; fi
echo "export SLURM_CONF=$conf" > "$dir/env.sh"

if ! running "$dir/run/slurmctld.pid" slurmctld; then
  (cd "$dir" && slurmctld -f "$conf" </dev/null >>"$dir/log/daemons.out" 2>&1 9>&-)
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q "is UP" && break; sleep 0.1; done
  scontrol ping 2>/dev/null | grep -q "is UP" || { echo "slurm-local-up: slurmctld did not come up; see $dir/log/slurmctld.log" >&2; exit 1; }
  say "slurmctld started"
fi
if ! running "$dir/run/slurmd.pid" slurmd; then
  (cd "$dir" && slurmd -f "$conf" -N localhost </dev/null >>"$dir/log/daemons.out" 2>&1 9>&-)
  say "slurmd started"
fi
for _ in $(seq 200); do
  case "$(sinfo -h -n localhost -o %t 2>/dev/null || true)" in
    idle* | mix* | alloc*) break ;;
    down* | drain*) scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.1
done
sinfo -h -n localhost -o %t | grep -qE '^(idle|mix|alloc)' || { echo "slurm-local-up: node not ready: $(sinfo 2>&1); see $dir/log/slurmd.log" >&2; exit 1; }
say "up ($cpus CPUs); use: source $dir/env.sh"
