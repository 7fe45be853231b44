/// The per-node preparation every engine leaves to the admin: vfio-pci must own the passed functions at boot,
/// chosen by address so a twin the host keeps (same vendor:device) stays with its driver (DOMAIN §6, "Identical
/// devices": `driver_override` written before the GPU/NIC drivers load, as the Arch wiki's "identical guest and
/// host GPUs" section does with an `install` line in modprobe.d).
public enum AddressBinding {
    public static let scriptPath = "/usr/local/sbin/vfioctl-driver-override"
    public static let modprobePath = "/etc/modprobe.d/vfioctl-fleet.conf"

    /// The functions to give vfio-pci on this node: every function of every passable device, in address order.
    public static func functions(_ node: FleetNodeReport) -> [PCIAddress] {
        Set(node.devices.filter(\.isPassable).flatMap(\.functions)).sorted()
    }

    /// The modprobe.d lines and the script that writes `driver_override`, or nothing when no device passes.
    /// Host drivers of the functions get a softdep so vfio-pci (and with it the script) loads first.
    public static func files(_ node: FleetNodeReport) -> [(path: String, mode: String, text: String)] {
        let addresses = functions(node)
        guard !addresses.isEmpty else { return [] }
        var modules = Set<String>()
        for d in node.devices where d.isPassable {
            for (_, driver) in d.drivers { modules.insert(node.facts.driverModules[driver] ?? driver.replacingHyphens()) }
        }
        var conf = ["install vfio-pci \(scriptPath); /sbin/modprobe --ignore-install vfio-pci"]
        conf += modules.sorted().map { "softdep \($0) pre: vfio-pci" }
        let script = [
            "#!/bin/sh",
            "# vfio-pci takes these functions by address; other devices with the same ids stay with their drivers.",
            "for dev in \(addresses.map(\.description).joined(separator: " ")); do",
            "    echo vfio-pci > /sys/bus/pci/devices/$dev/driver_override",
            "done",
        ]
        return [(modprobePath, "0644", conf.joined(separator: "\n") + "\n"), (scriptPath, "0755", script.joined(separator: "\n") + "\n")]
    }
}
