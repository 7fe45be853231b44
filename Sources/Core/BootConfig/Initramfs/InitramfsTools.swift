/// Debian's and Ubuntu's initramfs-tools: the vfio modules in `/etc/initramfs-tools/modules`, and a hook that
/// copies the driver_override script into the image when devices are bound by address.
struct InitramfsToolsBackend: InitramfsBackend {
    let kind = InitramfsTool.initramfsTools
    let commands = ["update-initramfs -u -k all"]

    func recognises(_ boot: BootFiles) -> Bool { boot.kind(of: "/etc/initramfs-tools") == .directory }

    func plan(_ request: InitramfsRequest, boot: BootFiles) throws(BootConfigError) -> BackendPlan {
        let old = try boot.read(InitramfsToolsModules.path)
        var plan = BackendPlan(edits: [FileEdit(path: InitramfsToolsModules.path, old: old, new: InitramfsToolsModules.merge(old ?? "", modules: request.modules),
                                                why: "vfio modules in the initramfs, before the GPU drivers")])
        if request.byAddress {
            let hook = AddressBindingFiles.initramfsToolsHook
            plan.edits.append(FileEdit(path: hook, old: try boot.read(hook), new: AddressBindingFiles.initramfsToolsHookText(vm: request.vmName),
                                       why: "copies the driver_override script into the initramfs", mode: 0o755))
        }
        plan.commands += commands
        return plan
    }
}

/// Debian/Ubuntu `/etc/initramfs-tools/modules`: one module per line, loaded in order.
enum InitramfsToolsModules {
    static let path = "/etc/initramfs-tools/modules"
    static func merge(_ text: String, modules: [String]) -> String {
        var lines = splitLines(text)
        let present = Set(lines.map { $0.split(separator: " ").first.map { String($0).replacingHyphens() } ?? "" })
        let missing = modules.filter { !present.contains($0) }
        if missing.isEmpty { return text }
        lines.append("# vfioctl setup: vfio first, so vfio-pci claims the passed devices before their drivers")
        lines += missing
        return joinLines(lines, like: text)
    }
}
