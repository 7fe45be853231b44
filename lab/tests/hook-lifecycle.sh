# The libvirt hook on a real kernel, called the way libvirtd calls it (VM OPERATION SUB-OPERATION EXTRA, the domain
# XML on standard input; the guest runs no libvirtd): `vfioctl hook install` over a version-1 hook (replaced: every
# event is now one `vfioctl hook run`), then again (nothing changes), then for a VM with a spec made
# by `vfioctl init` (the NVMe, vCPU on CPU 1) prepare binds and shields, started moves "QEMU" (a stand-in process
# named in /run/libvirt/qemu/VM.pid) onto CPU 1, prepare again changes nothing, release gives back exactly what
# was there; a VM without a spec is never touched; a spec whose device cannot be handed over stops the VM at prepare
# (exit 1) and changes nothing.
LAB_SHAPES="S2"
LAB_TIMEOUT=300

driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }

guest() {
    . /lab/tests/shield-restore.sh
    hook=/etc/libvirt/hooks/qemu.d/vfioctl
    nvme=0000:03:00.0
    mkdir -p "${hook%/*}"
    printf '#!/bin/sh\n# vfioctl-hook v1: installed by `vfioctl hook install`.\nexit 0\n' >"$hook"
    run_vfioctl install hook install --binary "$(command -v vfioctl)"
    assert_eq "$(cat "$OUT/install.status")" 0 "hook install exits 0"
    assert_grep "updated $hook" "$OUT/install" "install replaces a version-1 hook"
    [ -x "$hook" ] || lab_fail "$hook is not an executable"
    assert_grep 'exec "\$VFIOCTL" hook run' "$hook" "the hook hands events to vfioctl hook run"
    run_vfioctl install2 hook install --binary "$(command -v vfioctl)"
    assert_grep "already installed and current" "$OUT/install2" "installing again changes nothing"

    mkdir -p /etc/vfioctl/vms /run/libvirt/qemu
    run_vfioctl init init --name lab --device "${nvme#0000:}" --vcpus 1 --memory 1G
    assert_eq "$(cat "$OUT/init.status")" 0 "vfioctl init writes a spec for the NVMe"
    cp "$OUT/init" /etc/vfioctl/vms/lab.toml
    grep -q '^pin = \[1\]' /etc/vfioctl/vms/lab.toml || lab_fail "the spec does not pin the vCPU on CPU 1: $(grep pin /etc/vfioctl/vms/lab.toml)"

    first=$$
    shield_values "$first" >"$OUT/before"
    assert_eq "$(driver_of $nvme)" nvme "the NVMe starts on nvme"

    # A VM vfioctl does not manage: every phase exits 0 and nothing changes.
    for phase in "prepare begin" "started begin" "release end"; do
        echo "<domain/>" | $hook other $phase - || lab_fail "the hook failed for an unmanaged VM at $phase"
    done
    shield_values "$first" >"$OUT/after-other"
    same_values "$OUT/before" "$OUT/after-other" || lab_fail "the hook changed something for a VM without a spec"
    assert_eq "$(driver_of $nvme)" nvme "an unmanaged VM leaves the NVMe alone"
    echo "ok - a VM without a spec is not touched"

    echo "<domain/>" | $hook lab prepare begin - 2>"$OUT/prepare.err"
    assert_eq "$?" 0 "prepare exits 0"
    assert_eq "$(driver_of $nvme)" vfio-pci "prepare bound the NVMe"
    run_vfioctl status1 shield --status
    assert_grep "CPUs 1 for VMs" "$OUT/status1" "prepare shielded CPU 1"

    sleep 1000 &
    qemu=$!
    echo "$qemu" >/run/libvirt/qemu/lab.pid
    echo "<domain/>" | $hook lab started begin - || lab_fail "started failed"
    grep -q vfioctl.vm "/proc/$qemu/cgroup" || lab_fail "the stand-in QEMU is not in the VM cgroup: $(cat "/proc/$qemu/cgroup")"
    assert_eq "$(sed -n 's/^Cpus_allowed_list:\t*//p' "/proc/$qemu/status")" 1 "started moved QEMU onto CPU 1"

    echo "<domain/>" | $hook lab prepare begin - 2>"$OUT/prepare2.err"
    assert_eq "$?" 0 "prepare again exits 0 (bind is a no-op, shield idempotent)"
    assert_eq "$(driver_of $nvme)" vfio-pci "still bound"

    kill "$qemu"
    wait "$qemu" 2>/dev/null
    rm -f /run/libvirt/qemu/lab.pid
    echo "<domain/>" | $hook lab release end - || lab_fail "release failed"
    assert_eq "$(driver_of $nvme)" nvme "release gave the NVMe back to nvme"
    # nvme sets up its queues (and their IRQs) asynchronously after the bind: compare once the controller is live.
    i=0
    until [ "$(cat /sys/bus/pci/devices/$nvme/nvme/nvme*/state 2>/dev/null)" = live ] || [ "$i" -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
    shield_values "$first" >"$OUT/after-release"
    same_values "$OUT/before" "$OUT/after-release" || lab_fail "release did not restore every value"
    echo "ok - release restored every value"
    [ ! -e /run/vfioctl/shield.journal ] && [ ! -e /run/vfioctl/bind.journal ] || lab_fail "journals left behind"

    # The NVMe's spec pointed at another address (as after a BIOS update renumbers buses): the drift check at
    # prepare refuses before anything changes, and says where the recorded device is.
    sed "s/$nvme/0000:00:1c.2/" /etc/vfioctl/vms/lab.toml >/etc/vfioctl/vms/moved.toml
    echo "<domain/>" | $hook moved prepare begin - 2>"$OUT/moved.err"
    assert_eq "$?" 1 "prepare stops a VM whose spec no longer matches the host"
    assert_grep "0000:00:1c.2 now holds .*not 1b36:0010.*it is now at $nvme" "$OUT/moved.err" "and says where the device went"
    shield_values "$first" >"$OUT/after-moved"
    same_values "$OUT/before" "$OUT/after-moved" || lab_fail "a refused prepare changed something"

    # A spec whose device is the root port above the NVMe, by its own ids: bind refuses it (a bridge), so the VM
    # must not start.
    rp_id=$(sed 's/^0x//' /sys/bus/pci/devices/0000:00:1c.2/vendor):$(sed 's/^0x//' /sys/bus/pci/devices/0000:00:1c.2/device)
    sed -e "s/$nvme/0000:00:1c.2/" -e "s/^id = .*/id = \"$rp_id\"/" -e '/^subsystem = /d' -e '/^slot-path = /d' \
        /etc/vfioctl/vms/lab.toml >/etc/vfioctl/vms/bad.toml
    echo "<domain/>" | $hook bad prepare begin - 2>"$OUT/bad.err"
    assert_eq "$?" 1 "prepare stops a VM whose device cannot be handed over"
    assert_grep "bind 0000:00:1c.2 failed" "$OUT/bad.err" "and says why"
    shield_values "$first" >"$OUT/after-bad"
    same_values "$OUT/before" "$OUT/after-bad" || lab_fail "a refused prepare changed something"
    echo "ok - a refused prepare changes nothing"
}
