SHAPE_TITLE="q35 with 2 CPUs (-smp 2), cgroup v2 at /sys/fs/cgroup without systemd: CPU shielding and latency"
SHAPE_SMP=2
shape_args() {
    q35_machine
    q35_iommu on
    q35_devices acs=on
}
