# A snapshot taken in the guest replays on the host: vfioctl list --json and doctor --json with
# --root SNAPSHOT.tar.gz give what they gave in the guest. With LAB_UPDATE_EXAMPLE=1 (shape A), the
# snapshot is also unpacked into examples/hosts/lab-q35.
LAB_SHAPES="A B C D"
LAB_PAYLOADS="pci-ids"
LAB_TIMEOUT=120

guest() {
    run_vfioctl snapshot.out snapshot -o "$OUT/snapshot.tar.gz"
    assert_eq "$(cat "$OUT/snapshot.out.status")" 0 "vfioctl snapshot exits 0"
    [ -s "$OUT/snapshot.tar.gz" ] || lab_fail "no snapshot written"
    note "snapshot: $(wc -c <"$OUT/snapshot.tar.gz") bytes, $(tar -tzf "$OUT/snapshot.tar.gz" | wc -l) entries"
    run_vfioctl list.json list --json
    run_vfioctl doctor.json doctor --json --device 0000:01:00.0
}

host() {
    [ -x "$VFIOCTL" ] || lab_skip "no host vfioctl to replay with"
    "$VFIOCTL" list --json --root "$OUT/snapshot.tar.gz" >"$OUT/replay-list.json" ||
        lab_fail "vfioctl list --root snapshot failed"
    diff -u "$OUT/list.json" "$OUT/replay-list.json" || lab_fail "list --json differs (- guest, + replay)"
    echo "ok - list --json replays identically"
    "$VFIOCTL" doctor --json --device 0000:01:00.0 --root "$OUT/snapshot.tar.gz" >"$OUT/replay-doctor.json"
    assert_eq "$?" "$(cat "$OUT/doctor.json.status")" "doctor --root snapshot exits as in the guest"
    diff -u "$OUT/doctor.json" "$OUT/replay-doctor.json" || lab_fail "doctor --json differs (- guest, + replay)"
    echo "ok - doctor --json replays identically"

    if [ "$LAB_SHAPE" = A ] && [ "${LAB_UPDATE_EXAMPLE:-0}" = 1 ]; then
        dest=$REPO_DIR/examples/hosts/lab-q35
        rm -rf "$dest"
        mkdir -p "$dest"
        tar -xzf "$OUT/snapshot.tar.gz" -C "$dest" --no-same-owner || lab_fail "cannot unpack the snapshot"
        "$VFIOCTL" list --json --root "$dest" >"$OUT/example-list.json"
        diff -u "$OUT/list.json" "$OUT/example-list.json" || lab_fail "the unpacked example lists differently"
        echo "ok - examples/hosts/lab-q35 re-recorded"
    fi
}
