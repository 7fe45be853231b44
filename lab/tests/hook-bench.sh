# Benchmark, same boot: what the libvirt hook costs per event, against the raw sysfs, procfs and cgroup writes the
# event does (done by hand by the shell), for the current hook (`exec vfioctl hook run`) and the version-1 hook
# (a shell script running vfioctl bind, shield, unshield, restore, with --help probes and `hook devices`, each its
# own process), the v1 vfioctl built from git history by bench/hook.sh.
# Events: an unmanaged VM (no spec: the script exits before vfioctl starts; also timed with the spec check left to
# vfioctl, to show why the script keeps it), and for a spec on the NVMe with its vCPU on CPU 1, prepare (bind and
# shield) and release (unshield and restore). Medians of N runs (hookbench.reps=N, default 7), interleaved.
# Times and ratios are printed, never asserted: the test fails only when an event does not do its job.
# Runs only with LAB_HOOK_BENCH=1 (bench/hook.sh sets it and stages /opt/vfioctl-hook-v1).
LAB_SHAPES=${LAB_HOOK_BENCH:+S2}
LAB_TIMEOUT=900
LAB_PAYLOADS="hook-v1"

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
# busybox has no date +%N; adjtimex prints the time in µs (shell arithmetic is 64-bit, busybox awk's %d is not).
now_us() {
    set -- $(adjtimex | sed -n 's/.*tv_sec: *//p; s/.*tv_usec: *//p')
    echo $(($1 * 1000000 + $2))
}

NVME=0000:03:00.0

