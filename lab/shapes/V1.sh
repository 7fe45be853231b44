SHAPE_TITLE="q35 with 2 CPUs, cgroup v1 cpuset mounted at /sys/fs/cgroup/cpuset (older or container hosts)"
SHAPE_SMP=2
shape_args() {
    q35_machine
    q35_iommu on
    q35_devices acs=on
}
