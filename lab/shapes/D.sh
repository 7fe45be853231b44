SHAPE_TITLE="q35 without an IOMMU (intel_iommu=on on the command line all the same)"
shape_args() {
    q35_machine
    q35_devices acs=on
}