# The writes of `vfioctl shield --cpus 1`, taken from its dry run, as shell commands: raw-shield.sh applies them,
# raw-unshield.sh puts the old values back in reverse order. Tasks of the root cgroup and unbound kernel threads
# are listed when the script runs, as vfioctl does.
raw_scripts() {
    vfioctl shield --cpus 1 --dry-run >"$OUT/shield-dry-run" || lab_fail "shield --dry-run failed"
    awk -v apply="$OUT/raw-shield.sh" -v undo="$OUT/raw-unshield.body" -v sq="'" '
        function q(s) { gsub(sq, sq "\\" sq sq, s); return sq s sq }
        /^  create / { print "mkdir " $2 " 2>/dev/null" > apply; print "rmdir " $2 " 2>/dev/null" > undo; next }
        /^  [^ ]*: \+[a-z]*$/ { sub(/:$/, "", $1); print "echo " $2 " >" $1 " 2>/dev/null" > apply
            c = $2; sub(/^\+/, "-", c); print "echo " c " >" $1 " 2>/dev/null" > undo; next }
        /^  move [0-9]* tasks? of the root cgroup to / {
            to = $0; sub(/.* to /, "", to); sub(/ .*/, "", to)
            # The dry run names the cgroup by its full path (older ones relative to the mount).
            if (to !~ /^\/sys\//) to = "/sys/fs/cgroup" to
            print "for p in $(cat /sys/fs/cgroup/cgroup.procs); do echo $p >" to "/cgroup.procs 2>/dev/null; done" > apply
            print "for p in $(cat " to "/cgroup.procs); do echo $p >/sys/fs/cgroup/cgroup.procs 2>/dev/null; done" > undo; next }
        /^  \/[^ ]*: .* → / {
            path = $1; sub(/:$/, "", path); line = $0; new = line; sub(/.* → /, "", new)
            old = line; sub(/^[^:]*: /, "", old); sub(/ → .*/, "", old)
            print "echo " q(new) " >" path " 2>/dev/null" > apply
            if (old != "(new)") { gsub(sq, "", old); print "echo " q(old) " >" path " 2>/dev/null" > undo }
            next }
        /^  kthreadd \(pid 2\)/ { print "taskset -pc 0 2 >/dev/null 2>&1" > apply; print "taskset -pc 0-1 2 >/dev/null 2>&1" > undo; next }
        /unbound kernel threads? → / {
            k = "for p in /proc/[0-9]*; do c=; read -r c <$p/cmdline 2>/dev/null; [ -z \"$c\" ] || continue; "
            print k "taskset -pc 0 ${p#/proc/} >/dev/null 2>&1; done" > apply
            print k "taskset -pc 0-1 ${p#/proc/} >/dev/null 2>&1; done" > undo; next }
    ' "$OUT/shield-dry-run"
    # Undo in reverse order (values first, then controllers, then the cgroups: the order unshield uses).
    awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' "$OUT/raw-unshield.body" >"$OUT/raw-unshield.sh"
    [ "$(wc -l <"$OUT/raw-shield.sh")" -gt 3 ] || lab_fail "no writes read from the shield dry run: $(cat "$OUT/shield-dry-run")"
}

raw_prepare() {
    echo vfio-pci >/sys/bus/pci/devices/$NVME/driver_override
    echo $NVME >/sys/bus/pci/devices/$NVME/driver/unbind
    echo $NVME >/sys/bus/pci/drivers_probe
    until [ "$(driver_of $NVME)" = vfio-pci ] && [ -e "/dev/vfio/$GROUP" ]; do :; done
    # An IRQ the bind freed (the NVMe's) is gone: the shell's redirection errors go nowhere.
    . "$OUT/raw-shield.sh" 2>/dev/null
}

raw_release() {
    . "$OUT/raw-unshield.sh" 2>/dev/null
    echo >/sys/bus/pci/devices/$NVME/driver_override
    echo $NVME >/sys/bus/pci/devices/$NVME/driver/unbind
    echo $NVME >/sys/bus/pci/drivers/nvme/bind
}

# timed NAME COMMAND...: appends the command's time in µs to $OUT/t.NAME.
timed() {
    _n=$1
    shift
    _t0=$(now_us)
    "$@"
    _rc=$?
    _t1=$(now_us)
    echo $((_t1 - _t0 - STAMP)) >>"$OUT/t.$_n"
    return $_rc
}

event() { echo "<domain/>" | "$1" "$2" "$3" "$4" - 2>>"$OUT/hook.err" >>"$OUT/hook.out"; }

guest() {
    GROUP=$(basename "$(readlink /sys/bus/pci/devices/$NVME/iommu_group)")
    assert_eq "$(driver_of $NVME)" nvme "the NVMe starts on nvme"
    reps=$(sed -n 's/.*hookbench.reps=\([0-9]*\).*/\1/p' /proc/cmdline)
    reps=${reps:-7}
    mkdir -p /etc/vfioctl/vms /etc/libvirt/hooks/qemu.d "$OUT/v1"
    vfioctl init --name lab --device "${NVME#0000:}" --vcpus 1 --memory 1G >/etc/vfioctl/vms/lab.toml ||
        lab_fail "vfioctl init failed"
    grep -q '^pin = \[1\]' /etc/vfioctl/vms/lab.toml || lab_fail "the spec does not pin CPU 1"
    # The version-1 vfioctl refuses keys added since (the device's subsystem and slot path): one spec for both
    # hooks, without them (the v2 drift check then compares the vendor:device id only).
    sed -i '/^subsystem = /d; /^slot-path = /d' /etc/vfioctl/vms/lab.toml
    vfioctl hook install --binary "$(command -v vfioctl)" >/dev/null || lab_fail "hook install failed"
    v2=/etc/libvirt/hooks/qemu.d/vfioctl
    # The same hook with the spec check left to vfioctl hook run.
    grep -v '^\[ -f "\$SPECS/\$1.toml" \]' "$v2" >"$OUT/v2-nocheck"
    chmod 755 "$OUT/v2-nocheck"
    old=/opt/vfioctl-hook-v1/vfioctl
    v1=
    if [ -x "$old" ]; then
        "$old" hook install --dry-run --binary "$old" | sed '1,2d' >"$OUT/v1/hook"
        chmod 755 "$OUT/v1/hook"
        grep -q 'vfioctl-hook v1' "$OUT/v1/hook" && v1=$OUT/v1/hook || echo "note: $old does not render a v1 hook; v1 is not measured"
    else
        echo "note: no $old (bench/hook.sh stages it); v1 is not measured"
    fi
    raw_scripts
    # The cost of taking a timestamp (a fork of adjtimex), the median of 9, subtracted from every interval.
    STAMP=0
    for _ in 1 2 3 4 5 6 7 8 9; do timed stamp true; done
    STAMP=$(sort -n "$OUT/t.stamp" | sed -n 5p)

    i=0
    while [ "$i" -lt "$reps" ]; do
        i=$((i + 1))
        timed unmanaged-v2 event "$v2" other prepare begin
        timed unmanaged-v2-nocheck event "$OUT/v2-nocheck" other prepare begin
        [ -z "$v1" ] || timed unmanaged-v1 event "$v1" other prepare begin
        timed unmanaged-raw true
        # Starting the binary alone: what each vfioctl process costs before it does anything.
        timed start-v2 vfioctl --version >/dev/null
        [ -z "$v1" ] || timed start-v1 "$old" --version >/dev/null
        for h in raw v2 ${v1:+v1}; do
            case $h in
                raw) timed prepare-raw raw_prepare ;;
                v2) timed prepare-v2 event "$v2" lab prepare begin || lab_fail "v2 prepare failed: $(tail -5 "$OUT/hook.err")" ;;
                v1) timed prepare-v1 event "$v1" lab prepare begin || lab_fail "v1 prepare failed: $(tail -5 "$OUT/hook.err")" ;;
            esac
            assert_eq "$(driver_of $NVME)" vfio-pci "run $i $h: prepare bound the NVMe"
            case $h in
                raw) timed release-raw raw_release ;;
                v2) timed release-v2 event "$v2" lab release end ;;
                v1) timed release-v1 event "$v1" lab release end ;;
            esac
            assert_eq "$(driver_of $NVME)" nvme "run $i $h: release gave the NVMe back"
        done
        [ ! -e /run/vfioctl/shield.journal ] || lab_fail "run $i: a shield journal is left after release"
    done
    median() { sort -n "$OUT/t.$1" | sed -n "$(((reps + 1) / 2))p"; }
    {
        echo "reps $reps"
        echo "stamp $STAMP"
        for n in start-v2 start-v1 unmanaged-raw unmanaged-v2 unmanaged-v2-nocheck unmanaged-v1 prepare-raw prepare-v2 prepare-v1 release-raw release-v2 release-v1; do
            [ -f "$OUT/t.$n" ] && echo "$n $(median "$n") $(tr '\n' ' ' <"$OUT/t.$n")"
        done
    } | tee "$OUT/results"
    echo "ok - every event did its job ($reps runs each)"
}

