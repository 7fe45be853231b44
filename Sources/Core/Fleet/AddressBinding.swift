/// The per-node preparation every engine leaves to the admin: vfio-pci must own the passed functions at boot,
/// chosen by address so a twin the host keeps (same vendor:device) stays with its driver (DOMAIN §6, "Identical
/// devices": `driver_override` written before the GPU/NIC drivers load, as the Arch wiki's "identical guest and
/// host GPUs" section does with an `install` line in modprobe.d).
public enum AddressBinding {
    public static var scriptPath: String { AddressBindingFiles.script }
    public static let modprobePath = "/etc/modprobe.d/vfioctl.conf"

    /// The functions to give vfio-pci on this node: every function of every passable device, in address order.
    public static func functions(_ node: FleetNodeReport) -> [PCIAddress] {
        Set(node.devices.filter(\.isPassable).flatMap(\.functions)).sorted()
    }

    /// What `vfioctl setup` would write for these functions on this node (one mechanism, ``BootBinding``): ids
    /// where no kept device shares them, `driver_override` by address otherwise, softdeps for their host drivers
    /// so vfio-pci loads first. Nothing when no device passes.
    public static func files(_ node: FleetNodeReport) -> [(path: String, mode: String, text: String)] {
        let addresses = functions(node)
        guard !addresses.isEmpty else { return [] }
        let passed = addresses.compactMap { a in node.host.device(a).map { (address: a, id: $0.idPair) } }
        let binding = BootBinding.of(passed: passed, host: node.host)
        var modules = Set<String>()
        for d in node.devices where d.isPassable {
            for (_, driver) in d.drivers { modules.insert(node.facts.driverModules[driver] ?? driver.replacingHyphens()) }
        }
        var conf = ["# Written for fleet node \(node.name): vfio-pci claims the passed devices before their drivers load."]
        if !binding.ids.isEmpty { conf.append("options vfio-pci ids=\(binding.ids.joined(separator: ","))") }
        if !binding.addresses.isEmpty { conf.append(AddressBindingFiles.installLine) }
        conf += modules.sorted().map { "softdep \($0) pre: vfio-pci" }
        var out = [(modprobePath, "0644", conf.joined(separator: "\n") + "\n")]
        if !binding.addresses.isEmpty {
            out.append((scriptPath, "0755", AddressBindingFiles.scriptText(owner: "fleet node " + node.name, binding: binding)))
        }
        return out
    }
}
