# Helpers for tests in the Debian shape (bash), added to /lab/lib.sh there.

# End this step of the test and reboot the machine through its own bootloader; the test is called again with
# LAB_STEP one higher. Anything the next step needs goes in $OUT (kept) or elsewhere on disk.
lab_reboot() {
    echo "# step $LAB_STEP done: rebooting"
    sync
    exit 75
}

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

# Everything a shield or a bind changes on a systemd host, one "key value" a line: systemd's AllowedCPUs of the
# three units vfioctl sets, their cgroups' cpuset.cpus, every IRQ's affinity, the default IRQ affinity, the
# workqueue masks, kthreadd's CPUs, the driver of each PCI device. Processes come and go on a systemd host and
# are compared separately (tasks_off_cpus).
host_values() {
    local u
    for u in system.slice user.slice init.scope; do
        echo "systemd:$u $(systemctl show -p AllowedCPUs --value "$u")"
        echo "cgroup:$u $(cat "/sys/fs/cgroup/$u/cpuset.cpus" 2>/dev/null)"
    done
    echo "cgroup:subtree_control $(cat /sys/fs/cgroup/cgroup.subtree_control)"
    # IRQs by what they serve (chip, vector, action from /proc/interrupts), not by number: a driver that binds
    # again gets new IRQ numbers (two VMs released at once gave nvme's and e1000e's queues each other's numbers);
    # IRQs without an action keep their number.
    local n desc
    declare -A irq_desc=()
    while read -r n desc; do irq_desc[$n]=$desc; done < <(awk 'NR == 1 { cpus = NF; next }
        $1 ~ /^[0-9]+:$/ { d = ""; for (i = cpus + 2; i <= NF; i++) d = d " " $i; print substr($1, 1, length($1) - 1), d }' /proc/interrupts)
    for f in /proc/irq/*/smp_affinity_list; do
        n=${f#/proc/irq/}; n=${n%%/*}
        echo "irq:${irq_desc[$n]:-#$n} $(cat "$f")"
    done | sort
    echo "default_smp_affinity $(cat /proc/irq/default_smp_affinity)"
    echo "workqueue $(cat /sys/devices/virtual/workqueue/cpumask)"
    echo "writeback $(cat /sys/bus/workqueue/devices/writeback/cpumask 2>/dev/null)"
    echo "kthreadd $(sed -n 's/^Cpus_allowed_list:\t*//p' /proc/2/status)"
    for d in /sys/bus/pci/devices/*; do echo "driver:${d##*/} $(basename "$(readlink "$d/driver")" 2>/dev/null)"; done
}

# same_host_values BEFORE AFTER: prints each difference; fails when there is one.
same_host_values() {
    diff "$1" "$2" >/dev/null && return 0
    diff "$1" "$2" | grep '^[<>]'
    return 1
}

# Seconds since boot, and the time since a mark: t0=$(up); ...; since "$t0".
up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }'; }

# A stock Debian does not load vfio-pci until something asks for it; `vfioctl bind` (so the hook's prepare too)
# loads it with modprobe. This only notes whether the journey starts without it.
load_vfio_pci() {
    [[ -d /sys/bus/pci/drivers/vfio-pci ]] || note "vfio-pci not loaded at first: vfioctl bind loads it"
}
