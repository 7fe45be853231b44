#!/usr/bin/env bash
# Sequential read throughput of the lab's NVMe (64 MiB namespace) through `vfioctl emulate nbd` (qemu-io over
# the NBD socket, the user-space driver underneath) against the kernel's nvme driver (dd, page cache dropped),
# in the same lab guest and run (lab/tests/emulate-nbd.sh prints both). Ratios only: under TCG the absolute
# numbers say little. Runs the lab test REPS times and prints each run and the median ratio.
#   bench/emulate-nvme.sh [REPS]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
ratios=()
for ((i = 1; i <= reps; i++)); do
    lab/run-tests --shape A ${LAB_BENCH_NO_BUILD:+--no-build} emulate-nbd >/dev/null || { echo "run $i: the lab test failed" >&2; exit 1; }
    LAB_BENCH_NO_BUILD=1
    log=lab/cache/runs/latest/A/emulate-nbd/out/guest.log
    [[ -f $log ]] || log=$(find lab/cache/runs/latest/A/emulate-nbd -name guest.log | head -1)
    grep '^# bench' "$log" | sed "s/^# bench/run $i:/"
    ratios+=("$(sed -n 's/^# bench ratio emulate\/kernel //p' "$log")")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "median ratio emulate/kernel over %d runs: %s\n", NR, a[int((NR + 1) / 2)] }'
