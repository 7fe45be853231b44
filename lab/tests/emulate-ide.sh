# The talk's "IDE on NVMe", in user space: vfioctl emulate nbd serves the bound NVMe (03:00.0) through its
# user-space driver, and a nested guest (QEMU inside the lab guest, i440fx) gets that export as an IDE disk
# (-drive file=nbd+unix:///nvme?socket=PATH,if=ide). Its kernel sees the disk on ata_piix, reads the marker
# the lab guest wrote through its nvme driver before the bind, and writes a block; after SIGTERM and restore
# the lab guest's nvme driver reads that block back.
LAB_SHAPES="N"
LAB_TIMEOUT=960
LAB_PAYLOADS="qemu-nested"

# Progress on the lab console too (console.log), in case the guest is stopped before the test reports.
progress() { echo "emulate-ide: $*"; echo "emulate-ide: $*" >/dev/kmsg 2>/dev/null; }

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

guest() {
    d=0000:03:00.0
    sock=/tmp/vfioctl-ide.sock
    [ -x /usr/bin/qemu-system-x86_64 ] || lab_fail "no QEMU in the guest (payload qemu-nested)"
    assert_eq "$(driver_of $d)" nvme "the NVMe starts on nvme"
    marker="vfioctl-ide-$$-$(cut -d' ' -f1 /proc/uptime)"
    printf '%s\n' "$marker" | dd of=/dev/nvme0n1 bs=512 count=1 conv=sync,fsync 2>/dev/null || lab_fail "could not write the marker"
    progress "building the nested initramfs"
    nested_initrd /tmp/ide.initrd kernel/drivers/ata/ata_piix.ko kernel/drivers/scsi/sd_mod.ko <<'INIT' || lab_fail "could not build the nested initramfs (ata_piix, sd_mod)"
i=0; while [ ! -b /dev/sda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
for d in /sys/bus/pci/devices/*; do [ -e $d/driver ] && echo "NESTED DRIVER ${d##*/} $(basename $(readlink $d/driver))"; done
echo "NESTED DISK $(readlink -f /sys/block/sda/device)"
echo "NESTED READ $(dd if=/dev/sda bs=512 count=1 2>/dev/null | head -1)"
echo 'written-by-the-nested-ide-guest' | dd of=/dev/sda bs=512 seek=4096 count=1 conv=sync,fsync 2>/dev/null && echo NESTED WROTE
INIT

    run_vfioctl bind bind $d
    assert_eq "$(cat "$OUT/bind.status")" 0 "bind exits 0"
    vfioctl emulate nbd $d --socket $sock >"$OUT/emulate" 2>"$OUT/emulate.stderr" &
    pid=$!
    i=0; while [ ! -S $sock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S $sock ] || lab_fail "no socket at $sock: $(cat "$OUT/emulate.stderr")"

    progress "emulate nbd serving; starting the nested guest"
    console=/tmp/ide-console.log
    : >$console
    started=$(cut -d' ' -f1 /proc/uptime)
    timeout 840 qemu-system-x86_64 -accel tcg -machine pc -cpu max -m 192M -nodefaults -display none -no-reboot \
        -kernel /boot/vmlinuz -initrd /tmp/ide.initrd -append 'console=ttyS0 quiet panic=-1' \
        -serial file:$console \
        -drive "file=nbd+unix:///nvme?socket=$sock,format=raw,if=ide,cache=none" >"$OUT/nested-qemu.out" 2>&1
    rc=$?
    ended=$(cut -d' ' -f1 /proc/uptime)
    cp $console "$OUT/nested-console.log"
    cat "$OUT/nested-qemu.out"
    grep '^NESTED' $console
    echo "# nested QEMU ran $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') s (exit $rc)"

    progress "nested QEMU exited ($rc); $(grep -c '^NESTED' $console) NESTED lines; stopping emulate"
    kill -TERM $pid
    wait $pid
    assert_eq "$?" 0 "emulate exits 0 on SIGTERM"
    cat "$OUT/emulate" "$OUT/emulate.stderr"

    assert_grep "^NESTED DRIVER 0000:00:01.1 ata_piix" $console "the nested kernel drives the IDE controller with ata_piix"
    assert_grep "^NESTED DISK .*/0000:00:01.1/ata" $console "its disk sda is on that IDE controller"
    assert_grep "^NESTED READ $marker" $console "the nested guest reads the NVMe's marker from its IDE disk"
    assert_grep "^NESTED WROTE" $console "the nested guest wrote a block"

    run_vfioctl restore restore
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
    i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    assert_eq "$(dd if=/dev/nvme0n1 bs=512 skip=4096 count=1 2>/dev/null | head -1)" "written-by-the-nested-ide-guest" \
        "the lab guest's nvme driver reads the block the nested IDE guest wrote"
}
