#!/usr/bin/env bash
# tests/slurm/slurm-up.sh DIR - start a private single-node Slurm (munged,
# slurmctld, slurmd) with its state under DIR. Prints nothing on success;
# writes DIR/pids. Stop it with tests/slurm/slurm-down.sh DIR.
set -euo pipefail
D=$1
mkdir -p "$D"/{state,spool,log}
N=$(hostname)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
PORT0=$(( 20000 + RANDOM % 20000 ))
# munge: a private socket and key so that several instances never collide
mkdir -p "$D/munge"
chown munge:munge "$D/munge" 2>/dev/null || true
dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 2>/dev/null
chown munge:munge "$D/munge/munge.key" 2>/dev/null || true
chmod 0400 "$D/munge/munge.key"
mkdir -p /run/munge
SOCK="$D/munge/munge.socket"
if id munge >/dev/null 2>&1; then MU="sudo -u munge"; command -v sudo >/dev/null || MU="runuser -u munge --"; else MU=""; fi
$MU /usr/sbin/munged --key-file="$D/munge/munge.key" --socket="$SOCK" --pid-file="$D/munge/munged.pid" \
    --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed" --force
cat > "$D/slurm.conf" <<CONF
ClusterName=precis-test
SlurmctldHost=$N
SlurmctldPort=$PORT0
SlurmdPort=$((PORT0 + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
ReconfigFlags=KeepPartInfo
NodeName=$N CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$N Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF="$D/slurm.conf"
/usr/sbin/slurmctld -f "$D/slurm.conf" -i
/usr/sbin/slurmd -f "$D/slurm.conf"
for i in $(seq 1 60); do
  if sinfo -h -o %t 2>/dev/null | grep -q -E '^(idle|mix|alloc)'; then exit 0; fi
  sleep 0.5
done
echo "slurm did not come up; see $D/log" >&2
tail -5 "$D/log/slurmctld.log" "$D/log/slurmd.log" >&2 || true
exit 1
