# The machine shapes are what the other tests take them for: IOMMU groups exist with VT-d (A B C) and
# not without it (D); root ports without ACS (B) put the GPU and the NVMe in one group, with ACS (A C) not.
LAB_SHAPES="A B C D"
LAB_TIMEOUT=30

group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")" 2>/dev/null; }

guest() {
    groups=$(ls /sys/kernel/iommu_groups | wc -l)
    note "$groups IOMMU groups"
    ls -l /sys/bus/pci/devices/ >"$OUT/pci-devices.txt"
    if [ "$LAB_SHAPE" = D ]; then
        assert_eq "$groups" 0 "no IOMMU groups without an IOMMU"
        assert_eq "$(ls /sys/class/iommu | wc -l)" 0 "no /sys/class/iommu entries"
        return 0
    fi
    assert_ne "$groups" 0 "IOMMU groups exist"
    assert_contains "$(ls /sys/class/iommu)" dmar "an Intel DMAR unit in /sys/class/iommu"
    gpu=$(group_of 0000:01:00.0)
    audio=$(group_of 0000:01:00.1)
    nvme=$(group_of 0000:03:00.0)
    nic=$(group_of 0000:05:01.0)
    usb=$(group_of 0000:05:02.0)
    assert_eq "$audio" "$gpu" "the GPU's audio function shares the GPU's group"
    assert_eq "$usb" "$nic" "devices behind the PCIe-to-PCI bridge share a group"
    if [ "$LAB_SHAPE" = B ]; then
        assert_eq "$nvme" "$gpu" "without ACS on the root ports, the NVMe joins the GPU's group"
    else
        assert_ne "$nvme" "$gpu" "with ACS on the root ports, the NVMe has its own group"
    fi
}
