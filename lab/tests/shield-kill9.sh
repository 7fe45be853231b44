# kill -9 of vfioctl shield half-way: vfioctl unshield restores the exact original IRQ affinities, cpumasks,
# cpusets and task affinities from the journal, at several points of the shield. shield journals every original
# before its first change; VFIOCTL_CRASH_AFTER_WRITES=N makes it SIGKILL itself after N changes (the first ones,
# cgroups and tasks, IRQs, late kernel threads), and one more run is killed from outside at a random moment.
LAB_SHAPES="S2 V1"
LAB_TIMEOUT=150

guest() {
    . /lab/tests/shield-restore.sh
    first=$$
    shield_values "$first" >"$OUT/before"
    interrupted=0
    for want in 1 3 8 20 40 outside; do
        rm -f /run/vfioctl/shield.journal
        if [ "$want" = outside ]; then
            vfioctl shield --cpus 1 >"$OUT/shield-$want" 2>&1 &
            pid=$!
            # Kill once the journal exists: the originals are written, the changes have begun.
            i=0
            while [ ! -s /run/vfioctl/shield.journal ] && [ $i -lt 20000 ] && kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); done
            kill -9 "$pid" 2>/dev/null && interrupted=$((interrupted + 1))
            wait "$pid" 2>/dev/null
        else
            VFIOCTL_CRASH_AFTER_WRITES=$want vfioctl shield --cpus 1 >"$OUT/shield-$want" 2>&1
            [ $? = 137 ] && interrupted=$((interrupted + 1))
        fi
        lines=$(wc -l </run/vfioctl/shield.journal 2>/dev/null || echo 0)
        echo "# killed after $want changes, $lines journal records"
        run_vfioctl "unshield-$want" unshield
        assert_eq "$(cat "$OUT/unshield-$want.status")" 0 "unshield after kill -9 ($want) exits 0"
        shield_values "$first" >"$OUT/after-$want"
        same_values "$OUT/before" "$OUT/after-$want" || lab_fail "not restored after kill -9 ($want)"
        echo "ok - exact restore after kill -9 ($want)"
    done
    [ "$interrupted" -ge 5 ] || lab_fail "only $interrupted of 6 shields were killed half-way"
    echo "ok - $interrupted of 6 shields were killed half-way"
}
