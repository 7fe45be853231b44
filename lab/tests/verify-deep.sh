# vfioctl verify --deep drives the bound NVMe (03:00.0) from user space: BAR0 mmap, a config-space round
# trip, Identify by DMA through the emulated VT-d (serial LAB0001, model "QEMU NVMe Ctrl", a 64 MiB
# namespace) and one read of LBA 0 completed by an MSI-X interrupt that returns the marker written through
# the kernel's nvme driver before the bind; then reset, and restore gives the NVMe back to nvme.
LAB_SHAPES="A"
LAB_TIMEOUT=120

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

guest() {
    d=0000:03:00.0
    assert_eq "$(driver_of $d)" nvme "the NVMe starts on nvme"
    marker="vfioctl-deep-$$-$(cut -d' ' -f1 /proc/uptime)"
    printf '%s\n' "$marker" | dd of=/dev/nvme0n1 bs=512 count=1 conv=sync,fsync 2>/dev/null || lab_fail "could not write the marker"
    echo "$marker" >"$OUT/marker"

    run_vfioctl bind bind $d
    assert_eq "$(cat "$OUT/bind.status")" 0 "bind exits 0"

    run_vfioctl plain verify $d
    assert_eq "$(cat "$OUT/plain.status")" 0 "plain verify still passes"
    assert_no_grep "identify|not checked" "$OUT/plain" "plain verify does not drive the device"

    run_vfioctl deep verify --deep $d
    cat "$OUT/deep" "$OUT/deep.stderr"
    assert_eq "$(cat "$OUT/deep.status")" 0 "verify --deep passes"
    assert_grep "^\[ok\] bar: mmapped and read BAR0" "$OUT/deep" "BAR0 mmapped"
    assert_grep "^\[ok\] config: 1b36:0010; Interrupt Line write/read round trip" "$OUT/deep" "config space round trip"
    assert_grep "^\[ok\] identify: by DMA: serial 'LAB0001', model 'QEMU NVMe Ctrl'" "$OUT/deep" "Identify Controller by DMA"
    assert_grep "namespace 1: 67108864 bytes" "$OUT/deep" "Identify Namespace: 64 MiB"
    assert_grep "^\[ok\] read: LBA 0 \(512 bytes\) by DMA, completed by MSI-X vector [0-9]+: '$marker'" "$OUT/deep" "one read completed by interrupt returns the marker"
    assert_grep "^\[ok\] reset: VFIO_DEVICE_RESET done" "$OUT/deep" "reset"

    run_vfioctl deep.json verify --deep --json $d
    assert_eq "$(cat "$OUT/deep.json.status")" 0 "verify --deep --json exits 0"

    # The device is free again: a second run opens the group (every fd was closed).
    run_vfioctl again verify --deep $d
    assert_eq "$(cat "$OUT/again.status")" 0 "verify --deep runs again (nothing was left open)"

    run_vfioctl restore restore
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of $d)" nvme "nvme is back"
    i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    assert_eq "$(dd if=/dev/nvme0n1 bs=512 count=1 2>/dev/null | head -1)" "$marker" "the kernel's nvme driver still reads the marker"

    run_vfioctl unbound verify --deep $d
    assert_eq "$(cat "$OUT/unbound.status")" 1 "verify --deep fails on a device back on nvme"
}

host() {
    j="$OUT/deep.json"
    jq -e '.passed == true' "$j" >/dev/null || lab_fail "JSON passed is not true"
    [ "$(jq -r .nvme.serial "$j")" = LAB0001 ] || lab_fail "JSON serial: $(jq -r .nvme.serial "$j")"
    [ "$(jq -r .nvme.model "$j")" = "QEMU NVMe Ctrl" ] || lab_fail "JSON model: $(jq -r .nvme.model "$j")"
    [ "$(jq -r .nvme.namespace_bytes "$j")" = 67108864 ] || lab_fail "JSON namespace size: $(jq -r .nvme.namespace_bytes "$j")"
    [ "$(jq -r .nvme.lba0_text "$j")" = "$(cat "$OUT/marker")" ] || lab_fail "JSON LBA 0 text: $(jq -r .nvme.lba0_text "$j")"
    [ -n "$(jq -r .nvme.firmware "$j")" ] || lab_fail "JSON firmware empty"
    echo "ok - JSON: serial, model, firmware $(jq -r .nvme.firmware "$j"), 64 MiB, marker"
}
