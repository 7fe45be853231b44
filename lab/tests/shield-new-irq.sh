# A device given back to its driver while a shield stands requests its IRQs then, and the kernel puts a
# non-managed one (nvme's admin queue vector) on the shielded default affinity: the host CPUs only. It has no
# original in the journal; unshield gives it the original default, so the host ends as if it had never been
# shielded (restore before unshield is the order a user may well choose by hand). The kernel may hand the freed
# IRQ number out again (this guest does: nvme0q0 comes back as the same IRQ, whose original the journal has), so
# the test checks the end state either way and says which case it saw; the new-number case is unit-tested
# (ShieldExecutorTests.anIRQRequestedDuringTheShieldGetsTheOriginalDefaultBack).
LAB_SHAPES="S2"
LAB_TIMEOUT=120

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
admin_irq() { awk '$NF == "nvme0q0" { sub(":", "", $1); print $1 }' /proc/interrupts; }

guest() {
    d=0000:03:00.0
    assert_eq "$(driver_of $d)" nvme "the NVMe starts on nvme"
    default_before=$(cat /proc/irq/default_smp_affinity)
    irq=$(admin_irq)
    [ -n "$irq" ] || lab_fail "no nvme0q0 in /proc/interrupts: $(grep nvme /proc/interrupts)"
    before=$(cat /proc/irq/$irq/smp_affinity_list)
    note "nvme0q0 is IRQ $irq on CPUs $before; default_smp_affinity $default_before"

    run_vfioctl shield shield --cpus 1
    assert_eq "$(cat "$OUT/shield.status")" 0 "shield --cpus 1 exits 0"
    shielded_default=$(cat /proc/irq/default_smp_affinity)
    run_vfioctl bind bind $d
    assert_eq "$(cat "$OUT/bind.status")" 0 "bind exits 0"
    run_vfioctl restore restore $d
    assert_eq "$(cat "$OUT/restore.status")" 0 "restore (before unshield) exits 0"
    i=0; while [ -z "$(admin_irq)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    new=$(admin_irq)
    [ -n "$new" ] || lab_fail "nvme0q0 did not come back after restore"
    during=$(cat /proc/irq/$new/smp_affinity_list)
    note "after restore nvme0q0 is IRQ $new on CPUs $during (shielded default_smp_affinity $shielded_default; $([ "$new" = "$irq" ] && echo "the same number: journaled" || echo "a new number: not journaled"))"
    assert_eq "$during" 0 "the new admin queue IRQ took the shielded default: the host CPU only"

    run_vfioctl unshield unshield
    assert_eq "$(cat "$OUT/unshield.status")" 0 "unshield exits 0"
    assert_eq "$(cat /proc/irq/default_smp_affinity)" "$default_before" "default_smp_affinity is back"
    assert_eq "$(cat /proc/irq/$new/smp_affinity_list)" "$before" "the new IRQ is where nvme's admin queue IRQ was before the shield"
}
