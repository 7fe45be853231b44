#!/usr/bin/env bash
# vfioctl shield + unshield timed against its peers on the same job, in the lab guest (never on this machine):
# cset shield --cpu 1 --kthread on + cset shield --reset (Debian's cpuset 1.6, cgroup v1: shape V1) and
# vfio-isolate 0.5.2 from PyPI (cpuset-create + move-tasks + irq-affinity mask, restore from its undo file;
# shape V1, and tried on the cgroup v2 shape S2). Medians of N repetitions, ratios peer / vfioctl, and what each
# moved (tasks, IRQs, kernel threads, cpumasks). Timing is reported, never asserted.
#   bench/shield-peers.sh [REPS]      (repetitions of each, default 5)
# The peers need Python in the guest: this stages /opt/vfioctl-peers (Python 3.11's standard library without
# its tests and GUI parts, cset, future, click, psutil from Debian; vfio-isolate's sdist from PyPI), which
# lab/payloads/shield-peers.payload carries; lab/tests/shield-peers.sh runs only with LAB_SHIELD_PEERS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
peers=/opt/vfioctl-peers

stage_peers() {
    local missing=() p
    for p in python3.11 cpuset python3-cpuset python3-future python3-click python3-psutil python3-pip; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
    [[ -f $peers/ready ]] && return 0
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && /usr/bin/python3.11 -m pip download -q --no-deps --no-binary :all: vfio-isolate==0.5.2 &&
        tar xzf vfio-isolate-0.5.2.tar.gz)
    rm -rf "$peers"
    mkdir -p "$peers/lib" "$peers/site" "$peers/bin"
    # The standard library less what no peer imports (tests, Tk, IDLE, 2to3, ensurepip, the C headers' config).
    tar -C /usr/lib -cf - \
        --exclude=python3.11/test --exclude=python3.11/idlelib --exclude=python3.11/tkinter \
        --exclude=python3.11/turtledemo --exclude=python3.11/lib2to3 --exclude=python3.11/ensurepip \
        --exclude=python3.11/pydoc_data --exclude='python3.11/config-3.11-*' --exclude=python3.11/site-packages \
        --exclude=python3.11/dist-packages --exclude=python3.11/unittest/test --exclude=python3.11/sqlite3/test \
        --exclude=python3.11/ctypes/test --exclude=python3.11/distutils/tests --exclude=python3.11/venv \
        python3.11 | tar -C "$peers/lib" -xf -
    cp -a /usr/lib/python3/dist-packages/{cpuset,future,past,click,psutil} "$peers/site/"
    cp -a "$tmp/vfio-isolate-0.5.2/vfio_isolate" "$peers/site/"
    cp /usr/bin/cset "$peers/bin/cset"
    printf '%s\n' 'import sys' 'from vfio_isolate import run_cli' 'sys.exit(run_cli())' >"$peers/bin/vfio-isolate"
    /usr/bin/python3.11 -m compileall -q "$peers/site" >/dev/null || true
    # Check that the staged tree runs on its own (help only: nothing touches this machine's cpusets or IRQs).
    PYTHONHOME=$peers PYTHONPATH=$peers/site /usr/bin/python3.11 -S -c 'import cpuset.main, click, psutil' ||
        { echo "the staged Python does not import its packages" >&2; exit 1; }
    rm -rf "$tmp"
    echo "vfio-isolate 0.5.2 (PyPI), cpuset 1.6 (Debian), Python 3.11: $(du -sh "$peers" | cut -f1)" >"$peers/ready"
}

stage_peers
cat "$peers/ready"
[[ ${1:-} == --stage-only ]] && exit 0
out=$(LAB_SHIELD_PEERS=1 LAB_APPEND="shieldpeers.reps=$reps" lab/run-tests shield-peers 2>&1) || { echo "$out" | tail -40; exit 1; }
run=$(echo "$out" | sed -n 's/.*run folder \(lab\/cache\/runs\/[^ ]*\).*/\1/p' | head -1)
echo "lab shapes V1 (cgroup v1 cpuset) and S2 (cgroup v2), 2 CPUs, $reps repetitions, run $run"
for s in V1 S2; do
    [[ -f $run/$s/shield-peers/host.log ]] && { echo "== $s"; cat "$run/$s/shield-peers/host.log"; }
done
echo "$out" | tail -1
