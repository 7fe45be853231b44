# vfioctl bind moves the NVMe to vfio-pci (driver link and /dev/vfio/N), verify passes through the VFIO API,
# bind again is a no-op, and restore gives nvme back with the original driver_override, idempotently.
LAB_SHAPES="A"
LAB_TIMEOUT=90

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

guest() {
    d=0000:03:00.0
    g=$(group_of $d)
    assert_eq "$(driver_of $d)" nvme "the NVMe starts on nvme"
    run_vfioctl dry bind $d --dry-run
    assert_eq "$(cat "$OUT/dry.status")" 0 "bind --dry-run exits 0"
    assert_grep "echo -n 'vfio-pci' > /sys/bus/pci/devices/$d/driver_override" "$OUT/dry" "dry run prints the override write"
    assert_eq "$(driver_of $d)" nvme "dry run changes nothing"

    run_vfioctl bind bind $d
    cat "$OUT/bind" "$OUT/bind.stderr"
    assert_eq "$(cat "$OUT/bind.status")" 0 "bind exits 0"
    assert_eq "$(driver_of $d)" vfio-pci "the NVMe is on vfio-pci"
    [ -e /dev/vfio/$g ] || lab_fail "/dev/vfio/$g missing"
    echo "ok - /dev/vfio/$g exists"
    [ -s /run/vfioctl/bind.journal ] || lab_fail "no journal"
    echo "ok - journal written: $(wc -l </run/vfioctl/bind.journal) records"

    run_vfioctl again bind $d
    assert_eq "$(cat "$OUT/again.status")" 0 "binding a bound device exits 0"
    assert_grep "nothing to do" "$OUT/again" "and is a no-op"

    run_vfioctl verify verify $d
    cat "$OUT/verify"
    assert_eq "$(cat "$OUT/verify.status")" 0 "verify passes"
    assert_grep "group: /dev/vfio/$g viable" "$OUT/verify" "group viable"
    assert_grep "config space .* reads 1b36:0010" "$OUT/verify" "config space read through VFIO"

    run_vfioctl restore restore
    cat "$OUT/restore"
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of $d)" nvme "nvme is back"
    assert_eq "$(cat /sys/bus/pci/devices/$d/driver_override)" "(null)" "driver_override is back to (null)"
    [ ! -e /run/vfioctl/bind.journal ] || lab_fail "journal left behind"
    [ ! -e /dev/vfio/$g ] || lab_fail "/dev/vfio/$g still there"
    run_vfioctl restore2 restore
    assert_eq "$(cat "$OUT/restore2.status")" 0 "restore again exits 0"
    assert_grep "nothing to restore" "$OUT/restore2" "restore is idempotent"

    run_vfioctl verify2 verify $d
    assert_eq "$(cat "$OUT/verify2.status")" 1 "verify fails once the device is back on nvme"
    assert_grep "not bound to vfio-pci" "$OUT/verify2" "and says why"
}
