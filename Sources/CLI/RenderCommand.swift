import ArgumentParser
import VFIOCore

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the VM as libvirt domain XML, a QEMU command line, or a Proxmox qemu-server config.")

    enum Target: String, ExpressibleByArgument, CaseIterable { case libvirt, qemu, proxmox }

    @Argument(help: "libvirt, qemu or proxmox.") var target: Target
    @Argument(help: ArgumentHelp("The VM spec (TOML).", valueName: "SPEC")) var spec: String

    func run() throws {
        let text: String
        switch target {
        case .libvirt: text = try SpecFile.render(spec, LibvirtRenderer.render)
        case .qemu: text = try SpecFile.render(spec, QEMURenderer.render)
        case .proxmox: text = try SpecFile.render(spec, ProxmoxRenderer.render)
        }
        Output.write(text)
    }
}
