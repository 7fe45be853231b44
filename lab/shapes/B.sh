SHAPE_TITLE="q35, VT-d with interrupt remapping, root ports without ACS (endpoints share a group)"
shape_args() {
    q35_machine
    q35_iommu on
    q35_devices acs=off
}
