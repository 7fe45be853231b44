/// dracut: a drop-in in `/etc/dracut.conf.d` that forces the vfio modules in (and carries the driver_override
/// script when devices are bound by address).
struct DracutBackend: InitramfsBackend {
    let kind = InitramfsTool.dracut
    let commands = ["dracut -f --regenerate-all"]
    static let path = "/etc/dracut.conf.d/10-vfioctl.conf"

    func recognises(_ boot: BootFiles) -> Bool {
        boot.kind(of: "/etc/dracut.conf") == .regular || boot.kind(of: "/etc/dracut.conf.d") == .directory
    }

    func plan(_ request: InitramfsRequest, boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.read(Self.path)
        var lines = ["# Written by vfioctl setup: vfio-pci must claim the passed devices before their drivers load.",
                     "force_drivers+=\" \(request.modules.joined(separator: " ")) \""]
        if request.byAddress { lines.append("install_items+=\" \(AddressBindingFiles.script) \"") }
        return BackendPlan(edits: [FileEdit(path: Self.path, old: old, new: joinLines(lines, like: old ?? ""),
                                            why: request.byAddress ? "vfio modules in the initramfs, loaded first; the driver_override script in the image" : "vfio modules in the initramfs, loaded first")],
                           commands: commands)
    }
}
