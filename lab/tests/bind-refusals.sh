# vfioctl bind refuses (exit 2, nothing written) a root port, the q35 LPC/SATA/SMBus group, and any device on
# a machine without IOMMU (D) or without interrupt remapping (C). On C, --force binds and verify fails on
# VFIO_SET_IOMMU naming the missing interrupt remapping; on D, --force rolls back when vfio-pci refuses.
LAB_SHAPES="A C D"
LAB_TIMEOUT=90

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
state() { for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(driver_of "${d##*/}") $(cat "$d/driver_override")"; done; }

guest() {
    state >"$OUT/before"
    case $LAB_SHAPE in
    A)
        run_vfioctl rootport bind 0000:00:1c.0
        assert_eq "$(cat "$OUT/rootport.status")" 2 "a root port is refused"
        assert_grep "is a bridge" "$OUT/rootport.stderr" "because it is a bridge"
        run_vfioctl chipset bind 0000:00:1f.2
        cat "$OUT/chipset.stderr"
        assert_eq "$(cat "$OUT/chipset.status")" 2 "the SATA controller's group is refused"
        assert_grep "0000:00:1f.0, the ISA/LPC bridge" "$OUT/chipset.stderr" "names the LPC bridge"
        assert_grep "0000:00:1f.3, the SMBus controller" "$OUT/chipset.stderr" "names the SMBus controller"
        ;;
    C)
        run_vfioctl noir bind 0000:03:00.0
        cat "$OUT/noir.stderr"
        assert_eq "$(cat "$OUT/noir.status")" 2 "no interrupt remapping: refused"
        assert_grep "interrupt remapping is off" "$OUT/noir.stderr" "and says why"
        run_vfioctl forced bind --force 0000:03:00.0
        assert_eq "$(cat "$OUT/forced.status")" 0 "--force binds"
        run_vfioctl verify verify 0000:03:00.0
        cat "$OUT/verify"
        assert_eq "$(cat "$OUT/verify.status")" 1 "verify fails without interrupt remapping"
        assert_grep "FAIL\] iommu: VFIO_SET_IOMMU: .*EPERM.*interrupt remapping is missing" "$OUT/verify" "on VFIO_SET_IOMMU, naming interrupt remapping"
        run_vfioctl restore restore
        assert_eq "$(cat "$OUT/restore.status")" 0 "restore exits 0"
        ;;
    D)
        run_vfioctl noiommu bind 0000:03:00.0
        cat "$OUT/noiommu.stderr"
        assert_eq "$(cat "$OUT/noiommu.status")" 2 "no IOMMU: refused"
        assert_grep "has no IOMMU" "$OUT/noiommu.stderr" "and says why"
        run_vfioctl forced bind --force 0000:03:00.0
        cat "$OUT/forced.stderr"
        assert_eq "$(cat "$OUT/forced.status")" 3 "--force fails: vfio-pci refuses a device without IOMMU"
        assert_grep "rolled back" "$OUT/forced.stderr" "and rolls back"
        ;;
    esac
    state >"$OUT/after"
    diff "$OUT/before" "$OUT/after" || lab_fail "drivers or overrides changed"
    echo "ok - every device keeps its driver and override"
    [ ! -e /run/vfioctl/bind.journal ] || lab_fail "journal left behind"
}
