import ArgumentParser
import VFIOCore

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the VM as libvirt domain XML, a QEMU command line, or a Proxmox qemu-server config.")

    enum Target: String, ExpressibleByArgument, CaseIterable { case libvirt, qemu, proxmox }

    @Argument(help: "libvirt, qemu or proxmox.") var target: Target
    @Argument(help: ArgumentHelp("The VM spec (TOML).", valueName: "SPEC")) var spec: String
    @Flag(help: "libvirt: the vfioctl hook binds the devices (managed='no'), as vfioctl define renders it; default managed='yes', libvirt binds them.")
    var hook = false

    func run() throws {
        let text: String
        switch target {
        case .libvirt:
            let owner: LibvirtRenderer.BindOwner = hook ? .hook : .libvirt
            text = try SpecFile.render(spec) { vm throws(SpecError) in try LibvirtRenderer.render(vm, bind: owner) }
        case .qemu: text = try SpecFile.render(spec, QEMURenderer.render)
        case .proxmox: text = try SpecFile.render(spec, ProxmoxRenderer.render)
        }
        Output.write(text)
    }
}
