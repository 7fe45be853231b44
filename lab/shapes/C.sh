SHAPE_TITLE="q35, VT-d without interrupt remapping"
shape_args() {
    q35_machine
    q35_iommu off
    q35_devices acs=on
}
