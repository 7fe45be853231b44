/// The CPU as `/proc/cpuinfo` and `/sys/devices/system/cpu` show it.
public struct CPUInfo: Sendable {
    public enum Vendor: String, Sendable { case intel, amd, other }

    public var vendor: Vendor = .other
    public var vendorString: String = ""
    public var modelName: String = ""
    /// `vmx` (Intel VT-x) or `svm` (AMD-V) in the flags.
    public var hasVMX = false
    public var hasSVM = false
    /// `hypervisor` flag: this host is itself a virtual machine.
    public var isVirtualMachine = false
    /// `/proc/cpuinfo` showed a `flags` line. Without one the three flags above are unknown, not false.
    public var flagsKnown = false
    public var logicalCPUs: [LogicalCPU] = []
    public var online: CPUSet = .empty
    /// sysfs: `/sys/devices/system/cpu/isolated` (isolcpus=).
    public var isolated: CPUSet = .empty
    /// sysfs: `/sys/devices/system/cpu/nohz_full`.
    public var nohzFull: CPUSet = .empty
    public var numaNodes: [NUMANode] = []

    public init() {}

    public var hasVirtualization: Bool { hasVMX || hasSVM }

    /// Groups of CPUs sharing an L3 cache (a CCX on Zen), sorted by first CPU.
    public var l3Groups: [CPUSet] {
        var seen = Set<CPUSet>()
        var out: [CPUSet] = []
        for cpu in logicalCPUs {
            if let l3 = cpu.l3Shared, seen.insert(l3).inserted { out.append(l3) }
        }
        return out.sorted { ($0.cpus.first ?? 0) < ($1.cpus.first ?? 0) }
    }

    /// Sets of SMT siblings (one per physical core), sorted by first CPU.
    public var cores: [CPUSet] {
        var seen = Set<CPUSet>()
        var out: [CPUSet] = []
        for cpu in logicalCPUs {
            let siblings = cpu.threadSiblings.isEmpty ? CPUSet([cpu.id]) : cpu.threadSiblings
            if seen.insert(siblings).inserted { out.append(siblings) }
        }
        return out.sorted { ($0.cpus.first ?? 0) < ($1.cpus.first ?? 0) }
    }

    public var packages: Set<Int> { Set(logicalCPUs.map(\.packageID)) }
    public var threadsPerCore: Int { cores.map(\.count).max() ?? 1 }
}

public struct LogicalCPU: Sendable, Equatable {
    public var id: Int
    public var coreID: Int
    public var packageID: Int
    public var dieID: Int
    /// sysfs: `topology/thread_siblings_list`.
    public var threadSiblings: CPUSet
    /// sysfs: `cache/indexK/shared_cpu_list` of the level-3 unified cache.
    public var l3Shared: CPUSet?
    public var node: Int?
}

public struct NUMANode: Sendable, Equatable {
    public var id: Int
    public var cpus: CPUSet
    public var hugepages: [HugePagePool]
}

/// KVM module state (`/dev/kvm`, `/sys/module/kvm_intel` or `kvm_amd` parameters).
public struct KVMState: Sendable {
    public var deviceNode = false
    public var module: String?
    /// `enable_apicv` (Intel) or `avic` (AMD).
    public var apicVirtualization: Bool?
    public var nested: Bool?
    public init() {}
}