host() {
    awk '
        $1 == "reps" { reps = $2; next }
        $1 == "stamp" { next }
        { m[$1] = $2 }
        function row(what, n) { if (n in m) printf "  %-34s %8d µs\n", what, m[n] }
        function ratio(what, a, b) { if ((a in m) && (b in m) && m[b] > 0) printf "  %-34s %8.2f\n", what, m[a] / m[b] }
        END {
            printf "hook cost per event, lab shape S2 (TCG, 2 CPUs), medians of %d runs, microseconds\n", reps
            row("starting the v2 vfioctl (--version)", "start-v2"); row("starting the v1 vfioctl (--version)", "start-v1")
            print "unmanaged VM (no spec; no writes):"
            row("v2 hook (spec checked in sh)", "unmanaged-v2"); row("v2 hook, check in hook run", "unmanaged-v2-nocheck")
            row("v1 hook", "unmanaged-v1")
            print "managed VM prepare (bind the NVMe, shield CPU 1):"
            row("raw writes (sh; a taskset per kthread)", "prepare-raw"); row("v2 hook (hook run)", "prepare-v2"); row("v1 hook", "prepare-v1")
            ratio("ratio v2 / raw", "prepare-v2", "prepare-raw"); ratio("ratio v1 / raw", "prepare-v1", "prepare-raw")
            ratio("ratio v2 / v1", "prepare-v2", "prepare-v1")
            print "managed VM release (unshield, restore the NVMe):"
            row("raw writes (sh; a taskset per kthread)", "release-raw"); row("v2 hook (hook run)", "release-v2"); row("v1 hook", "release-v1")
            ratio("ratio v2 / raw", "release-v2", "release-raw"); ratio("ratio v1 / raw", "release-v1", "release-raw")
            ratio("ratio v2 / v1", "release-v2", "release-v1")
        }' "$OUT/results" | tee "$OUT/bench.txt"
}
