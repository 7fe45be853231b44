/// Hosts bundled with vfioctl: written to `examples/hosts/NAME` by `vfioctl-mkhost examples DIR`, and usable
/// directly in tests (`ExampleHosts.z490ThreeGPUs().render()`).
public enum ExampleHosts {
    public struct Example: Sendable {
        public let name: String
        /// One line for `examples/hosts/README.md` and `vfioctl-mkhost list`.
        public let summary: String
        public let host: HostTree
    }

    public static var all: [Example] {
        [
            Example(name: "z490-three-gpus",
                    summary: "Intel Z490 desktop, VT-d with interrupt remapping, three GPUs: two share the CPU PEG group, one clean chipset-slot group on vfio-pci",
                    host: z490ThreeGPUs()),
            Example(name: "ryzen-chipset-gpu",
                    summary: "Ryzen 9 3900X on B450, AMD-Vi: the second GPU sits in the one IOMMU group of the whole chipset (USB, SATA, NIC)",
                    host: ryzenChipsetGPU()),
            Example(name: "iommu-off",
                    summary: "Z370 desktop with VT-d disabled in firmware: intel_iommu=on on the cmdline, but no DMAR table, no groups, GPU left without a driver",
                    host: iommuOff()),
            Example(name: "x570-twin-gpus",
                    summary: "Ryzen 9 5900X on X570, AMD-Vi: two identical RTX 3060 (the host keeps one) and a quad-port I350 whose first port is the uplink: ids= would take the host's own card and port",
                    host: x570TwinGPUs()),
        ]
    }

    static func uuid(_ name: String) -> String {
        let h = Format.stableHash(name)
        let hex = Format.hex(h, digits: 16, prefix: false) + Format.hex(Format.stableHash(name + "!"), digits: 16, prefix: false)
        let c = Array(hex)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }
}
