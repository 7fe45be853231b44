#!/usr/bin/env bash
# The meter against the reference, on this machine directly (no lab, no shield: nothing of the host changes):
# cyclictest (-a 1 -t 1 -p 0 --policy=other -i 1000 --mainaffinity=0) and `vfioctl latency --cpu 1` alternating
# in windows on CPU 1. Both write cyclictest's --histfile format; each tool's windows are merged and read by the
# same percentile code. Prints every window, p50/p99/p99.9/max of each tool, and vfioctl / cyclictest.
#   bench/meter.sh [WINDOWS [SECONDS]]     (default 6 windows of 5 s per tool)
# Which vfioctl: VFIOCTL=/path/to/vfioctl, or BUILD=release|debug (default release) in SCRATCH (default .build),
# built first when missing. Needs root for /dev/cpu_dma_latency (both tools hold it at 0 µs); installs rt-tests
# with apt-get when cyclictest is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
windows=${1:-6}
secs=${2:-5}
build=${BUILD:-release}
scratch=${SCRATCH:-.build}
vfioctl=${VFIOCTL:-$scratch/$build/vfioctl}
if [ ! -x "$vfioctl" ]; then
    [ -z "${VFIOCTL:-}" ] || { echo "VFIOCTL=$VFIOCTL is not an executable" >&2; exit 1; }
    swift build -c "$build" --scratch-path "$scratch" --product vfioctl >&2
fi
command -v cyclictest >/dev/null || apt-get install -y rt-tests >&2
[ "$(nproc)" -ge 2 ] || { echo "needs CPU 1" >&2; exit 1; }

out=$(mktemp -d /tmp/meter.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Leading zeros are stripped before arithmetic (some awks read "000117" as octal).
NUM='function num(s) { sub(/^0+/, "", s); return s == "" ? 0 : s + 0 }'

# p50 p99 p99.9 max (µs) of one histfile: the smallest microsecond at or below which ceil(total × p) samples lie,
# in integer arithmetic (99.9 % of 1000 samples is the 999th). Overflows count as the max.
percentiles() {
    awk "$NUM"'
        /^# Max Latenc/ { max = num($4) }
        /^# Histogram Overflows:/ { over = num($4) }
        /^[0-9]/ { u = num($1); n = num($2); if (n > 0) { v[k] = u; c[k] = n; total += n; k++ } }
        END {
            total += over
            split("500 990 999", pm, " ")
            line = ""
            for (j = 1; j <= 3; j++) {
                acc = 0; r = max
                for (i = 0; i < k; i++) { acc += c[i]; if (acc * 1000 >= total * pm[j]) { r = v[i]; break } }
                line = line r " "
            }
            print line max, total
        }' "$1"
}

# One histogram from several: counts summed per microsecond, largest max, overflows summed.
merge() {
    cat "$@" | awk "$NUM"'
        /^# Max Latenc/ { if (num($4) > max) max = num($4) }
        /^# Histogram Overflows:/ { over += num($4) }
        /^[0-9]/ { c[num($1)] += num($2) }
        END { for (u in c) if (c[u] > 0) printf "%06d %06d\n", u, c[u]; printf "# Max Latencies: %d\n# Histogram Overflows: %d\n", max, over }' |
        sort
}

cyclic() {
    cyclictest -q -a 1 -t 1 -p 0 --policy=other -i 1000 --mainaffinity=0 -D "$secs" -h 100000 \
        --histfile="$out/cyclictest.$1.hist" >/dev/null
    echo "window $1 cyclictest p50/p99/p99.9/max/samples $(percentiles "$out/cyclictest.$1.hist")"
}

meter() {
    "$vfioctl" latency --cpu 1 --duration "$secs" --json --histfile "$out/vfioctl.$1.hist" >"$out/vfioctl.$1.json"
    share=$(sed -n 's/^  "waitShare": \(.*\),*$/\1/p' "$out/vfioctl.$1.json" | tr -d ,)
    echo "window $1 vfioctl    p50/p99/p99.9/max/samples $(percentiles "$out/vfioctl.$1.hist") run-queue wait share ${share:-?}"
}

echo "$windows windows of $secs s per tool on CPU 1, $vfioctl; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ "$i" -lt "$windows" ]; do
    # The order flips every pair, so a drift in the machine's load favours neither tool.
    if [ $((i % 2)) -eq 0 ]; then cyclic "$i"; meter "$i"; else meter "$i"; cyclic "$i"; fi
    i=$((i + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
merge "$out"/cyclictest.*.hist >"$out/cyclictest.hist"
merge "$out"/vfioctl.*.hist >"$out/vfioctl.hist"
set -- $(percentiles "$out/cyclictest.hist") $(percentiles "$out/vfioctl.hist")
echo "cyclictest µs: p50 $1 p99 $2 p99.9 $3 max $4 ($5 samples)"
echo "vfioctl    µs: p50 $6 p99 $7 p99.9 $8 max $9 (${10} samples)"
awk -v a="$1 $2 $3 $4" -v b="$6 $7 $8 $9" 'BEGIN {
    split(a, c, " "); split(b, v, " "); split("p50 p99 p99.9 max", name, " ")
    line = "vfioctl / cyclictest:"
    for (i = 1; i <= 4; i++) line = line sprintf(" %s %s", name[i], c[i] > 0 ? sprintf("%.2f", v[i] / c[i]) : "-")
    print line
}'
