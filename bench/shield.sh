#!/usr/bin/env bash
# CPU shielding benchmark, in the lab guest (shape S2: 2 CPUs, cgroup v2, no systemd), never on this machine, one
# boot for both measurements:
# - what a vCPU thread loses (shield-waitshare): a busy-loop stand-in on CPU 1 and the share of wall time it waited
#   on a run queue (kernel schedstat), idle, under stress-ng --cpu 4, shielded by vfioctl shield --cpus 1 with the
#   stand-in moved in, and two stand-ins on one shielded CPU; vfioctl latency --busy against the stand-in's figure
#   in each state. Goals: loaded >= 30 %, shielded <= 1 % and >= 50x less, --busy within 10 % of the stand-in.
# - timer-wakeup latency on CPU 1 by cyclictest and vfioctl latency, idle, loaded and shielded (latency-shielded);
#   shield and unshield times. Goal: shielded p99 within 1.5x of idle.
# Prints the ratios.
#   bench/shield.sh [SECONDS]     (seconds per window/measurement, default 10 and 30; the CI tests use 3 and 4)
set -euo pipefail
cd "$(dirname "$0")/.."
w=${1:-10}
secs=${1:-30}
out=$(LAB_APPEND="shieldbench.seconds=$secs waitshare.seconds=$w" lab/run-tests --shape S2 shield-waitshare latency-shielded 2>&1) ||
    { echo "$out" | tail -30; exit 1; }
run=$(echo "$out" | sed -n 's/.*run folder \(lab\/cache\/runs\/[^ ]*\).*/\1/p' | head -1)
echo "lab shape S2, run $run"
echo "== run-queue wait of a busy stand-in on CPU 1 ($w s windows)"
cat "$run/S2/shield-waitshare/host.log"
echo "== timer-wakeup latency on CPU 1 ($secs s per measurement)"
cat "$run/S2/latency-shielded/host.log"
