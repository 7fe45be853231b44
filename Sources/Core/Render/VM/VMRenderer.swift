/// One way of writing a VM spec for a hypervisor's front end (libvirt, QEMU, Proxmox). `vfioctl render` and the
/// golden tests take every renderer from `VMRenderers.all`: a new one is its own file plus one entry there.
public protocol VMRenderer: Sendable {
    /// The name `vfioctl render NAME SPEC` takes, and the folder of its golden files (Tests/Golden/NAME).
    var name: String { get }
    /// What it writes, as help texts name it ("libvirt domain XML").
    var format: String { get }
    /// The extension of a file holding its output, without the dot ("xml").
    var fileExtension: String { get }
    /// The rendering, after `spec.validate()`; a value the format cannot carry is a `SpecError` naming it.
    func render(_ spec: VMSpec, host: RenderHost) throws(SpecError) -> String
}

/// How the host will run the VM, where a rendering depends on it.
public struct RenderHost: Sendable, Equatable {
    /// Who binds the passed devices to vfio-pci (see `LibvirtRenderer.BindOwner`).
    public var bind: VMBindOwner

    public init(bind: VMBindOwner = .libvirt) {
        self.bind = bind
    }

    /// `vfioctl render`: no hook is assumed, the hypervisor binds the devices itself.
    public static let standalone = RenderHost()
    /// `vfioctl define`: the vfioctl hook binds at prepare and restores at release.
    public static let hook = RenderHost(bind: .hook)
}

/// Who binds the VM's passed devices to vfio-pci: the hypervisor (libvirt's managed='yes') or vfioctl's hook.
public enum VMBindOwner: Sendable { case libvirt, hook }

/// The registry of renderers.
public enum VMRenderers {
    /// Every renderer, in the order help texts list them.
    public static let all: [any VMRenderer] = [LibvirtRenderer(), QEMURenderer(), ProxmoxRenderer()]

    public static func named(_ name: String) -> (any VMRenderer)? { all.first { $0.name == name } }

    /// "libvirt, qemu or proxmox": the names, for help texts.
    public static var names: String { list(all.map(\.name), lastSeparator: " or ") }

    /// "libvirt domain XML, a QEMU command line, or a Proxmox qemu-server config": the formats, for help texts.
    public static var formats: String { list(all.map(\.format), lastSeparator: all.count > 2 ? ", or " : " or ") }

    static func list(_ items: [String], lastSeparator: String) -> String {
        guard let last = items.last else { return "" }
        return items.count == 1 ? last : items.dropLast().joined(separator: ", ") + lastSeparator + last
    }
}
