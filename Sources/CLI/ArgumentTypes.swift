import ArgumentParser
import VFIOCore

// Values parsed where the command line is read: a bad one is a usage error (exit 64) naming the value, printed
// by ArgumentParser with the option's help, before anything touches the host.

extension PCIAddress: ExpressibleByArgument {
    /// `0000:03:00.0` or `03:00.0`.
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
}

extension CPUSet: ExpressibleByArgument {
    /// The kernel's list format (`2-7,10-15`); an empty list names no CPU and is refused.
    public init?(argument: String) {
        guard let set = CPUSet(list: argument), !set.isEmpty else { return nil }
        self = set
    }
    public var defaultValueDescription: String { description }
}

extension LatencyReport.Policy: ExpressibleByArgument, CaseIterable {
    public static var allCases: [LatencyReport.Policy] { [.other, .fifo] }
}

/// A memory size as spec files write it (`16G`, `8192M`, `512MiB`, `1T`), in MiB, capped by `SpecRules`.
struct MemoryArgument: ExpressibleByArgument, Equatable {
    var mib: Int
    init(mib: Int) { self.mib = mib }
    init?(argument: String) {
        guard let mib = MemorySize.parseMiB(argument) else { return nil }
        self.mib = mib
    }
    var defaultValueDescription: String { MemorySize.format(mib: mib) }
}
