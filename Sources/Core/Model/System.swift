/// Memory: `/proc/meminfo`, hugepage pools and transparent hugepages.
public struct MemoryState: Sendable {
    public var totalKiB: Int?
    public var availableKiB: Int?
    public var hugepages: [HugePagePool] = []
    /// The selected value of `transparent_hugepage/enabled` ("always", "madvise", "never").
    public var transparentHugepages: String?
    public var transparentHugepagesDefrag: String?
    public init() {}
}

public struct HugePagePool: Sendable, Equatable {
    public var sizeKiB: Int
    public var total: Int
    public var free: Int?
    public var node: Int?
}

/// One row of `/proc/interrupts` joined with `/proc/irq/N/*_affinity_list`.
public struct IRQ: Sendable, Equatable {
    /// Numeric IRQs have a number; rows such as NMI/LOC carry only a name.
    public var number: Int?
    public var name: String
    public var countsPerCPU: [Int]
    public var chip: String
    public var actions: String
    public var affinity: CPUSet?
    public var effectiveAffinity: CPUSet?
}

/// The kernel command line, split like the kernel does (quotes group).
public struct KernelCommandLine: Sendable, Equatable {
    public var raw: String
    public var arguments: [String]

    public init(_ raw: String) {
        self.raw = raw
        var args: [String] = []
        var current = ""
        var quoted = false
        for ch in raw {
            if ch == "\"" { quoted.toggle(); continue }
            if (ch == " " || ch == "\n" || ch == "\t") && !quoted {
                if !current.isEmpty { args.append(current); current = "" }
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { args.append(current) }
        self.arguments = args
    }

    /// Values of `key=value` arguments (last one wins in the kernel; all are returned, in order).
    public func values(_ key: String) -> [String] {
        arguments.compactMap { arg in
            guard arg.hasPrefix(key + "=") else { return nil }
            return String(arg.dropFirst(key.count + 1))
        }
    }

    public func value(_ key: String) -> String? { values(key).last }
    public func has(_ flag: String) -> Bool { arguments.contains(flag) || !values(flag).isEmpty }
}

public enum CgroupLayout: String, Sendable {
    case v2 = "v2"
    case v1 = "v1"
    case hybrid = "hybrid"
    case none = "none"
}

public struct NetworkInterface: Sendable, Equatable {
    public var name: String
    public var device: PCIAddress?
    public var operstate: String?
    public var hasDefaultRoute: Bool
}

public struct BlockDevice: Sendable, Equatable {
    public var name: String
    public var device: PCIAddress?
}
