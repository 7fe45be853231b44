#!/usr/bin/env bash
# Benchmark: `vfioctl report` against `vfioctl list` on the synthetic host of bench/list.sh (about 1,300 PCI
# functions, written by vfioctl-mkhost into bench/out/, git-ignored), and the size of the page.
#
#   bench/report.sh                  # DEVICES=1300 REPS=9 SCRATCH=.build-bench
#   DEVICES=400 REPS=5 bench/report.sh
#
# Each command runs REPS times after one warm-up run; the median wall time is reported.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICES=${DEVICES:-1300}
REPS=${REPS:-9}
OUT=bench/out
SCRATCH=${SCRATCH:-.build-bench}
HOST=$OUT/host-$DEVICES
PAGE=$OUT/report-$DEVICES.html

echo "building release binaries ($SCRATCH)..." >&2
swift build -c release --scratch-path "$SCRATCH" --product vfioctl >&2
swift build -c release --scratch-path "$SCRATCH" --product vfioctl-mkhost >&2
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)

mkdir -p "$OUT"
"$BIN/vfioctl-mkhost" synthetic --devices "$DEVICES" "$HOST" >&2
HOST=$(cd "$HOST" && pwd)

run_list() { "$BIN/vfioctl" list --root "$HOST"; }
run_report() { "$BIN/vfioctl" report --root "$HOST" -o "$PAGE"; }
# doctor loads the same facts as report (device details, CPU, memory, IRQs): the part of report's time that is
# reading the host rather than drawing. Its exit status is its verdict, not a failure.
run_doctor() { "$BIN/vfioctl" doctor --root "$HOST" || true; }

# Prints the median wall time of `$2` runs of function `$1`, in milliseconds.
median_ms() {
    local fn=$1 reps=$2 i start end
    local -a times=()
    "$fn" > "$OUT/$fn.txt"            # warm-up, and the output kept for inspection
    for ((i = 0; i < reps; i++)); do
        start=$(date +%s%N)
        "$fn" > /dev/null
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END {
        m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.1f\n", m / 1000 }'
}

list_ms=$(median_ms run_list "$REPS")
report_ms=$(median_ms run_report "$REPS")
doctor_ms=$(median_ms run_doctor "$REPS")
bytes=$(wc -c < "$PAGE")
functions=$(find "$HOST/sys/bus/pci/devices" -mindepth 1 -maxdepth 1 | wc -l)
groups=$(find "$HOST/sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 | wc -l)

echo
echo "host: $HOST ($functions PCI functions, $groups IOMMU groups, $(nproc) CPUs)"
printf '%-44s %10s  %s\n' "command" "median ms" "runs"
printf '%-44s %10s  %s\n' "vfioctl list --root DIR" "$list_ms" "$REPS"
printf '%-44s %10s  %s\n' "vfioctl doctor --root DIR" "$doctor_ms" "$REPS"
printf '%-44s %10s  %s\n' "vfioctl report --root DIR -o PAGE" "$report_ms" "$REPS"
awk -v r="$report_ms" -v l="$list_ms" -v d="$doctor_ms" -v b="$bytes" 'BEGIN {
    printf "report / list: %.2f    report / doctor: %.2f    page: %d bytes (%.0f KiB), %.0f bytes per PCI function\n", r / l, r / d, b, b / 1024, b / '"$functions"' }'
