# VMs through the real libvirtd on Debian (shape debian), with vfioctl's libvirt hook: `vfioctl define` refuses
# (this guest has no KVM) before writing anything, so the domain `render libvirt --hook` prints, in its TCG form,
# is defined with virsh and the hook installed with `hook install`. A VM for the NVMe starts with `virsh start`
# (a nested TCG guest, adjusted as nested-nvme explains, that reads the marker the lab guest wrote); while it runs
# the hook has bound the NVMe and shielded the VM's CPU through systemd (AllowedCPUs on system.slice, user.slice,
# init.scope) and libvirt has pinned the vCPU thread there; `virsh destroy` gives back the driver and every value.
# A VM without a spec is never touched. Two managed VMs started at once keep their journals apart.
LAB_SHAPES="debian"
LAB_TIMEOUT=900

nvme=0000:03:00.0
nic=0000:02:00.0
images=/var/lib/libvirt/images

# TOML and XML edits for TCG inside TCG. The domain vfioctl defines is for a KVM host with OVMF; here:
# type qemu (no KVM), no <cpu> (host-passthrough needs KVM), SeaBIOS with the lab kernel and a busybox initramfs
# instead of OVMF and a disk, no network (the guest has no default network), the serial console to a file.
tcg_domain() { # IN OUT CONSOLE
    python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
src, dst, console = sys.argv[1:4]
tree = ET.parse(src)
d = tree.getroot()
d.set("type", "qemu")
for c in d.findall("cpu"):
    d.remove(c)
os_ = d.find("os")
for tag in ("loader", "nvram", "boot"):
    for e in os_.findall(tag):
        os_.remove(e)
os_.attrib.pop("firmware", None)
import os
kernel = "/boot/vmlinuz-" + os.uname().release
ET.SubElement(os_, "kernel").text = kernel
ET.SubElement(os_, "initrd").text = "/var/lib/libvirt/images/nested.initrd"
ET.SubElement(os_, "cmdline").text = "console=ttyS0 quiet panic=-1"
dev = d.find("devices")
for tag in ("disk", "interface", "sound", "audio", "input", "tpm"):
    for e in dev.findall(tag):
        dev.remove(e)
for e in d.findall("audio"):
    d.remove(e)
for e in d.findall("memoryBacking"):
    d.remove(e)
serial = ET.SubElement(dev, "serial", type="file")
ET.SubElement(serial, "source", path=console)
ET.SubElement(serial, "target", port="0")
tree.write(dst)
PY
}

# The nested guest's initramfs (the guest library's nested_initrd, with the nvme driver, as nested-nvme builds it),
# whose init then stays up: the VM runs until virsh destroy.
stay_up_initrd() {
    nested_initrd $images/nested.initrd kernel/drivers/nvme/host/nvme.ko <<'INIT'
for d in /sys/bus/pci/devices/*; do echo "NESTED PCI ${d##*/} $(cat $d/vendor):$(cat $d/device)"; done
i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
echo "NESTED READ $(dd if=/dev/nvme0n1 bs=512 count=1 2>/dev/null | head -1)"
echo NESTED DONE; while :; do sleep 60; done
INIT
}

wait_for() { # SECONDS WHAT COMMAND...
    local n=$1 what=$2 i=0
    shift 2
    until "$@"; do
        i=$((i + 1))
        ((i > n)) && lab_fail "$what: not after ${n} s"
        sleep 1
    done
}

spec_for() { # NAME DEVICE PIN
    # define creates a missing disk with qemu-img (qemu-utils, only a Recommends of qemu-system-x86); the TCG
    # domain below drops the disk, so without qemu-img an empty file stands in for it.
    command -v qemu-img >/dev/null || { note "no qemu-img: define would stop at qemu-img create"; : >"$images/$1.qcow2"; }
    vfioctl init --name "$1" --device "$2" --vcpus 1 --memory 128M --os linux --disk "64M,$images/$1.qcow2" >"$OUT/$1.toml" ||
        lab_fail "vfioctl init for $1 failed"
    sed -i "s/^pin = \[[0-9]*\]/pin = [$3]/" "$OUT/$1.toml"
}

# This guest has no KVM (TCG has no VMX): vfioctl define refuses before writing anything, as libvirt would refuse
# its type='kvm' domain. The same domain from render --hook, in its TCG form, is defined with virsh; the spec goes
# where define puts it and the hook is installed as define installs it.
vfioctl_files() { find /etc/vfioctl /var/lib/vfioctl/define /etc/libvirt/qemu -type f -exec md5sum {} + 2>/dev/null | sort; }

