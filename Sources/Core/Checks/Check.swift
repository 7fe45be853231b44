/// How bad a finding is. Ordered by severity for the exit status.
public enum FindingStatus: String, Sendable, CaseIterable {
    case pass, skipped, info, warn, crashed, fail

    var severity: Int {
        switch self {
        case .pass, .skipped: 0
        case .info: 1
        case .warn, .crashed: 2
        case .fail: 3
        }
    }
}

/// One result of a check: what was found, on which devices, what was seen where, and what to paste to fix it.
public struct Finding: Sendable, Equatable {
    public var check: String
    public var status: FindingStatus
    public var title: String
    public var subjects: [PCIAddress]
    public var evidence: [Evidence]
    public var explanation: String
    public var fix: String?
    public var reference: String?

    public init(check: String = "", status: FindingStatus, title: String, subjects: [PCIAddress] = [],
                evidence: [Evidence] = [], explanation: String = "", fix: String? = nil, reference: String? = nil) {
        self.check = check
        self.status = status
        self.title = title
        self.subjects = subjects
        self.evidence = evidence
        self.explanation = explanation
        self.fix = fix
        self.reference = reference
    }
}

/// What a check sees: the host and the devices the user wants to pass (`--device`, expanded by nothing).
public struct CheckContext: Sendable {
    public let host: HostModel
    public let targets: [PCIAddress]
    public let quirks: [DeviceQuirk]
    /// What the host uses its functions for (`HostNeeds`' facts); without a reader, what the model tells.
    public let usage: HostUsage
    /// The VM spec doctor checks the host against (`--spec`), nil without one.
    public let spec: SpecContext?

    public init(host: HostModel, targets: [PCIAddress], quirks: [DeviceQuirk] = DeviceQuirk.table, usage: HostUsage? = nil,
                spec: SpecContext? = nil) {
        self.host = host
        self.targets = targets
        self.quirks = quirks
        self.usage = usage ?? HostUsage(model: host)
        self.spec = spec
    }

    /// Devices a passthrough decision is about: the `--device` list, or, without one, every device already on
    /// vfio-pci and every display controller that is not the boot display (candidate GPUs).
    public var focusDevices: [PCIDevice] {
        if !targets.isEmpty { return targets.compactMap { host.device($0) } }
        // One device per card: the other functions of a slot come along through the group checks.
        var slots = Set<PCIAddress>()
        return host.devices.filter { $0.isBoundToVFIO || ($0.pciClass.isDisplay && $0.bootVGA != true && !$0.isBridge) }
            .filter { slots.insert($0.address.slot).inserted }
    }

    /// The devices that must go along with `device`: every endpoint of its IOMMU group (bridges excepted).
    public func groupEndpoints(of device: PCIDevice) -> [PCIDevice] {
        host.groupMembers(of: device.address).filter { !$0.isBridge }
    }
}

/// A spec as doctor sees it: the spec, where it came from, and each ROM file it names as read from the host (read
/// by the caller through the host reader, so the checks stay pure).
public struct SpecContext: Sendable {
    public var path: String
    public var spec: VMSpec
    /// Parsed ROM files by path, or why a file could not be read.
    public var roms: [String: Result<OptionROM, FileReadError>]

    public init(path: String, spec: VMSpec, roms: [String: Result<OptionROM, FileReadError>] = [:]) {
        self.path = path
        self.spec = spec
        self.roms = roms
    }
}

/// A doctor check: a stable id (never renumbered), a title, and a pure evaluation over the host model.
public struct Check: Sendable {
    public let id: String
    public let title: String
    public let reference: String?
    private let body: @Sendable (CheckContext) throws -> [Finding]

    public init(id: String, title: String, reference: String? = nil, _ body: @escaping @Sendable (CheckContext) throws -> [Finding]) {
        self.id = id
        self.title = title
        self.reference = reference
        self.body = body
    }

    /// Runs the check; a thrown error becomes a `crashed` finding so one broken check never kills the report.
    public func run(_ context: CheckContext) -> [Finding] {
        do {
            return try body(context).map { finding in
                var f = finding
                f.check = id
                if f.reference == nil { f.reference = reference }
                return f
            }
        } catch {
            return [Finding(check: id, status: .crashed, title: "\(title): the check itself failed",
                            explanation: "vfioctl could not evaluate this check: \(error)",
                            fix: "Report this with a snapshot: vfioctl snapshot -o host.tar.gz")]
        }
    }
}

/// The result of running every check.
public struct DoctorReport: Sendable {
    public var findings: [Finding]

    /// 0 nothing worse than info, 1 warnings (or crashed checks), 2 at least one failure.
    public var exitStatus: Int32 {
        let worst = findings.map(\.status.severity).max() ?? 0
        return worst >= 3 ? 2 : worst == 2 ? 1 : 0
    }

    public func count(_ status: FindingStatus) -> Int { findings.filter { $0.status == status }.count }
}

public enum Doctor {
    public static func run(_ context: CheckContext, checks: [Check] = CheckRegistry.all) -> DoctorReport {
        DoctorReport(findings: checks.flatMap { $0.run(context) })
    }
}

/// Helpers shared by check bodies.
extension PCIDevice {
    var label: String {
        let name = [names.vendor, names.device].compactMap { $0 }.joined(separator: " ")
        let ids = "[\(hex(vendorID, width: 4)):\(hex(deviceID, width: 4))]"
        return "\(address) \(name.isEmpty ? ids : name + " " + ids)"
    }

    var idPair: String { "\(hex(vendorID, width: 4)):\(hex(deviceID, width: 4))" }

    func sysfs(_ attribute: String) -> String { "/sys/bus/pci/devices/\(address)/\(attribute)" }
}
