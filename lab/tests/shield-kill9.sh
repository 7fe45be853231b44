# kill -9 of vfioctl shield half-way: vfioctl unshield restores the exact original IRQ affinities, cpumasks,
# cpusets and task affinities from the journal, at several points of the shield.
LAB_SHAPES="S2 V1"
LAB_TIMEOUT=150

guest() {
    . /lab/tests/shield-restore.sh
    first=$$
    shield_values "$first" >"$OUT/before"
    interrupted=0
    # Kill once the journal holds N records: the first changes, the middle (cgroups, tasks, IRQs) and late ones.
    for want in 1 3 8 20 40; do
        rm -f /run/vfioctl/shield.journal
        vfioctl shield --cpus 1 >"$OUT/shield-$want" 2>&1 &
        pid=$!
        i=0
        while [ "$(cat /run/vfioctl/shield.journal 2>/dev/null | wc -l)" -lt "$want" ] && [ $i -lt 20000 ] && kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1))
        done
        kill -9 "$pid" 2>/dev/null && interrupted=$((interrupted + 1))
        wait "$pid" 2>/dev/null
        lines=$(wc -l </run/vfioctl/shield.journal 2>/dev/null || echo 0)
        echo "# killed with $lines journal records (waited for $want)"
        run_vfioctl "unshield-$want" unshield
        assert_eq "$(cat "$OUT/unshield-$want.status")" 0 "unshield after kill -9 at $lines records exits 0"
        shield_values "$first" >"$OUT/after-$want"
        same_values "$OUT/before" "$OUT/after-$want" || lab_fail "not restored after kill -9 at $lines records"
        echo "ok - exact restore after kill -9 at $lines journal records"
    done
    [ "$interrupted" -gt 0 ] || lab_fail "shield always finished before the kill: no crash was tested"
    echo "ok - $interrupted of 5 shields were killed half-way"
}
