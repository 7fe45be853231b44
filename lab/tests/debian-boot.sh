# The boot configuration on a real Debian (shape debian: systemd, GRUB, initramfs-tools, vfioctl from its .deb):
# doctor passes the IOMMU checks, `vfioctl init` writes specs for the NVMe and for the GPU pair, `setup --apply`
# writes the boot files and regenerates them for real (update-initramfs, update-grub); the machine reboots
# through SeaBIOS and its own GRUB, and the NVMe is on vfio-pci from boot with the arguments doctor finds applied;
# `setup --revert` (which regenerates the boot files again) and another reboot give nvme back and the original command line.
LAB_SHAPES="debian"
LAB_TIMEOUT=900
LAB_REBOOTS=2

nvme=0000:03:00.0

# Status of one doctor check (pass, warn, fail, info, skip) from doctor --json in FILE.
check_status() {
    python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["check"] == sys.argv[2]: print(f["status"]); break' "$1" "$2"
}

step1() {
    cat /proc/cmdline >"$OUT/cmdline.before"
    assert_eq "$(driver_of $nvme)" nvme "the NVMe starts on nvme"
    assert_eq "$(dpkg-query -W -f='${Status}' vfioctl)" "install ok installed" "vfioctl is installed from its package"
    run_vfioctl doctor.json doctor --json --device $nvme
    for c in iommu.enabled iommu.interrupt-remapping iommu.unsafe-interrupts iommu.acs-override device.group-isolation; do
        assert_eq "$(check_status "$OUT/doctor.json" $c)" pass "doctor: $c passes"
    done

    mkdir -p /etc/vfioctl/vms
    run_vfioctl init-gpu init --name gpu --device 01:00.0 --vcpus 2 --memory 1G --os linux
    assert_eq "$(cat "$OUT/init-gpu.status")" 0 "init writes a spec for the GPU pair"
    assert_grep '0000:01:00.1' "$OUT/init-gpu" "the GPU spec takes the audio function along"
    run_vfioctl init init --name nvme --device 03:00.0 --vcpus 1 --memory 256M --os linux
    assert_eq "$(cat "$OUT/init.status")" 0 "init writes a spec for the NVMe"
    cp "$OUT/init" /etc/vfioctl/vms/nvme.toml

    cp /etc/default/grub "$OUT/default-grub.before"
    cp /boot/grub/grub.cfg "$OUT/grub.cfg.before"
    md5sum /boot/initrd.img-"$(uname -r)" >"$OUT/initrd.md5.before"
    run_vfioctl dry setup /etc/vfioctl/vms/nvme.toml
    started=$(cut -d' ' -f1 /proc/uptime)
    run_vfioctl apply setup /etc/vfioctl/vms/nvme.toml --apply
    note "setup --apply took $(awk -v a="$started" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s"
    cat "$OUT/apply" "$OUT/apply.stderr"
    assert_eq "$(cat "$OUT/apply.status")" 0 "setup --apply exits 0"
    ! cmp -s /etc/default/grub "$OUT/default-grub.before" || lab_fail "setup --apply left /etc/default/grub as it was"
    diff "$OUT/default-grub.before" /etc/default/grub
    md5sum -c --quiet "$OUT/initrd.md5.before" 2>/dev/null && lab_fail "the initramfs was not regenerated"
    echo "ok - the initramfs was regenerated"
    lsinitramfs /boot/initrd.img-"$(uname -r)" >"$OUT/initrd.list"
    assert_grep 'vfio-pci\.ko|vfio_pci\.ko' "$OUT/initrd.list" "the initramfs carries vfio-pci"
    grep -E '^\s*linux\s' /boot/grub/grub.cfg | head -2 >"$OUT/grub.linux"
    cat "$OUT/grub.linux"
    assert_grep 'vfio' "$OUT/grub.linux" "update-grub put the new arguments in grub.cfg"
    lab_reboot
}

step2() {
    cat /proc/cmdline | tee "$OUT/cmdline.applied"
    cmp -s /proc/cmdline "$OUT/cmdline.before" && lab_fail "the kernel booted with the old command line"
    assert_eq "$(driver_of $nvme)" vfio-pci "after the reboot the NVMe is on vfio-pci from boot"
    journalctl -b -k --no-pager | grep -iE 'vfio|nvme' | head -20 >"$OUT/boot-vfio.log"
    run_vfioctl doctor2.json doctor --json --device $nvme
    assert_eq "$(check_status "$OUT/doctor2.json" boot.args-applied)" pass "doctor says the boot arguments are applied"
    assert_eq "$(check_status "$OUT/doctor2.json" device.driver)" pass "doctor: the NVMe is on vfio-pci"

    run_vfioctl revert setup --revert
    cat "$OUT/revert" "$OUT/revert.stderr"
    assert_eq "$(cat "$OUT/revert.status")" 0 "setup --revert exits 0"
    cmp -s /etc/default/grub "$OUT/default-grub.before" || lab_fail "--revert did not restore /etc/default/grub byte for byte"
    echo "ok - /etc/default/grub restored byte for byte"
    # --revert restores the files and regenerates the initramfs and grub.cfg from them.
    assert_grep "update-initramfs -u -k all" "$OUT/revert" "setup --revert regenerated the initramfs"
    assert_grep "now reboot" "$OUT/revert" "and says to reboot"
    lab_reboot
}

step3() {
    cat /proc/cmdline | tee "$OUT/cmdline.reverted"
    assert_not_contains "$(cat /proc/cmdline)" vfio "the reverted command line has no vfio arguments"
    assert_eq "$(driver_of $nvme)" nvme "after --revert and a reboot the NVMe is on nvme again"
    run_vfioctl doctor3.json doctor --json --device $nvme
    assert_eq "$(check_status "$OUT/doctor3.json" iommu.enabled)" pass "doctor: the IOMMU is still on"
    # The next tests in this boot start from a host without this journey's spec.
    rm -f /etc/vfioctl/vms/nvme.toml
}

guest() {
    "step$LAB_STEP"
}
