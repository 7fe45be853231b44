#!/usr/bin/env bash
# The libvirt hook's cost per event, in the lab guest (shape S2: 2 CPUs, cgroup v2, an NVMe), never on this
# machine, one boot: an unmanaged VM, a managed VM's prepare (bind + shield) and release (unshield + restore),
# each against the raw sysfs/procfs/cgroup writes the event does, for the current hook (`exec vfioctl hook run`)
# and the version-1 hook (one vfioctl process per command, --help probes, `hook devices`). Prints medians and
# ratios measured in the same run (lab/tests/hook-bench.sh); timing is reported, never asserted.
#   bench/hook.sh [REPS]      (runs of each event, default 7)
# The v1 vfioctl is built (release, static) from the commit before `hook run` came, cached in lab/cache; or give
# one: HOOK_V1_BINARY=PATH (a vfioctl that renders a "vfioctl-hook v1" script). It is staged in
# /opt/vfioctl-hook-v1, which lab/payloads/hook-v1.payload carries into the guest.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-7}
stage=/opt/vfioctl-hook-v1

v1_binary() {
    if [[ -n ${HOOK_V1_BINARY:-} ]]; then
        echo "$HOOK_V1_BINARY"
        return
    fi
    local last commit cache
    # The commit that replaced the v1 script; its parent is the last with it.
    last=$(git log -1 --format=%H -S'marker = "vfioctl-hook v1"' -- Sources/Core/Shield/HookScript.swift)
    [[ -n $last ]] || { echo "no commit in this history drops the v1 hook" >&2; exit 1; }
    commit=$(git rev-parse "$last^")
    cache=lab/cache/hook-v1-$commit
    if [[ ! -x $cache/.build/release/vfioctl ]]; then
        echo "building the v1 vfioctl ($commit) in $cache" >&2
        rm -rf "$cache" && mkdir -p "$cache"
        git archive "$commit" | tar -x -C "$cache"
        (cd "$cache" && swift build -c release --scratch-path .build --product vfioctl -Xswiftc -static-executable) >"$cache.log" 2>&1 ||
            { tail -20 "$cache.log" >&2; exit 1; }
    fi
    echo "$cache/.build/release/vfioctl"
}

old=$(v1_binary)
mkdir -p "$stage"
cmp -s "$old" "$stage/vfioctl" || install -m 755 "$old" "$stage/vfioctl"
"$stage/vfioctl" hook install --dry-run --binary "$stage/vfioctl" | grep -q 'vfioctl-hook v1' ||
    { echo "$old does not render a v1 hook" >&2; exit 1; }
out=$(LAB_HOOK_BENCH=1 LAB_APPEND="hookbench.reps=$reps" lab/run-tests hook-bench 2>&1) || { echo "$out" | tail -40; exit 1; }
run=$(echo "$out" | sed -n 's/.*run folder \(lab\/cache\/runs\/[^ ]*\).*/\1/p' | head -1)
echo "lab shape S2, run $run; v1 vfioctl: $old"
cat "$run/S2/hook-bench/host.log"
