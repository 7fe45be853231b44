# vfioctl list --json is the kernel's truth: every function of /sys/bus/pci/devices with its IDs, class,
# revision, driver and group, every group of /sys/kernel/iommu_groups with its members, and the IOMMU state
# each shape was built with.
LAB_SHAPES="A B C D"
LAB_TIMEOUT=90

# sysfs hex value without 0x ("0x8086" -> 8086); no forks: each costs milliseconds under TCG.
sysfs_hex() {
    read -r _v <"$1"
    echo "${_v#0x}"
}

guest() {
    run_vfioctl list.json list --json
    assert_eq "$(cat "$OUT/list.json.status")" 0 "vfioctl list --json exits 0"
    # One line per function: address vendor device class(base+sub) revision driver group
    for d in /sys/bus/pci/devices/*; do
        class=$(sysfs_hex "$d/class")
        driver=null
        [ -e "$d/driver" ] && driver=$(basename "$(readlink "$d/driver")")
        group=null
        [ -e "$d/iommu_group" ] && group=$(basename "$(readlink "$d/iommu_group")")
        echo "${d##*/} $(sysfs_hex "$d/vendor") $(sysfs_hex "$d/device") ${class%??} $(sysfs_hex "$d/revision") $driver $group"
    done >"$OUT/kernel-devices.txt"
    for g in /sys/kernel/iommu_groups/*; do
        [ -d "$g/devices" ] && echo "${g##*/} $(ls "$g/devices" | tr '\n' ' ')"
    done | sort -n >"$OUT/kernel-groups.txt"
    ls /sys/class/iommu >"$OUT/kernel-iommu-units.txt"
    note "$(wc -l <"$OUT/kernel-devices.txt") functions, $(wc -l <"$OUT/kernel-groups.txt") groups"
}

host() {
    jq -r '.devices[] | "\(.address) \(.vendor) \(.device) \(.class) \(.revision) \(.driver // "null") \(.iommuGroup // "null")"' \
        "$OUT/list.json" >"$OUT/vfioctl-devices.txt" || lab_fail "list.json is not the expected JSON"
    diff -u "$OUT/kernel-devices.txt" "$OUT/vfioctl-devices.txt" || lab_fail "devices differ from sysfs (- kernel, + vfioctl)"
    echo "ok - $(wc -l <"$OUT/kernel-devices.txt") devices match sysfs"
    jq -r '.groups[] | "\(.id) \(.devices | map(. + " ") | join(""))"' "$OUT/list.json" >"$OUT/vfioctl-groups.txt"
    diff -u "$OUT/kernel-groups.txt" "$OUT/vfioctl-groups.txt" || lab_fail "groups differ from /sys/kernel/iommu_groups (- kernel, + vfioctl)"
    echo "ok - $(wc -l <"$OUT/kernel-groups.txt") groups match /sys/kernel/iommu_groups"

    assert_eq "$(jq -r '.iommu.groupCount' "$OUT/list.json")" "$(wc -l <"$OUT/kernel-groups.txt" | tr -d ' ')" "iommu.groupCount"
    case $LAB_SHAPE in
        D) want_enabled=false want_vendor=null want_ir=disabled ;;
        C) want_enabled=true want_vendor=intel want_ir=disabled ;;
        *) want_enabled=true want_vendor=intel want_ir=enabled ;;
    esac
    assert_eq "$(jq -r '.iommu.enabled' "$OUT/list.json")" "$want_enabled" "iommu.enabled on shape $LAB_SHAPE"
    assert_eq "$(jq -r '.iommu.vendor' "$OUT/list.json")" "$want_vendor" "iommu.vendor on shape $LAB_SHAPE"
    assert_eq "$(jq -r '.iommu.interruptRemapping' "$OUT/list.json")" "$want_ir" "iommu.interruptRemapping on shape $LAB_SHAPE"
    assert_eq "$(jq -r '.iommu.units | join(" ")' "$OUT/list.json")" "$(tr '\n' ' ' <"$OUT/kernel-iommu-units.txt" | sed 's/ $//')" \
        "iommu.units are /sys/class/iommu"
}