define_for_tcg() { # NAME
    vfioctl_files >"$OUT/files.before-define-$1"
    run_vfioctl "define-$1" define "$OUT/$1.toml"
    cat "$OUT/define-$1" "$OUT/define-$1.stderr"
    assert_eq "$(cat "$OUT/define-$1.status")" 3 "vfioctl define $1 refuses without KVM (exit 3)"
    assert_grep "/dev/kvm does not exist on this host" "$OUT/define-$1.stderr" "define names the missing /dev/kvm"
    vfioctl_files >"$OUT/files.after-define-$1"
    same_host_values "$OUT/files.before-define-$1" "$OUT/files.after-define-$1" || lab_fail "define wrote files before refusing"
    virsh dominfo "$1" >/dev/null 2>&1 && lab_fail "define refused but libvirt knows $1"
    run_vfioctl "render-$1" render libvirt --hook "$OUT/$1.toml"
    assert_eq "$(cat "$OUT/render-$1.status")" 0 "vfioctl render libvirt --hook $1 exits 0"
    tcg_domain "$OUT/render-$1" "$OUT/$1.tcg.xml" "/var/log/libvirt/qemu/$1-console.log"
    virsh define "$OUT/$1.tcg.xml" >/dev/null || lab_fail "virsh define of the TCG form of $1 failed"
    install -D -m 0644 "$OUT/$1.toml" "/etc/vfioctl/vms/$1.toml"
    run_vfioctl "hook-install-$1" hook install
    assert_eq "$(cat "$OUT/hook-install-$1.status")" 0 "vfioctl hook install exits 0"
}

# CPU list ("0-1 3", "0-1,3") as "0 1 3".
cpu_list() {
    python3 -c 'import sys
out = []
for part in sys.argv[1].replace(",", " ").split():
    a, _, b = part.partition("-")
    out += range(int(a), int(b or a) + 1)
print(*sorted(set(out)))' "$1"
}

qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }

