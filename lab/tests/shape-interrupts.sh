# Interrupt remapping is on with VT-d intremap=on (A B) and off otherwise (C D): MSIs of the devices
# go through IR-PCI-MSI only when it is on.
LAB_SHAPES="A B C D"
LAB_TIMEOUT=30

guest() {
    cp /proc/interrupts "$OUT/interrupts"
    dmesg >"$OUT/dmesg"
    case $LAB_SHAPE in
        A | B)
            assert_grep 'IR-PCI-MSI' /proc/interrupts "MSIs are remapped (IR-PCI-MSI in /proc/interrupts)"
            assert_grep 'DMAR-IR: Enabled IRQ remapping' "$OUT/dmesg" "the kernel enabled IRQ remapping" ;;
        *)
            assert_no_grep 'IR-PCI-MSI' /proc/interrupts "no remapped MSIs"
            assert_grep 'PCI-MSI' /proc/interrupts "devices still use MSI" ;;
    esac
}
