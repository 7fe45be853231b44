# vfioctl verify --reset-cycles resets the NVMe on vfio-pci three times through VFIO_DEVICE_RESET, reads config
# space back after each and names the reset method the kernel used (the first of reset_method); unbound, it
# refuses with the way out; restore gives nvme back.
LAB_SHAPES="A"
LAB_TIMEOUT=120

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

guest() {
    d=0000:03:00.0
    run_vfioctl unbound verify --reset-cycles 1 $d
    assert_eq "$(cat "$OUT/unbound.status")" 1 "reset cycles on a device on nvme fail"
    assert_grep "bind it first \(vfioctl bind $d\)" "$OUT/unbound" "and say how to bind it"

    run_vfioctl bind bind $d
    assert_eq "$(cat "$OUT/bind.status")" 0 "bind exits 0"
    methods=$(cat /sys/bus/pci/devices/$d/reset_method)
    echo "reset_method: $methods"
    run_vfioctl cycles verify --reset-cycles 3 $d
    cat "$OUT/cycles" "$OUT/cycles.stderr"
    assert_eq "$(cat "$OUT/cycles.status")" 0 "three reset cycles pass"
    for n in 1 2 3; do
        assert_grep "^cycle $n/3: \[ok\] [0-9]+ ms: config 1b36:0010 class 010802" "$OUT/cycles" "cycle $n came back sane"
    done
    assert_grep "3 of 3 resets came back sane; reset method ${methods%% *} \(reset_method: $methods\)" "$OUT/cycles" "the method is named"

    run_vfioctl badn verify --reset-cycles 0 $d
    assert_eq "$(cat "$OUT/badn.status")" 64 "--reset-cycles 0 is a usage error"

    run_vfioctl restore restore
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of $d)" nvme "nvme is back"
}
