/// The libvirt hook vfioctl installs in `/etc/libvirt/hooks/qemu.d/` (libvirt runs every executable there with
/// `VM OPERATION SUB-OPERATION EXTRA` and the domain XML on standard input; a non-zero exit at `prepare` stops the
/// VM from starting). It hands every event of a VM with a spec in `specDirectory` to `vfioctl hook run`, one
/// process per event. VMs without a spec exit in the shell: an unmanaged VM never starts vfioctl.
public enum HookScript {
    public static let path = "/etc/libvirt/hooks/qemu.d/vfioctl"
    public static let specDirectory = "/etc/vfioctl/vms"
    /// v1 ran bind, shield, unshield and restore as separate vfioctl processes; v2 runs `hook run`.
    public static let marker = "vfioctl-hook v2"
    /// What every version's marker starts with: `hook install` replaces a hook carrying it, and only such a hook.
    public static let markerPrefix = "vfioctl-hook v"

    public static func render(vfioctl: String, specDirectory: String = specDirectory) -> String {
        """
        #!/bin/sh
        # \(marker): installed by `vfioctl hook install`. libvirt calls it as: VM OPERATION SUB-OPERATION EXTRA.
        # Only VMs with a spec \(specDirectory)/VM.toml are handed to vfioctl; every other VM exits 0 here.
        VFIOCTL=${VFIOCTL_HOOK_BINARY:-\(vfioctl)}
        SPECS=${VFIOCTL_HOOK_SPECS:-\(specDirectory)}
        [ -f "$SPECS/$1.toml" ] || exit 0
        [ -x "$VFIOCTL" ] || { echo "vfioctl hook: $1 $2/$3: $VFIOCTL is missing; the VM is left alone" >&2; exit 0; }
        exec "$VFIOCTL" hook run --specs "$SPECS" -- "$@"

        """
    }
}
