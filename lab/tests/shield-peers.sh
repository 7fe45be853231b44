# vfioctl shield --cpus 1 + unshield timed against its peers on the same job, same boot: cset shield --cpu 1
# --kthread on + cset shield --reset (cgroup v1 only: shape V1) and vfio-isolate 0.5.2 (cpuset-create + move-tasks
# + irq-affinity mask with an undo file, then restore): medians of N repetitions (shieldpeers.reps=N, default 3)
# and what each moved. On S2 (cgroup v2) vfio-isolate is only tried and its result recorded. Timing is printed,
# never asserted: the test fails when a peer that should work does not run or does not restore the state.
# Needs the staged Python (bench/shield-peers.sh): it runs only with LAB_SHIELD_PEERS=1 (the bench sets it).
LAB_SHAPES=${LAB_SHIELD_PEERS:+V1 S2}
LAB_TIMEOUT=600
LAB_PAYLOADS="shield-peers"

PEERS=/opt/vfioctl-peers
py() { PYTHONHOME=$PEERS PYTHONPATH=$PEERS/site PYTHONDONTWRITEBYTECODE=1 python3.11 "$@"; }
cset() { py "$PEERS/bin/cset" "$@"; }
vfio_isolate() { py "$PEERS/bin/vfio-isolate" "$@"; }

# Monotonic nanoseconds (hrtimer clock; /proc/uptime's 10 ms as a fallback).
now_ns() {
    _t=$(sed -n '3{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list 2>/dev/null)
    [ -n "$_t" ] || _t=$(awk '{ printf "%d", $1 * 1000000000 }' /proc/uptime)
    echo "$_t"
}

# What sits on CPU 1: user tasks (a command line) allowed on it, unbound kernel threads (0-1), IRQs whose
# affinity includes it, and the kernel cpumasks.
on_cpu1() {
    users=0 kthreads=0 percpu=0 irqs=0
    for p in /proc/[0-9]*; do
        a=$(sed -n 's/^Cpus_allowed_list:\t*//p' "$p/status" 2>/dev/null)
        [ -n "$a" ] || continue
        # (test -s is false for every /proc file: their size reads 0)
        if [ "$(head -c 1 "$p/cmdline" 2>/dev/null | wc -c)" != 0 ]; then
            [ "$a" = 0 ] || users=$((users + 1))
        else
            case $a in 0) ;; 1) percpu=$((percpu + 1)) ;; *) kthreads=$((kthreads + 1)) ;; esac
        fi
    done
    for f in /proc/irq/*/smp_affinity_list; do [ "$(cat "$f")" = 0 ] || irqs=$((irqs + 1)); done
    echo "user-tasks=$users unbound-kthreads=$kthreads cpu1-only-kthreads=$percpu irqs=$irqs" \
        "default_smp_affinity=$(cat /proc/irq/default_smp_affinity)" \
        "workqueue=$(cat /sys/devices/virtual/workqueue/cpumask)" \
        "writeback=$(cat /sys/bus/workqueue/devices/writeback/cpumask 2>/dev/null)" \
        "kthreadd=$(sed -n 's/^Cpus_allowed_list:\t*//p' /proc/2/status)"
}

# Name the tasks in a same_values difference (pid:N keys) with their command.
name_pids() {
    while read -r w k rest; do
        case $k in pid:*) echo "$w $k($(cat "/proc/${k#pid:}/comm" 2>/dev/null)) $rest" ;; *) echo "$w $k $rest" ;; esac
    done
}

