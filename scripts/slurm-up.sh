#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for the Slurm executor's tests and CI
# (recipe: ../shared/SLURM.md): munge + slurmctld + slurmd on loopback, in the foreground
# under setsid (no systemd). Idempotent: exits at once when the node already answers.
# Needs root. Installs slurm-wlm and munge when missing (Debian/Ubuntu).
# `scripts/slurm-up.sh --down` stops the daemons this script started (by their PIDs).
set -euo pipefail
state=/run/tokenmix-slurm
mkdir -p "$state"

node_ready() {
  local s
  s="$(sinfo -h -N -o %T 2>/dev/null | head -1)" || return 1
  case "$s" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

if [ "${1:-}" = "--down" ]; then
  for d in slurmd slurmctld munged; do
    if [ -f "$state/$d.pid" ]; then kill "$(cat "$state/$d.pid")" 2>/dev/null || true; rm -f "$state/$d.pid"; fi
  done
  exit 0
fi

# One start-up at a time (several test files or worktrees may call this together); the
# daemons must not inherit the lock (9>&-), or the next call would wait for them forever.
exec 9>"$state/lock"
flock 9

if command -v sinfo >/dev/null && node_ready; then exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "slurm-up: no Slurm node answers and starting one needs root" >&2; exit 1; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-up: installing slurm-wlm munge" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /etc/slurm
chown munge:munge /run/munge
[ -f /etc/munge/munge.key ] || mungekey --create
if ! munge -n >/dev/null 2>&1; then
  # setpriv execs munged itself (no parent process), so its PID is the one to stop.
  setsid setpriv --reuid=munge --regid=munge --init-groups munged --foreground >/var/log/slurm/munged.log 2>&1 < /dev/null 9>&- &
  echo $! > "$state/munged.pid"
  for _ in $(seq 1 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi

host="$(hostname -s)"
conf=/etc/slurm/slurm.conf
marker="# written by tokenmix scripts/slurm-up.sh"
if [ ! -f "$conf" ] || grep -qF "$marker" "$conf"; then
  # The node's CPUs and memory as slurmd sees them: a node configured with more is drained.
  hw="$(slurmd -C | head -1 | grep -o 'CPUs=[0-9]* .*RealMemory=[0-9]*' | sed -E 's/(Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+ //g')"
  cat > "$conf" <<EOF
$marker
ClusterName=ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
fi

if ! scontrol ping 2>/dev/null | grep -q UP; then
  setsid slurmctld -D -i >/var/log/slurm/slurmctld.log 2>&1 < /dev/null 9>&- &
  echo $! > "$state/slurmctld.pid"
  for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
fi
if [ ! -f "$state/slurmd.pid" ] || ! kill -0 "$(cat "$state/slurmd.pid")" 2>/dev/null; then
  setsid slurmd -D >/var/log/slurm/slurmd.log 2>&1 < /dev/null 9>&- &
  echo $! > "$state/slurmd.pid"
fi
for _ in $(seq 1 300); do
  if node_ready; then exit 0; fi
  sleep 0.1
done
# A node left down or drained by an earlier run comes back here.
scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
for _ in $(seq 1 100); do
  if node_ready; then exit 0; fi
  sleep 0.1
done
echo "slurm-up: the Slurm node did not become idle; sinfo says: $(sinfo -h -N -o '%T %E' 2>&1 | head -1)" >&2
tail -5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