guest() {
    assert_eq "$(systemctl is-active libvirtd)" active "libvirtd is active"
    assert_eq "$(driver_of $nvme)" nvme "the NVMe starts on nvme"
    marker="vfioctl-libvirt-$$-$(up)"
    printf '%s\n' "$marker" | dd of=/dev/nvme0n1 bs=512 count=1 conv=sync,fsync 2>/dev/null || lab_fail "could not write the marker"
    stay_up_initrd || lab_fail "could not build the nested initramfs"
    load_vfio_pci

    host_values >"$OUT/before"
    spec_for nvme $nvme 2
    define_for_tcg nvme
    [[ -x /etc/libvirt/hooks/qemu.d/vfioctl ]] || lab_fail "hook install did not install the hook"
    # libvirtd looks for hooks when it starts (vfioctl says so when it installs one).
    systemctl restart libvirtd || lab_fail "libvirtd does not restart"
    host_values >"$OUT/after-define"
    same_host_values "$OUT/before" "$OUT/after-define" || lab_fail "define changed the host's values"

    # A VM without a spec: started and destroyed through libvirtd, nothing vfioctl manages changes.
    virsh define <(sed -e 's/<name>nvme</<name>plain</' -e '/<uuid>/d' -e '/<hostdev/,/<\/hostdev>/d' \
        -e 's|/nvme-console.log|/plain-console.log|' "$OUT/nvme.tcg.xml") >/dev/null ||
        lab_fail "virsh define plain failed"
    virsh start plain >"$OUT/start-plain" 2>&1 || lab_fail "virsh start plain failed: $(cat "$OUT/start-plain")"
    host_values >"$OUT/plain-running"
    virsh destroy plain >/dev/null 2>&1
    # libvirtd's first VM makes systemd enable the cpu, io and cpuset controllers at the root cgroup (for
    # machine.slice): systemd's doing, not vfioctl's, so that line is compared from here on only.
    note "root cgroup.subtree_control before the first VM: $(sed -n 's/^cgroup:subtree_control //p' "$OUT/before"); with it: $(sed -n 's/^cgroup:subtree_control //p' "$OUT/plain-running")"
    same_host_values <(grep -v '^cgroup:subtree_control ' "$OUT/before") <(grep -v '^cgroup:subtree_control ' "$OUT/plain-running") ||
        lab_fail "starting a VM without a spec changed something"
    [[ ! -e /run/vfioctl/bind.journal && ! -e /run/vfioctl/shield.journal ]] || lab_fail "a VM without a spec left a journal"
    echo "ok - a VM without a spec is not touched"
    host_values >"$OUT/before"

    : >/var/log/libvirt/qemu/nvme-console.log
    t0=$(up)
    virsh start nvme >"$OUT/start-nvme" 2>&1 || lab_fail "virsh start nvme failed: $(cat "$OUT/start-nvme"; tail -20 /var/log/libvirt/qemu/nvme.log)"
    note "virsh start nvme returned after $(since "$t0") s"
    assert_eq "$(driver_of $nvme)" vfio-pci "the hook bound the NVMe to vfio-pci"
    host_values >"$OUT/running"
    diff "$OUT/before" "$OUT/running" | grep '^[<>]' >"$OUT/running.diff"
    for u in system.slice user.slice init.scope; do
        a=$(systemctl show -p AllowedCPUs --value $u)
        note "$u AllowedCPUs=$a"
        assert_eq "$(cpu_list "$a")" "0 1 3" "the shield keeps $u off CPU 2 (systemd AllowedCPUs $a)"
    done
    pid=$(qemu_pid nvme)
    [[ -n $pid ]] || lab_fail "no QEMU pid for nvme"
    cat "/proc/$pid/cgroup" >"$OUT/qemu.cgroup"
    for t in /proc/$pid/task/*; do echo "$(cat "$t/comm") $(sed -n 's/^Cpus_allowed_list:\t*//p' "$t/status")"; done >"$OUT/qemu.threads"
    cat "$OUT/qemu.cgroup" "$OUT/qemu.threads"
    assert_grep '^CPU 0/TCG 2$' "$OUT/qemu.threads" "the vCPU thread runs on CPU 2"
    wait_for 600 "the nested guest reads the marker" grep -q '^NESTED DONE' /var/log/libvirt/qemu/nvme-console.log
    note "the nested guest was done $(since "$t0") s after virsh start"
    cp /var/log/libvirt/qemu/nvme-console.log "$OUT/nested-console.log"
    assert_grep "^NESTED PCI [0-9a-f:.]+ 0x1b36:0x0010" "$OUT/nested-console.log" "the nested guest sees the NVMe"
    assert_grep "^NESTED READ $marker" "$OUT/nested-console.log" "the nested guest reads the marker"

    virsh destroy nvme >"$OUT/destroy" 2>&1 || lab_fail "virsh destroy nvme failed"
    wait_for 60 "nvme back on its driver" test "$(driver_of $nvme)" = nvme
    host_values >"$OUT/after"
    same_host_values "$OUT/before" "$OUT/after" || lab_fail "destroy did not give back every value"
    echo "ok - destroy gave back the driver and every value"

    # Two managed VMs at once: each hook call takes the journal lock, neither record is lost.
    spec_for nic $nic 3
    define_for_tcg nic
    virsh start nvme >"$OUT/start2-nvme" 2>&1 &
    a=$!
    virsh start nic >"$OUT/start2-nic" 2>&1 &
    b=$!
    wait $a; ra=$?
    wait $b; rb=$?
    cat "$OUT/start2-nvme" "$OUT/start2-nic"
    assert_eq "$ra $rb" "0 0" "both VMs start at once"
    assert_eq "$(driver_of $nvme) $(driver_of $nic)" "vfio-pci vfio-pci" "both devices are on vfio-pci"
    cp /run/vfioctl/bind.journal "$OUT/bind.journal.both" 2>/dev/null
    cp /run/vfioctl/shield.journal "$OUT/shield.journal.both" 2>/dev/null
    run_vfioctl restore-dry restore --dry-run
    assert_eq "$(cat "$OUT/restore-dry.status")" 0 "the journal of both VMs reads back"
    assert_grep "$nvme" "$OUT/restore-dry" "the journal holds the NVMe"
    assert_grep "$nic" "$OUT/restore-dry" "the journal holds the NIC"
    virsh destroy nvme >/dev/null 2>&1 &
    virsh destroy nic >/dev/null 2>&1 &
    wait
    wait_for 60 "both devices back" test "$(driver_of $nvme) $(driver_of $nic)" = "nvme e1000e"
    host_values >"$OUT/after2"
    same_host_values "$OUT/before" "$OUT/after2" || lab_fail "two VMs' destroy did not give back every value"
    echo "ok - two VMs started and destroyed at once gave back every value"
}
