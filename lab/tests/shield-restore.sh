# vfioctl shield --cpus 1 moves every movable task, IRQ and kernel cpumask off CPU 1 (cgroup v2 without systemd
# on S2, a v1 cpuset mount on V1), is idempotent, --move puts a process on CPU 1, --status reports, and unshield
# restores every value exactly (twice is fine).
LAB_SHAPES="S2 V1"
LAB_TIMEOUT=120

# Every value shielding may touch, for tasks that existed before the test (later ones come and go).
shield_values() {
    for f in /proc/irq/*/smp_affinity_list; do echo "$f $(cat "$f")"; done
    echo "default_smp_affinity $(cat /proc/irq/default_smp_affinity)"
    echo "workqueue $(cat /sys/devices/virtual/workqueue/cpumask)"
    echo "writeback $(cat /sys/bus/workqueue/devices/writeback/cpumask 2>/dev/null)"
    for p in /proc/[0-9]*; do
        n=${p#/proc/}
        [ "$n" -lt "$1" ] || continue
        # Workqueue workers and rescuers are re-pinned by the kernel as they attach to pools; where they may run
        # is the workqueue cpumask above, so their own affinity is not compared.
        case "$(cat "$p/comm" 2>/dev/null)" in kworker*) continue ;; esac
        # A task can exit between the glob and the reads, which then come back empty. The cgroup is read first:
        # a status read after it that shows a live task (not a zombie) proves both reads saw the task alive.
        # Tasks that exited are left out here and skipped by same_values.
        cg=$(grep -E '^(0::|[0-9]+:cpuset:)' "$p/cgroup" 2>/dev/null | tr '\n' ' ')
        st=$(cat "$p/status" 2>/dev/null)
        case "$(printf '%s\n' "$st" | sed -n 's/^State:\t*//p')" in "" | Z* | X*) continue ;; esac
        echo "pid:$n $(printf '%s\n' "$st" | sed -n 's/^Cpus_allowed_list:\t*//p') $cg"
    done
    find /sys/fs/cgroup -name cpuset.cpus -o -name cpus | sort | while read -r f; do echo "$f $(cat "$f")"; done
    find /sys/fs/cgroup -maxdepth 2 -type d | sort | sed 's/^/dir:/'
    echo "subtree_control $(cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null)"
}

# same_values BEFORE AFTER: every value equal. Tasks are compared only when alive in both snapshots (a task
# alive in both whose CPUs or cgroup differ fails); how many were alive in only one is said on stderr, so the
# difference on stdout stays a list of failures.
same_values() {
    awk '
        FNR == NR { before[$1] = $0; next }
        { after[$1] = $0 }
        END {
            bad = 0
            skipped = 0
            for (k in before) {
                if (!(k in after)) { if (k ~ /^pid:/) skipped++; else { print "missing after: " before[k]; bad = 1 } }
                else if (before[k] != after[k]) { print "before: " before[k]; print "after:  " after[k]; bad = 1 }
            }
            for (k in after) if (!(k in before)) { if (k ~ /^pid:/) skipped++; else { print "new: " after[k]; bad = 1 } }
            if (skipped > 0) { print "same_values: " skipped " task(s) alive in only one snapshot, not compared" | "cat 1>&2"; close("cat 1>&2") }
            exit bad
        }' "$1" "$2"
}

guest() {
    first=$$
    shield_values "$first" >"$OUT/before"
    run_vfioctl dry-run shield --cpus 1 --dry-run
    assert_eq "$(cat "$OUT/dry-run.status")" 0 "shield --dry-run exits 0"
    assert_grep 'smp_affinity_list' "$OUT/dry-run" "the dry run lists IRQ moves"
    cmp -s "$OUT/before" /dev/null && lab_fail "no values read"
    shield_values "$first" >"$OUT/after-dry-run"
    same_values "$OUT/before" "$OUT/after-dry-run" || lab_fail "--dry-run changed something"
    echo "ok - --dry-run changes nothing"

    run_vfioctl shield shield --cpus 1
    cat "$OUT/shield"
    assert_eq "$(cat "$OUT/shield.status")" 0 "shield --cpus 1 exits 0"
    assert_eq "$(cat /proc/irq/default_smp_affinity)" 1 "default_smp_affinity is CPU 0 only"
    assert_eq "$(cat /sys/devices/virtual/workqueue/cpumask)" 1 "unbound workqueues on CPU 0"
    assert_eq "$(sed -n 's/^Cpus_allowed_list:\t*//p' /proc/2/status)" 0 "kthreadd on CPU 0"
    # User tasks (non-empty cmdline) and IRQs off CPU 1, except the IRQs shield reported as refused.
    bad=
    seen=0
    for p in /proc/[0-9]*; do
        # /proc files report size 0, so test for a first byte: kernel threads have an empty cmdline.
        [ "$(head -c 1 "$p/cmdline" 2>/dev/null | wc -c)" != 0 ] || continue
        seen=$((seen + 1))
        a=$(sed -n 's/^Cpus_allowed_list:\t*//p' "$p/status" 2>/dev/null)
        [ -z "$a" ] || [ "$a" = 0 ] || bad="$bad ${p#/proc/}($(cat "$p/comm" 2>/dev/null):$a)"
    done
    [ "$seen" -gt 0 ] || lab_fail "no user task found under /proc: the CPU 0 check would check nothing"
    assert_eq "$bad" "" "every user task ($seen) is on CPU 0"
    for f in /proc/irq/*/smp_affinity_list; do
        [ "$(cat "$f")" = 0 ] && continue
        grep -q "$f" "$OUT/shield" || bad="$bad $f=$(cat "$f")"
    done
    assert_eq "$bad" "" "every IRQ is on CPU 0 or reported as refused"

    run_vfioctl again shield --cpus 1
    assert_eq "$(cat "$OUT/again.status")" 0 "shield again exits 0 (idempotent)"
    run_vfioctl other shield --cpus 0
    assert_eq "$(cat "$OUT/other.status")" 3 "shield for other CPUs while shielded is refused"

    sleep 600 &
    sleeper=$!
    run_vfioctl move shield --move "$sleeper"
    assert_eq "$(cat "$OUT/move.status")" 0 "shield --move exits 0"
    assert_eq "$(sed -n 's/^Cpus_allowed_list:\t*//p' "/proc/$sleeper/status")" 1 "the moved process runs on CPU 1"
    run_vfioctl status shield --status
    cat "$OUT/status"
    assert_grep '^shielded: CPUs 1' "$OUT/status" "status says what is shielded"
    assert_grep "sleep \($sleeper\)" "$OUT/status" "status lists the VM's tasks"
    assert_grep 'per-CPU kernel threads' "$OUT/status" "status names what cannot move"
    kill "$sleeper"
    wait "$sleeper" 2>/dev/null

    run_vfioctl unshield unshield
    cat "$OUT/unshield"
    assert_eq "$(cat "$OUT/unshield.status")" 0 "unshield exits 0"
    shield_values "$first" >"$OUT/after"
    same_values "$OUT/before" "$OUT/after" || lab_fail "unshield did not restore every value"
    echo "ok - every IRQ affinity, cpumask, cpuset and task affinity is back"
    run_vfioctl unshield-again unshield
    assert_eq "$(cat "$OUT/unshield-again.status")" 0 "unshield again exits 0"
    assert_grep 'not shielded' "$OUT/unshield-again" "nothing left to restore"
}
