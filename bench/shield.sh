#!/usr/bin/env bash
# CPU shielding benchmark, in the lab guest (shape S2: 2 CPUs, cgroup v2, no systemd), never on this machine:
# p99.9 timer-wakeup latency on CPU 1 (SCHED_OTHER) by cyclictest and by vfioctl latency, idle, under a full CPU
# load (stress-ng --cpu 4) unshielded, and shielded by vfioctl shield --cpus 1 with the probes moved in by
# shield --move; shield and unshield times. Prints the ratios.
#   bench/shield.sh [SECONDS]     (seconds per measurement, default 30; the CI test uses 4)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
out=$(LAB_APPEND="shieldbench.seconds=$secs" lab/run-tests --shape S2 latency-shielded 2>&1) || { echo "$out" | tail -30; exit 1; }
run=$(echo "$out" | sed -n 's/.*run folder \(lab\/cache\/runs\/[^ ]*\).*/\1/p' | head -1)
echo "lab shape S2, $secs s per measurement, run $run"
cat "$run/S2/latency-shielded/host.log"
