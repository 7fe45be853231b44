/// One change of a runtime handoff as a value: what to journal, what to do, and what must be true afterwards.
/// The same list of steps is printed by `--dry-run`, executed by `vfioctl bind` and, for rollback and `restore`,
/// built from the journal by `RestorePlanner`.
public struct HandoffStep: Sendable, Equatable {
    /// Journaled (fsync'd) before `action` runs; nil for steps that only wait or that undo (their `restored`
    /// record is appended after they succeed).
    public var record: BindRecord?
    public var action: HandoffAction?
    /// Run `action` only when this holds at execution time (e.g. the display manager is active).
    public var onlyIf: HandoffCondition?
    /// Polled (bounded) after the action; the step fails when one does not hold before the deadline.
    public var waitFor: [HandoffCondition]
    /// Appended to the journal after the step succeeded (restore: closes the item it gave back).
    public var closes: [BindRecord]
    /// One line for people: "0000:03:00.0: driver_override ← vfio-pci".
    public var summary: String
    /// Why this step must not run (a journal value that is no unit or module name): the executor reports it and
    /// leaves the item held, so the rest of a restore still runs.
    public var refusal: String?

    public init(record: BindRecord? = nil, action: HandoffAction? = nil, onlyIf: HandoffCondition? = nil,
                waitFor: [HandoffCondition] = [], closes: [BindRecord] = [], summary: String, refusal: String? = nil) {
        self.refusal = refusal
        self.record = record
        self.action = action
        self.onlyIf = onlyIf
        self.waitFor = waitFor
        self.closes = closes
        self.summary = summary
    }
}

public enum HandoffAction: Sendable, Equatable, CustomStringConvertible {
    /// One `write(2)` of `value` to a sysfs attribute (through `HostWriter`).
    case write(path: String, value: String)
    /// A command (argv), run with a timeout: `systemctl stop gdm.service`, `modprobe -r amdgpu`.
    case run([String])

    /// As a shell line: `echo -n 'vfio-pci' > /sys/bus/pci/devices/0000:03:00.0/driver_override`.
    public var description: String {
        switch self {
        case .write(let path, let value):
            let shown = value == "\n" ? "echo ''" : "echo -n '\(value)'"
            return "\(shown) > \(path)"
        case .run(let argv): return argv.joined(separator: " ")
        }
    }
}

public enum HandoffCondition: Sendable, Equatable, CustomStringConvertible {
    /// sysfs: `/sys/bus/pci/devices/ADDR/driver` names this driver (nil: no driver link).
    case driver(PCIAddress, String?)
    /// A path exists (`/dev/vfio/7`, `/sys/module/bochs`, a platform device's `driver` link).
    case exists(String)
    /// A path does not exist.
    case absent(String)
    /// A text attribute reads this value (`/sys/class/vtconsole/vtcon1/bind` reads `0`).
    case reads(String, String)
    /// A command exits 0 (`systemctl is-active --quiet gdm.service`).
    case succeeds([String])
    /// No process has a device node of these functions open (their DRM card and render nodes, framebuffer, sound
    /// and I2C nodes): `modprobe -r` of their driver fails while one is open.
    case unheld([PCIAddress])

    public var description: String {
        switch self {
        case .driver(let a, let d): "\(a) on \(d ?? "no driver")"
        case .exists(let p): "\(p) exists"
        case .absent(let p): "\(p) is gone"
        case .reads(let p, let v): "\(p) reads \(v)"
        case .succeeds(let argv): "'\(argv.joined(separator: " "))' succeeds"
        case .unheld(let addresses): "no process holds a device node of \(addresses.map(\.description).joined(separator: ", "))"
        }
    }
}

/// The names that reach a command line (`systemctl`, `modprobe`) from a tree or a journal: only the characters
/// systemd unit names and kernel module names are made of (systemd.unit(5) "Description"; module names are C
/// identifiers with `-` as `_`), and no leading `-`, so that no value can become an option or a second word.
public enum HostCommandNames {
    /// `gdm.service`, `getty@tty1.service`, `sys-devices-x.device`: `^[A-Za-z0-9_.@:-]+$`, not starting with `-`.
    public static func isUnit(_ name: String) -> Bool {
        valid(name) { $0.isASCIIAlphanumeric || "_.@:-".utf8.contains($0) }
    }

    /// `nvidia_drm`, `snd-hda-intel`: `^[A-Za-z0-9_-]+$`, not starting with `-`.
    public static func isModule(_ name: String) -> Bool {
        valid(name) { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func valid(_ name: String, _ allowed: (UInt8) -> Bool) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "-"), name.utf8.count <= 256 else { return false }
        return name.utf8.allSatisfy(allowed)
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

/// sysfs paths of the PCI driver core (Documentation/ABI/testing/sysfs-bus-pci).
public enum PCIDriverPaths {
    public static func device(_ a: PCIAddress) -> String { "/sys/bus/pci/devices/\(a)" }
    public static func driverOverride(_ a: PCIAddress) -> String { "\(device(a))/driver_override" }
    public static func driverLink(_ a: PCIAddress) -> String { "\(device(a))/driver" }
    /// Unbinds from whatever driver holds the device now (driverctl's form).
    public static func unbind(_ a: PCIAddress) -> String { "\(device(a))/driver/unbind" }
    public static let driversProbe = "/sys/bus/pci/drivers_probe"
    public static func driver(_ name: String) -> String { "/sys/bus/pci/drivers/\(name)" }
    public static func bind(_ driver: String) -> String { "\(self.driver(driver))/bind" }
    public static func vfioGroup(_ group: Int) -> String { "/dev/vfio/\(group)" }
    public static let vfioPCI = "vfio-pci"
}
