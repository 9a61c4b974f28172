#!/usr/bin/env bash
# tests/slurm/slurm-down.sh DIR - stop the Slurm started by slurm-up.sh DIR, by PID.
D=$1
for p in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
  [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
done
sleep 1
for p in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
  [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
done
true
