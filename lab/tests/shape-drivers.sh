# Every device of the shape has its Linux driver (modules.list is complete) and the CPU has SMT siblings.
LAB_SHAPES="A B C D"
LAB_TIMEOUT=30

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

guest() {
    assert_eq "$(driver_of 0000:01:00.0)" bochs-drm "VGA is driven by bochs-drm"
    assert_eq "$(driver_of 0000:01:00.1)" snd_hda_intel "the HDA function is driven by snd_hda_intel"
    assert_eq "$(driver_of 0000:02:00.0)" e1000e "e1000e"
    assert_eq "$(driver_of 0000:03:00.0)" nvme "nvme"
    assert_eq "$(driver_of 0000:05:01.0)" e1000 "e1000 behind the bridge"
    assert_eq "$(driver_of 0000:05:02.0)" xhci_hcd "xhci behind the bridge"
    assert_eq "$(driver_of 0000:00:1d.0)" xhci_hcd "xhci on the root bus"
    assert_eq "$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)" 0-1 "cpu0's SMT siblings"
    [ -e /dev/vfio/vfio ] || lab_fail "/dev/vfio/vfio exists (vfio loaded)"
    echo "ok - /dev/vfio/vfio exists"
    assert_contains "$(cat /sys/fs/cgroup/cgroup.controllers)" cpuset "cgroup v2 offers cpuset"
}
