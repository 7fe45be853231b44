#!/usr/bin/env bash
# Benchmark: `vfioctl list` against `lspci -nn` and the Arch wiki IOMMU group script, on one synthetic host with
# about 1,300 PCI functions (written by vfioctl-mkhost into bench/out/, git-ignored).
#
#   bench/list.sh                    # DEVICES=1300 REPS=9 WIKI_REPS=3
#   DEVICES=400 REPS=5 bench/list.sh
#
# Each command runs REPS times (the wiki script WIKI_REPS times: it starts one lspci per device) after one
# warm-up run; the median wall time is reported. Output of each tool goes to bench/out/*.txt for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICES=${DEVICES:-1300}
REPS=${REPS:-9}
WIKI_REPS=${WIKI_REPS:-3}
OUT=bench/out
HOST=$OUT/host-$DEVICES

command -v lspci >/dev/null || { echo "lspci is missing: apt-get install -y pciutils pci.ids" >&2; exit 1; }

echo "building release binaries (.build-bench)..." >&2
swift build -c release --scratch-path .build-bench --product vfioctl >&2
swift build -c release --scratch-path .build-bench --product vfioctl-mkhost >&2
BIN=$(swift build -c release --scratch-path .build-bench --show-bin-path)

mkdir -p "$OUT"
"$BIN/vfioctl-mkhost" synthetic --devices "$DEVICES" "$HOST" >&2
HOST=$(cd "$HOST" && pwd)
PCI="$HOST/sys/bus/pci"

run_vfioctl() { "$BIN/vfioctl" list --root "$HOST"; }
run_lspci() { lspci -A linux-sysfs -O sysfs.path="$PCI" -nn; }
# The Arch wiki "Ensuring that the groups are valid" script, with lspci pointed at the fake sysfs.
run_wiki() {
    shopt -s nullglob
    for g in $(find "$HOST"/sys/kernel/iommu_groups/* -maxdepth 0 -type d | sort -V); do
        echo "IOMMU Group ${g##*/}:"
        for d in "$g"/devices/*; do
            echo -e "\t$(lspci -A linux-sysfs -O sysfs.path="$PCI" -nns "${d##*/}")"
        done
    done
}

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

if ! run_vfioctl > /dev/null; then
    echo "vfioctl list --root failed (does this build have the list command?)" >&2
    exit 1
fi

functions=$(grep -c '^[0-9a-f]\{4\}:' "$OUT/run_lspci.txt" 2>/dev/null || true)
vfioctl_ms=$(median_ms run_vfioctl "$REPS")
lspci_ms=$(median_ms run_lspci "$REPS")
wiki_ms=$(median_ms run_wiki "$WIKI_REPS")
functions=$(grep -c . "$OUT/run_lspci.txt")
groups=$(find "$HOST/sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 | wc -l)

echo
echo "host: $HOST ($functions PCI functions, $groups IOMMU groups, $(nproc) CPUs)"
printf '%-44s %10s  %s\n' "command" "median ms" "runs"
printf '%-44s %10s  %s\n' "vfioctl list --root DIR" "$vfioctl_ms" "$REPS"
printf '%-44s %10s  %s\n' "lspci -A linux-sysfs -nn" "$lspci_ms" "$REPS"
printf '%-44s %10s  %s\n' "Arch wiki group script (one lspci per device)" "$wiki_ms" "$WIKI_REPS"
awk -v v="$vfioctl_ms" -v l="$lspci_ms" -v w="$wiki_ms" 'BEGIN {
    printf "vfioctl / lspci: %.2f    wiki / vfioctl: %.1f\n", v / l, w / v }'
