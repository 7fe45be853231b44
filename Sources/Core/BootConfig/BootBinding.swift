/// How vfio-pci gets a spec's devices at boot.
///
/// `vfio-pci.ids=` and `options vfio-pci ids=` claim every function with a vendor:device id, so an id is used only
/// when no device the host keeps has it. The devices whose id the host shares (the twin of the host's GPU, one port
/// of a multi-port NIC) are bound by address instead: a script run by modprobe before vfio-pci loads writes
/// `vfio-pci` to their `driver_override` (DOMAIN §6 "Identical devices"; the Arch wiki's "identical guest and host
/// GPUs" method), and the softdeps make vfio-pci load before their drivers.
public struct BootBinding: Sendable, Equatable {
    /// Ids safe for `vfio-pci.ids=`: no kept device shares them. In spec order.
    public var ids: [String]
    /// Devices bound by address (`driver_override`), in spec order.
    public var addresses: [PCIAddress]
    /// For each id bound by address, the host's own devices that share it (why `ids=` would be wrong).
    public var sharedWith: [String: [PCIAddress]]
    /// False when no host model was available to compare with (a bare /etc tree): every id is then used as is.
    public var checked: Bool
    /// The id of each device in `addresses`.
    var idOf: [PCIAddress: String] = [:]

    /// Compares the spec's devices with the devices of `host` that the spec does not pass.
    public static func of(_ spec: VMSpec, host: HostModel?) -> BootBinding {
        of(passed: spec.devices.map { ($0.address, $0.idPair) }, host: host)
    }

    /// The same for any list of passed functions (address, `vendor:device`), in the order given.
    public static func of(passed: [(address: PCIAddress, id: String)], host: HostModel?) -> BootBinding {
        var seen = Set<String>()
        let allIDs = passed.map(\.id).filter { seen.insert($0).inserted }
        guard let host else { return BootBinding(ids: allIDs, addresses: [], sharedWith: [:], checked: false) }
        let conflicts = IdenticalDevices.conflicts(host: host, passed: Set(passed.map(\.address)))
        var shared: [String: [PCIAddress]] = [:]
        for (id, twins) in conflicts { shared[id.description] = twins }
        let bound = passed.filter { shared[$0.id] != nil }
        return BootBinding(ids: allIDs.filter { shared[$0] == nil }, addresses: bound.map(\.address),
                           sharedWith: shared, checked: true,
                           idOf: Dictionary(bound.map { ($0.address, $0.id) }, uniquingKeysWith: { a, _ in a }))
    }

    /// One line per shared id, for `plan`, `doctor` and `setup`: which host devices an id would capture.
    public var explanations: [String] {
        sharedWith.keys.sorted().map { id in
            let mine = addresses.filter { idOf[$0] == id }
            let twins = (sharedWith[id] ?? []).map(\.description).joined(separator: ", ")
            return "\(id) is also the id of \(twins), which the host keeps: vfio-pci.ids=\(id) would take \(sharedWith[id]?.count == 1 ? "it" : "them") at boot too, so \(mine.map(\.description).joined(separator: ", ")) \(mine.count == 1 ? "is" : "are") bound by address (driver_override) instead"
        }
    }
}

/// The files that bind devices by address at boot, for each initramfs tool.
enum AddressBindingFiles {
    /// Run by modprobe in place of loading vfio-pci (an `install` line): sets the overrides, then loads the module.
    static let script = "/usr/local/sbin/vfioctl-vfio-pci-override"
    /// initramfs-tools copies the script into the initramfs through this hook.
    static let initramfsToolsHook = "/etc/initramfs-tools/hooks/vfioctl"

    /// `owner` names what the binding is for: `VM "win11"`, `fleet node x570`.
    static func scriptText(owner: String, binding: BootBinding) -> String {
        let devices = binding.addresses.map(\.description).joined(separator: " ")
        return """
            #!/bin/sh
            # Written by vfioctl for \(owner): vfio-pci takes these devices by address, not by id, because the
            # host keeps devices with the same vendor:device ids. modprobe runs this instead of loading vfio-pci
            # (install line in \(BootConfig.modprobeFile)); the softdeps there make that happen before the devices'
            # own drivers load, in the initramfs and after it.
            for dev in \(devices); do
                override=/sys/bus/pci/devices/$dev/driver_override
                [ -w "$override" ] && echo vfio-pci > "$override"
            done
            exec /sbin/modprobe --ignore-install vfio-pci "$@"

            """
    }

    static func initramfsToolsHookText(vm: String) -> String {
        """
        #!/bin/sh
        # Written by vfioctl setup for VM "\(vm)": puts the driver_override script into the initramfs, where
        # modprobe's install line for vfio-pci runs it.
        PREREQ=""
        prereqs() { echo "$PREREQ"; }
        case "$1" in prereqs) prereqs; exit 0 ;; esac
        . /usr/share/initramfs-tools/hook-functions
        copy_file script \(script)

        """
    }

    /// The modprobe.d line: `$CMDLINE_OPTS` passes options given on modprobe's command line along (modprobe.d(5)).
    static var installLine: String { "install vfio-pci \(script) $CMDLINE_OPTS" }
}
