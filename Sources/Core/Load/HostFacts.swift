/// What a command reads of the host, beyond the inventory `LoadScope` already names.
public struct FactScope: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The PCI inventory and IOMMU facts (`HostModel`), as deep as `model` in `HostFacts.load` asks.
    public static let model = FactScope(rawValue: 1 << 0)
    /// What the host uses its functions for (`HostUsage`): doctor, init, plan.
    public static let usage = FactScope(rawValue: 1 << 1)
    /// `BindFacts`: consoles, framebuffers, the display manager, drivers' modules (implies `model` and `usage`).
    public static let bind = FactScope(rawValue: 1 << 2)
    /// `ShieldHostState` as a shield plan needs it: cpusets, the tasks, IRQ affinities, housekeeping cpumasks.
    public static let shield = FactScope(rawValue: 1 << 3)
    /// Everything `shield --status` reports on top: every task's affinity and cgroup, effective IRQ affinities.
    public static let shieldStatus = FactScope(rawValue: 1 << 4)
    /// The boot configuration (`BootFiles`): `setup`, `define`.
    public static let boot = FactScope(rawValue: 1 << 5)
    /// The OVMF builds present (`FirmwareFiles`): `init`.
    public static let firmware = FactScope(rawValue: 1 << 6)
    /// The files a spec names (`SpecFiles`): `plan`, `doctor --spec`; needs the spec.
    public static let specFiles = FactScope(rawValue: 1 << 7)
    /// The read set of every command: what `snapshot` records.
    public static let all: FactScope = [.model, .usage, .bind, .shield, .shieldStatus, .boot, .firmware, .specFiles]
}

/// Every fact a command plans on, read in one place. Planners and checks take these values, never a reader, so a
/// snapshot that records this load replays every command's dry run.
public struct HostFacts: Sendable {
    /// The inventory, or why the root holds none (a bare /etc tree is enough for `setup`).
    public var model: Result<HostModel, HostLoadError>?
    public var usage: HostUsage?
    public var bind: BindFacts?
    /// A host without a cpuset controller (or CPU list) gives the error shield reports.
    public var shield: Result<ShieldHostState, ShieldError>?
    public var boot: BootFiles?
    public var firmware: FirmwareFiles?
    public var specFiles: SpecFiles?

    public init() {}

    /// - Parameters:
    ///   - model: how deep the inventory goes (`.all` for doctor and snapshot).
    ///   - groupsOf: read only these functions and their IOMMU groups (a bind needs no more).
    ///   - spec: the spec whose named files `.specFiles` reads.
    ///   - affinity: the kernel's answer for a task's allowed CPUs on the real host (shield).
    /// Never throws: each part keeps its own failure, for the command that needs that part to report.
    public static func load(_ files: any HostFileReader, scope: FactScope, model: LoadScope = .all, groupsOf: [PCIAddress]? = nil,
                            spec: VMSpec? = nil, affinity: (@Sendable (Int) -> CPUSet?)? = nil) -> HostFacts {
        var facts = HostFacts()
        if !scope.isDisjoint(with: [.model, .bind]) {
            do { facts.model = .success(try HostLoader(files).load(model, groupsOf: groupsOf)) } catch { facts.model = .failure(error) }
        }
        if !scope.isDisjoint(with: [.usage, .bind]) { facts.usage = HostUsage.load(files) }
        if scope.contains(.bind), let host = facts.host { facts.bind = BindFacts.load(files, host: host, usage: facts.usage) }
        if !scope.isDisjoint(with: [.shield, .shieldStatus]) {
            let loader = ShieldLoader(files, affinity: affinity)
            do { facts.shield = .success(try loader.load(forStatus: scope.contains(.shieldStatus))) } catch { facts.shield = .failure(error) }
        }
        if scope.contains(.boot) { facts.boot = BootFiles.load(files) }
        if scope.contains(.firmware) { facts.firmware = FirmwareFiles.load(files) }
        if scope.contains(.specFiles), let spec { facts.specFiles = SpecFiles.load(files, spec: spec) }
        return facts
    }

    /// The inventory, when it was read.
    public var host: HostModel? {
        get { try? model?.get() }
        set { model = newValue.map { .success($0) } }
    }

    /// The inventory, or why there is none.
    public func hostModel() throws(HostLoadError) -> HostModel {
        guard let model else { throw HostLoadError(description: "the PCI inventory was not read (scope without .model)") }
        return try model.get()
    }

    /// The shield facts, or why shielding cannot be planned here.
    public func shieldState() throws(ShieldError) -> ShieldHostState {
        guard let shield else { throw ShieldError("the cpuset facts were not read (scope without .shield)") }
        return try shield.get()
    }

    /// The usage facts, or what the inventory alone tells when they were not read.
    public var hostUsage: HostUsage { usage ?? host.map { HostUsage(model: $0) } ?? HostUsage() }
}
