# vfioctl bind hands the NVMe (03:00.0) to vfio-pci, then QEMU inside the lab guest, started from the command
# line `vfioctl render qemu` writes for a small spec, passes it to a nested guest with -device vfio-pci, and
# the nested guest's kernel sees 1b36:0010 on its PCI bus and reads, through its own nvme driver, a marker the
# lab guest wrote on the namespace before the bind (so DMA through the emulated VT-d and VFIO works).
# TCG inside TCG: ≈ 3 minutes on a 2-core host (180 s measured, most of it the nested kernel booting).
# Out of the default run for CI time (2.6 min): debian-libvirt boots the same nested guest through libvirtd and
# the hook and checks the same marker; this one stays the runtime check of `render qemu` (run it by name).
LAB_DEFAULT="no"
LAB_SHAPES="N"
LAB_TIMEOUT=960
LAB_PAYLOADS="qemu-nested"

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

# The nested guest's spec. No hugepages, no Hyper-V enlightenments (TCG has neither the host's pages to spare
# nor most hv-* features); 1 vCPU pinned to CPU 1, the emulator on CPU 0. OVMF is not in the lab: see below.
write_spec() {
    cat >"$1" <<SPEC
name = "nested"
vcpus = 1
memory = "128M"

[cpu]
pin = [1]
emulator = "0"
iothreads = 0
sockets = 1
cores = 1
threads = 1

[firmware]
code = "/usr/share/OVMF/OVMF_CODE_4M.fd"
vars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
nvram = "/tmp/nested_VARS.fd"

[[device]]
address = "0000:03:00.0"
id = "1b36:0010"
kind = "storage"

[hyperv]
enlightenments = false
kvm-hidden = false
SPEC
}

guest() {
    d=0000:03:00.0
    [ -x /usr/bin/qemu-system-x86_64 ] || lab_fail "no QEMU in the guest (payload qemu-nested)"
    assert_eq "$(driver_of $d)" nvme "the NVMe starts on nvme"
    marker="vfioctl-nested-$$-$(cut -d' ' -f1 /proc/uptime)"
    printf '%s\n' "$marker" | dd of=/dev/nvme0n1 bs=512 count=1 conv=sync,fsync 2>/dev/null || lab_fail "could not write the marker"
    echo "ok - wrote '$marker' to /dev/nvme0n1"

    run_vfioctl bind bind $d
    cat "$OUT/bind" "$OUT/bind.stderr"
    assert_eq "$(cat "$OUT/bind.status")" 0 "vfioctl bind exits 0"
    assert_eq "$(driver_of $d)" vfio-pci "the NVMe is on vfio-pci"

    write_spec /tmp/nested.toml
    cp /tmp/nested.toml "$OUT/nested.toml"
    run_vfioctl rendered render qemu /tmp/nested.toml
    assert_eq "$(cat "$OUT/rendered.status")" 0 "vfioctl render qemu exits 0"
    assert_grep "vfio-pci,host=$d" "$OUT/rendered" "the rendered command passes the NVMe"

    # The rendered command is for a KVM host with OVMF. Each change for TCG inside the lab guest:
    #  - accel=kvm leaves -machine and -accel tcg comes in: the lab guest has no KVM (QEMU inside TCG).
    #  - -cpu host needs KVM; -cpu max is TCG's closest ("migratable=off" belongs to host only).
    #  - the OVMF pflash drives go: the lab has no OVMF, and SeaBIOS with -kernel/-initrd boots the nested
    #    kernel directly (the firmware plays no part in VFIO).
    #  - -serial none becomes a file: the nested console is what this test reads.
    #  - -kernel/-initrd/-append/-no-reboot: the lab's own kernel with a busybox initramfs.
    # kernel-irqchip=on, -global kvm-pit.* and the vCPU pinning comments stay: TCG accepts and ignores them.
    nested_initrd /tmp/nested.initrd kernel/drivers/nvme/host/nvme.ko <<'INIT' || lab_fail "could not build the nested initramfs"
for d in /sys/bus/pci/devices/*; do echo "NESTED PCI ${d##*/} $(cat $d/vendor):$(cat $d/device)"; done
i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
echo "NESTED READ $(dd if=/dev/nvme0n1 bs=512 count=1 2>/dev/null | head -1)"
INIT
    console=/tmp/nested-console.log
    sed -e 's/accel=kvm,//' \
        -e 's/-cpu host,migratable=off/-cpu max/' \
        -e '/if=pflash/d' \
        -e "s|-serial none|-serial file:$console|" \
        -e "s|^exec qemu-system-x86_64 |exec qemu-system-x86_64 -accel tcg -no-reboot -kernel /boot/vmlinuz -initrd /tmp/nested.initrd -append 'console=ttyS0 quiet panic=-1' |" \
        "$OUT/rendered" >/tmp/nested-qemu.sh
    cp /tmp/nested-qemu.sh "$OUT/nested-qemu.sh"
    cat /tmp/nested-qemu.sh
    : >$console
    started=$(cut -d' ' -f1 /proc/uptime)
    timeout 900 sh /tmp/nested-qemu.sh >"$OUT/nested-qemu.out" 2>&1
    rc=$?
    ended=$(cut -d' ' -f1 /proc/uptime)
    cp $console "$OUT/nested-console.log"
    cat "$OUT/nested-qemu.out"
    grep '^NESTED' $console
    echo "# nested QEMU ran $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') s (exit $rc)"
    assert_grep "^NESTED PCI [0-9a-f:.]+ 0x1b36:0x0010" $console "the nested guest sees the NVMe (1b36:0010) on its PCI bus"
    assert_grep "^NESTED READ $marker" $console "the nested guest reads the marker through its nvme driver"
    assert_grep "^NESTED DONE" $console "the nested guest finished"

    run_vfioctl restore restore
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    assert_eq "$(driver_of $d)" nvme "nvme is back"
}
