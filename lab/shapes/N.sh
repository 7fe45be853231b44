# Shape A with room for a nested guest (tests/nested-*.sh): QEMU inside pins the nested guest's RAM for VFIO
# DMA, on top of the payload (QEMU and its libraries) unpacked into the initramfs.
SHAPE_TITLE="as A, 3 GiB: runs a nested QEMU guest with a vfio-pci device"
SHAPE_MEM=3G
shape_args() {
    q35_machine
    q35_iommu on
    q35_devices acs=on
}
