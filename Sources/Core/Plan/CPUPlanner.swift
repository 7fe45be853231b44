/// Where each vCPU runs. Rules (DOMAIN §3): whole SMT sibling sets, inside one L3 group where possible, on the
/// GPU's NUMA node, never the first core (it and its siblings stay with the host); emulator and iothreads on the
/// housekeeping core.
public struct CPUPlan: Sendable, Equatable {
    public var pin: [Int]
    /// Host cores (SMT sibling sets) given to the VM, in vCPU order.
    public var cores: [CPUSet]
    public var emulator: CPUSet
    /// Every online CPU the VM does not use.
    public var housekeeping: CPUSet
    public var threads: Int
    /// Why the plan looks as it does.
    public var reasons: [String]
    /// Where the request could not follow a rule, and what that costs.
    public var tradeOffs: [String]
}

public struct PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

public enum CPUPlanner {
    public static func plan(cpu: CPUInfo, vcpus: Int, node: Int?) throws(PlanError) -> CPUPlan {
        guard SpecRules.vcpus.contains(vcpus) else {
            throw PlanError("\(vcpus) vCPUs: ask for \(SpecRules.vcpus.lowerBound)…\(SpecRules.vcpus.upperBound)")
        }
        // A core with no CPUs (a torn snapshot) would leave nothing to pin; the rest index cpus[0] freely.
        let cores = cpu.cores.filter { !$0.isEmpty }
        guard let housekeepingCore = cores.first else {
            throw PlanError("no CPU topology on this host (/sys/devices/system/cpu/cpuN/topology missing)")
        }
        let byID = Dictionary(cpu.logicalCPUs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func first(_ core: CPUSet) -> LogicalCPU? { core.cpus.first.flatMap { byID[$0] } }
        let threads = housekeepingCore.count
        let free = Array(cores.dropFirst())
        let need = (vcpus + threads - 1) / threads
        var reasons: [String] = []
        var tradeOffs: [String] = []

        reasons.append("core \(describe(housekeepingCore)) stays with the host (CPU \(housekeepingCore.cpus[0]) takes boot-time and unbound work), with its SMT sibling\(threads > 1 ? "s" : "")")
        guard free.count >= need else {
            throw PlanError("\(vcpus) vCPUs need \(need) cores of \(threads) thread\(threads == 1 ? "" : "s") but this host has \(free.count) after keeping core \(describe(housekeepingCore)) for itself; ask for at most \(free.count * threads) vCPUs")
        }
        if vcpus % threads != 0 {
            tradeOffs.append("\(vcpus) vCPUs is not a multiple of \(threads) threads per core: one host core is half used and its idle sibling still competes with the VM; \(need * threads) vCPUs would use it fully")
        }

        // NUMA: prefer the GPU's node.
        var pool = free
        let multiNode = cpu.numaNodes.count > 1
        if multiNode, let node {
            let onNode = free.filter { first($0)?.node == node }
            if onNode.count >= need {
                pool = onNode
                reasons.append("all vCPUs on NUMA node \(node), where the GPU and the guest memory are")
            } else {
                let others = free.filter { first($0)?.node != node }
                pool = onNode + others
                tradeOffs.append("node \(node) (the GPU's) has \(onNode.count) free cores for \(need) needed: \(need - onNode.count) core\(need - onNode.count == 1 ? "" : "s") come from another node, so those vCPUs reach the GPU and guest memory across the interconnect")
            }
        }

        // L3 groups within the pool, in CPU order; CPUs without cache data form one group.
        var groups: [(l3: CPUSet?, cores: [CPUSet])] = []
        for core in pool {
            let l3 = first(core)?.l3Shared
            if let i = groups.firstIndex(where: { $0.l3 == l3 }) { groups[i].cores.append(core) } else { groups.append((l3, [core])) }
        }
        let hkL3 = first(housekeepingCore)?.l3Shared
        var chosen: [CPUSet] = []
        let fitting = groups.filter { $0.cores.count >= need }
        if let best = fitting.min(by: { a, b in
            if a.cores.count != b.cores.count { return a.cores.count < b.cores.count }
            return (a.l3 != hkL3 ? 0 : 1) < (b.l3 != hkL3 ? 0 : 1)
        }) {
            chosen = Array(best.cores.prefix(need))
            if let l3 = best.l3, cpu.l3Groups.count > 1 {
                reasons.append("all vCPUs share one L3 cache (CPUs \(l3)), so the guest never pays for cross-CCX cache traffic")
            } else if let l3 = best.l3 {
                reasons.append("all host cores share one L3 cache (CPUs \(l3))")
            }
        } else {
            let largest = groups.map(\.cores.count).max() ?? 0
            for g in groups.sorted(by: { $0.cores.count > $1.cores.count }) where chosen.count < need {
                chosen += g.cores.prefix(need - chosen.count)
            }
            tradeOffs.append("\(vcpus) vCPUs need \(need) cores but the largest L3 group has \(largest) free: the VM spans \(Set(chosen.map { first($0)?.l3Shared }).count) L3 groups; guest threads that share data across them pay for cache misses (fewer vCPUs would fit one group)")
        }
        chosen.sort { $0.cpus[0] < $1.cpus[0] }

        var pin: [Int] = []
        for core in chosen { for c in core.cpus where pin.count < vcpus { pin.append(c) } }
        if threads > 1 {
            reasons.append("vCPUs come in whole SMT sibling sets, so each guest core is one real host core")
        }
        // A second thread on a vCPU's CPU takes half of it (PinningRules): the steps above never do that; a change
        // to them that did fails here rather than in a guest.
        if let shared = PinningRules.conflicts(pin: pin, emulator: housekeepingCore).first {
            throw PlanError("planned pinning is wrong: \(shared)")
        }
        let vm = CPUSet(pin)
        let online = cpu.online.isEmpty ? CPUSet(cpu.logicalCPUs.map(\.id)) : cpu.online
        return CPUPlan(pin: pin, cores: chosen, emulator: housekeepingCore, housekeeping: online.subtracting(vm),
                       threads: vcpus % threads == 0 ? threads : 1, reasons: reasons, tradeOffs: tradeOffs)
    }

    static func describe(_ core: CPUSet) -> String { "{\(core.cpus.map(String.init).joined(separator: ","))}" }
}
