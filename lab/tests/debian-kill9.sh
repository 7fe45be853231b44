# kill -9 of vfioctl in the middle of the libvirt hook's prepare on a systemd host (shape debian): after a crash
# at a fixed write (VFIOCTL_CRASH_AFTER_WRITES) and after kill -9 at a random moment, `vfioctl restore` and
# `vfioctl unshield` leave the host as before: systemd's AllowedCPUs, the cgroups' cpusets, IRQ affinities, the
# workqueue masks and every driver.
LAB_SHAPES="debian"
LAB_TIMEOUT=400

nvme=0000:03:00.0
hook=/etc/libvirt/hooks/qemu.d/vfioctl

# In the order the hook's release uses: unshield first. Restore first rebinds nvme while the shield's default IRQ
# mask still holds, and the IRQs the driver then allocates keep that mask after unshield (seen: IRQ 43 0-1,3).
recover() { # TAG
    run_vfioctl "unshield-$1" unshield
    run_vfioctl "restore-$1" restore
    cat "$OUT/restore-$1" "$OUT/restore-$1.stderr" "$OUT/unshield-$1" "$OUT/unshield-$1.stderr"
    assert_eq "$(cat "$OUT/restore-$1.status") $(cat "$OUT/unshield-$1.status")" "0 0" "restore and unshield exit 0 ($1)"
    host_values >"$OUT/after-$1"
    same_host_values "$OUT/before" "$OUT/after-$1" || lab_fail "the host is not as before after $1, restore and unshield"
    echo "ok - the host is as before after $1"
}

guest() {
    load_vfio_pci
    run_vfioctl install hook install
    [[ -x $hook ]] || lab_fail "no hook at $hook"
    mkdir -p /etc/vfioctl/vms
    vfioctl init --name k9 --device 03:00.0 --vcpus 1 --memory 128M --os linux >/etc/vfioctl/vms/k9.toml ||
        lab_fail "vfioctl init failed"
    sed -i 's/^pin = \[[0-9]*\]/pin = [2]/' /etc/vfioctl/vms/k9.toml
    host_values >"$OUT/before"

    # A whole prepare, to know how far it goes, then released.
    echo "<domain/>" | $hook k9 prepare begin - >"$OUT/prepare" 2>&1 || lab_fail "prepare failed: $(cat "$OUT/prepare")"
    assert_eq "$(driver_of $nvme)" vfio-pci "prepare binds the NVMe"
    a=$(systemctl show -p AllowedCPUs --value system.slice)
    note "system.slice AllowedCPUs during the shield: $a"
    [[ -n $a ]] || lab_fail "prepare did not set AllowedCPUs on system.slice"
    echo "<domain/>" | $hook k9 release end - >"$OUT/release" 2>&1 || lab_fail "release failed: $(cat "$OUT/release")"
    host_values >"$OUT/after-release"
    same_host_values "$OUT/before" "$OUT/after-release" || lab_fail "release did not give back every value"
    echo "ok - a whole prepare and release give back every value"

    for n in 1 3 8 20; do
        echo "<domain/>" | VFIOCTL_CRASH_AFTER_WRITES=$n $hook k9 prepare begin - >"$OUT/crash$n" 2>&1
        note "crash after write $n: hook exit $?, NVMe on $(driver_of $nvme), system.slice AllowedCPUs '$(systemctl show -p AllowedCPUs --value system.slice)'"
        recover "crash$n"
    done
    for delay in 0.3 1 2; do
        echo "<domain/>" | setsid $hook k9 prepare begin - >"$OUT/kill$delay" 2>&1 &
        sleep "$delay"
        pkill -9 -s "$(ps -o sid= -p $! | tr -d ' ')" 2>/dev/null
        wait
        note "kill -9 after ${delay}s: NVMe on $(driver_of $nvme), system.slice AllowedCPUs '$(systemctl show -p AllowedCPUs --value system.slice)'"
        recover "kill$delay"
    done
}
