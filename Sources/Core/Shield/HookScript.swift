/// The libvirt hook vfioctl installs in `/etc/libvirt/hooks/qemu.d/` (libvirt runs every executable there with
/// `VM OPERATION SUB-OPERATION`; a non-zero exit at `prepare` stops the VM from starting). It acts only for VMs with a
/// spec in `specDirectory`, so VMs it does not manage pass untouched.
public enum HookScript {
    public static let path = "/etc/libvirt/hooks/qemu.d/vfioctl"
    public static let specDirectory = "/etc/vfioctl/vms"
    public static let marker = "vfioctl-hook v1"

    public static func render(vfioctl: String, specDirectory: String = specDirectory) -> String {
        """
        #!/bin/sh
        # \(marker): installed by `vfioctl hook install`. libvirt calls it as: VM OPERATION SUB-OPERATION.
        # Only VMs with a spec \(specDirectory)/VM.toml are touched; for every other VM it exits 0 at once.
        VFIOCTL=${VFIOCTL_HOOK_BINARY:-\(vfioctl)}
        SPECS=${VFIOCTL_HOOK_SPECS:-\(specDirectory)}
        vm=$1 op=$2 sub=$3
        spec=$SPECS/$vm.toml
        [ -f "$spec" ] || exit 0
        log() { echo "vfioctl hook: $vm $op/$sub: $*" >&2; }
        [ -x "$VFIOCTL" ] || { log "$VFIOCTL is missing; the VM is left alone"; exit 0; }
        has() { "$VFIOCTL" "$1" --help >/dev/null 2>&1; }
        case $op/$sub in
        prepare/begin)
            # Devices first: a VM whose devices cannot be handed over must not start.
            addrs=$("$VFIOCTL" hook devices "$spec") || { log "cannot read $spec"; exit 1; }
            if [ -n "$addrs" ] && has bind; then
                "$VFIOCTL" bind $addrs || { log "bind $addrs failed"; exit 1; }
            fi
            "$VFIOCTL" shield --spec "$spec" --vm "$vm" >/dev/null || log "shield failed: the VM runs unshielded" ;;
        started/begin)
            pid=$(cat "/run/libvirt/qemu/$vm.pid" 2>/dev/null)
            [ -n "$pid" ] && { "$VFIOCTL" shield --move "$pid" >/dev/null || log "could not move QEMU ($pid) to the VM CPUs"; } ;;
        release/end)
            "$VFIOCTL" unshield --vm "$vm" >/dev/null || log "unshield failed: run vfioctl unshield --vm $vm"
            addrs=$("$VFIOCTL" hook devices "$spec" 2>/dev/null)
            if [ -n "$addrs" ] && has restore; then
                "$VFIOCTL" restore $addrs || log "restore $addrs failed: run vfioctl restore"
            fi ;;
        esac
        exit 0

        """
    }
}
