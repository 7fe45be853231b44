import ArgumentParser
import VFIOCore

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the VM as libvirt domain XML, a QEMU command line, or a Proxmox qemu-server config.")

    enum Target: String, ExpressibleByArgument, CaseIterable { case libvirt, qemu, proxmox }

    @Argument(help: "libvirt, qemu or proxmox.") var target: Target
    @Argument(help: ArgumentHelp("The VM spec (TOML).", valueName: "SPEC")) var spec: String

    func run() throws {
        let vm = try SpecFile.load(spec)
        switch target {
        case .libvirt: Output.write(LibvirtRenderer.render(vm))
        case .qemu: Output.write(QEMURenderer.render(vm))
        case .proxmox: Output.write(ProxmoxRenderer.render(vm))
        }
    }
}
