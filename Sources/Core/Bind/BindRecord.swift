/// One line of `/run/vfioctl/bind.journal`: written and fsync'd *before* the change it describes, so that
/// `vfioctl restore` can put the host back after a crash or `kill -9` half-way through a bind.
///
/// A `device` record carries what the device had before vfioctl touched it (driver and `driver_override`); the
/// first `device` record of an address after its last `restored` record holds the originals. A `display` record
/// names one step of the single-GPU handoff (`step` and `original`, what the step undoes to). A `restored` record
/// closes a device or a display step once it is back.
public struct BindRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case device, display, restored }

    public var kind: Kind
    /// `driver_override`, `unbind`, `drivers_probe` (device); `stop-unit`, `vtcon-unbind`, `fb-unbind`,
    /// `module-unload` (display); the closed step's key (restored).
    public var step: String
    /// The device (device records), the display device the handoff was for (display records).
    public var address: String?
    /// IOMMU group of the device, so that `restore ADDR` gives back the whole group it was bound with.
    public var group: Int?
    /// sysfs: the `driver` link name before the bind; nil when the device had no driver.
    public var originalDriver: String?
    /// sysfs: `driver_override` before the bind; nil when it read `(null)`.
    public var originalOverride: String?
    /// The host path written (or the command run, joined by spaces) and the value written.
    public var path: String?
    public var value: String?
    /// Display steps: what the step is undone to (the unit, the vtconsole's bind value, the framebuffer device,
    /// the module).
    public var original: String?
    /// The `vfioctl bind` run that wrote the record (pid and time): a failing bind rolls back only its own.
    public var run: String?

    public init(kind: Kind, step: String, address: String? = nil, group: Int? = nil, originalDriver: String? = nil,
                originalOverride: String? = nil, path: String? = nil, value: String? = nil, original: String? = nil,
                run: String? = nil) {
        self.run = run
        self.kind = kind
        self.step = step
        self.address = address
        self.group = group
        self.originalDriver = originalDriver
        self.originalOverride = originalOverride
        self.path = path
        self.value = value
        self.original = original
    }

    /// The key a `restored` record closes: the address for devices, `step path` for display steps.
    public var key: String {
        switch kind {
        case .device: address ?? ""
        case .display: "\(step) \(path ?? "") \(original ?? "")"
        case .restored: step
        }
    }
}

/// What the journal says vfioctl still holds: devices with their originals, display steps, in the order they
/// were first taken.
public struct HeldState: Sendable, Equatable {
    public struct Device: Sendable, Equatable {
        public var address: PCIAddress
        public var group: Int?
        public var originalDriver: String?
        public var originalOverride: String?
        /// The bind run that took it.
        public var run: String?

        public init(address: PCIAddress, group: Int?, originalDriver: String?, originalOverride: String?, run: String? = nil) {
            self.run = run
            self.address = address
            self.group = group
            self.originalDriver = originalDriver
            self.originalOverride = originalOverride
        }
    }

    public enum Item: Sendable, Equatable {
        case device(Device)
        case display(BindRecord)

        public var key: String {
            switch self {
            case .device(let d): d.address.description
            case .display(let r): r.key
            }
        }

        /// The bind run that took the item.
        public var run: String? {
            switch self {
            case .device(let d): d.run
            case .display(let r): r.run
            }
        }
    }

    public var items: [Item] = []

    public var devices: [Device] {
        items.compactMap { if case .device(let d) = $0 { d } else { nil } }
    }

    public var isEmpty: Bool { items.isEmpty }

    /// Folds the journal: the first record of a key after its last `restored` record wins (later records of the
    /// same device are further steps of the same bind and carry the same originals).
    public init(records: [BindRecord]) {
        for r in records {
            switch r.kind {
            case .restored:
                items.removeAll { $0.key == r.step }
            case .device:
                guard let text = r.address, let address = PCIAddress(text), !items.contains(where: { $0.key == r.key }) else { continue }
                items.append(.device(Device(address: address, group: r.group, originalDriver: r.originalDriver,
                                            originalOverride: r.originalOverride, run: r.run)))
            case .display:
                if !items.contains(where: { $0.key == r.key }) { items.append(.display(r)) }
            }
        }
    }

    /// The held items that `restore ADDR...` gives back: the named devices with every held device of their
    /// groups, and the display steps taken for them. Empty `addresses` selects everything.
    public func selecting(_ addresses: [PCIAddress]) -> [Item] {
        guard !addresses.isEmpty else { return items }
        let named = Set(addresses)
        let groups = Set(devices.filter { named.contains($0.address) }.compactMap(\.group))
        let chosen = Set(devices.filter { named.contains($0.address) || ($0.group.map(groups.contains) ?? false) }.map(\.address))
        return items.filter { item in
            switch item {
            case .device(let d): chosen.contains(d.address)
            case .display(let r): r.address.flatMap(PCIAddress.init).map(chosen.contains) ?? false
            }
        }
    }
}