# run_peer NAME REPS "APPLY" "UNDO" [KNOWN]: time APPLY and UNDO (shell words, eval'd) REPS times; the first round
# records what sits on CPU 1 while applied and checks every value is back after UNDO: differences whose line
# matches the regular expression KNOWN (what the peer is known to leave behind) are reported, others fail.
run_peer() {
    name=$1 reps=$2 apply=$3 undo=$4 known=${5:-}
    i=0
    : >"$OUT/$name.times"
    while [ "$i" -lt "$reps" ]; do
        first=$$
        [ "$i" = 0 ] && shield_values "$first" >"$OUT/$name.before"
        t0=$(now_ns)
        eval "$apply" >"$OUT/$name.apply.$i" 2>&1
        rc=$?
        t1=$(now_ns)
        [ "$i" = 0 ] && echo "$name applied: $(on_cpu1)" >>"$OUT/results"
        [ "$rc" = 0 ] || { cat "$OUT/$name.apply.$i"; lab_fail "$name: '$apply' exited $rc"; }
        t2=$(now_ns)
        eval "$undo" >"$OUT/$name.undo.$i" 2>&1
        rc=$?
        t3=$(now_ns)
        [ "$rc" = 0 ] || { cat "$OUT/$name.undo.$i"; lab_fail "$name: '$undo' exited $rc"; }
        if [ "$i" = 0 ]; then
            shield_values "$first" >"$OUT/$name.after"
            if same_values "$OUT/$name.before" "$OUT/$name.after" >"$OUT/$name.diff"; then
                echo "ok - $name: every value is back after '$undo'"
                echo "$name restore: every value back" >>"$OUT/results"
            else
                name_pids <"$OUT/$name.diff" >"$OUT/$name.diff.named"
                cat "$OUT/$name.diff.named"
                if [ -n "$known" ] && ! grep -vqE "$known" "$OUT/$name.diff"; then
                    sed "s/^/$name restore left: /" "$OUT/$name.diff.named" >>"$OUT/results"
                    echo "ok - $name: '$undo' restored all but what it is known to leave (reported)"
                else
                    lab_fail "$name: '$undo' did not restore the state"
                fi
            fi
        fi
        echo "$(((t1 - t0 - STAMP) / 1000)) $(((t3 - t2 - STAMP) / 1000))" >>"$OUT/$name.times"
        i=$((i + 1))
    done
    # Medians (µs) of apply, undo and both.
    set -- $(sort -n -k1,1 "$OUT/$name.times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') \
        $(sort -n -k2,2 "$OUT/$name.times" | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }') \
        $(awk '{ print $1 + $2 }' "$OUT/$name.times" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    echo "$name median-us apply $1 undo $2 total $3 reps $reps" | tee -a "$OUT/results"
}

VI_APPLY='vfio_isolate -u /run/vi.undo cpuset-create --cpus C0 /vfioctl-peer.host move-tasks / /vfioctl-peer.host irq-affinity mask C1'
VI_UNDO='vfio_isolate restore /run/vi.undo'

guest() {
    # shield_values and same_values, the state comparison every shield test uses.
    . /lab/tests/shield-restore.sh
    reps=$(sed -n 's/.*shieldpeers.reps=\([0-9]*\).*/\1/p' /proc/cmdline)
    reps=${reps:-3}
    : >"$OUT/results"
    # What taking the two timestamps around a command costs (reading /proc/timer_list in a subshell): the median
    # of 7 empty intervals, subtracted from every interval, as it would otherwise inflate every tool alike.
    : >"$OUT/stamps"
    for i in 1 2 3 4 5 6 7; do t0=$(now_ns); t1=$(now_ns); echo $((t1 - t0)) >>"$OUT/stamps"; done
    STAMP=$(sort -n "$OUT/stamps" | sed -n 4p)
    echo "timestamp cost subtracted: $((STAMP / 1000)) µs (median of 7)" >>"$OUT/results"
    echo "baseline: $(on_cpu1)" >>"$OUT/results"
    py -c 'import sys; print(sys.version)' || lab_fail "the staged Python does not run"
    run_peer vfioctl "$reps" 'vfioctl shield --cpus 1' 'vfioctl unshield'
    if [ "$LAB_SHAPE" = V1 ]; then
        run_peer cset "$reps" 'cset shield --cpu 1 --kthread on' 'cset shield --reset'
        # move-tasks takes per-CPU kernel threads out of the root cpuset too; moving them back resets their
        # affinity to the root's CPUs: known, reported.
        run_peer vfio-isolate "$reps" "$VI_APPLY" "$VI_UNDO" '^(before|after): +pid:'

    else
        # cgroup v2: recorded, not required to work; whatever it changed is undone and checked.
        first=$$
        shield_values "$first" >"$OUT/vi-v2.before"
        eval "$VI_APPLY" >"$OUT/vi-v2.apply" 2>&1
        rc=$?
        echo "vfio-isolate on cgroup v2: exit $rc; $(on_cpu1)" >>"$OUT/results"
        tail -3 "$OUT/vi-v2.apply" | sed 's/^/vfio-isolate on cgroup v2 said: /' >>"$OUT/results"
        if [ -s /run/vi.undo ]; then
            eval "$VI_UNDO" >"$OUT/vi-v2.undo" 2>&1
            echo "vfio-isolate restore on cgroup v2: exit $?" >>"$OUT/results"
        fi
        rmdir /sys/fs/cgroup/vfioctl-peer.host 2>/dev/null
        shield_values "$first" >"$OUT/vi-v2.after"
        same_values "$OUT/vi-v2.before" "$OUT/vi-v2.after" >"$OUT/vi-v2.diff" ||
            name_pids <"$OUT/vi-v2.diff" | sed 's/^/vfio-isolate on cgroup v2, restore left: /' >>"$OUT/results"
    fi
    cat "$OUT/results"
}

host() {
    cat "$OUT/results"
    awk '
        $2 == "median-us" { apply[$1] = $4; undo[$1] = $6; total[$1] = $8 }
        END {
            v = total["vfioctl"]
            if (!v) exit
            for (p in total) if (p != "vfioctl")
                printf "%s / vfioctl: apply %.1fx, undo %.1fx, apply+undo %.1fx (%d µs vs %d µs)\n", p,
                    apply[p] / (apply["vfioctl"] ? apply["vfioctl"] : 1), undo[p] / (undo["vfioctl"] ? undo["vfioctl"] : 1),
                    total[p] / v, total[p], v
        }' "$OUT/results"
}
