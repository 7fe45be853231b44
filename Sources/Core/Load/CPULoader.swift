/// Reads `/proc/cpuinfo` and `/sys/devices/system/{cpu,node}`.
struct CPULoader {
    let files: any HostFileReader
    static let cpuDir = "/sys/devices/system/cpu"

    func load(problems: inout Problems) -> CPUInfo {
        let loader = HostLoader(files)
        var cpu = CPUInfo()
        let cpuinfoText = loader.text("/proc/cpuinfo", &problems)
        let info = ProcParsers.cpuinfo(cpuinfoText ?? "")
        cpu.vendorString = info.vendorID
        cpu.vendor = info.vendorID == "GenuineIntel" ? .intel : info.vendorID == "AuthenticAMD" ? .amd : .other
        cpu.modelName = info.modelName
        // No flags line (an empty or cut file) says nothing about vmx/svm: unknown, and named, never "absent".
        if let flags = info.flags {
            cpu.flagsKnown = true
            cpu.hasVMX = flags.contains("vmx")
            cpu.hasSVM = flags.contains("svm")
            cpu.isVirtualMachine = flags.contains("hypervisor")
        } else if let text = cpuinfoText {
            problems.add("/proc/cpuinfo", text.isEmpty ? "empty: no 'flags' line, so CPU virtualization (vmx/svm) is unknown"
                : "no 'flags' line, so CPU virtualization (vmx/svm) is unknown; read '\(HostLoader.excerpt(text))'")
        }

        cpu.online = cpuSet("\(Self.cpuDir)/online", &problems) ?? CPUSet(info.processors)
        cpu.isolated = cpuSet("\(Self.cpuDir)/isolated", &problems) ?? .empty
        cpu.nohzFull = cpuSet("\(Self.cpuDir)/nohz_full", &problems) ?? .empty

        for node in loader.list("/sys/devices/system/node", &problems) where node.hasPrefix("node") {
            guard let id = Int(node.dropFirst(4)), id >= 0 else {
                problems.add("/sys/devices/system/node/\(node)", "not a NUMA node number")
                continue
            }
            let base = "/sys/devices/system/node/\(node)"
            cpu.numaNodes.append(NUMANode(id: id, cpus: cpuSet("\(base)/cpulist", &problems) ?? .empty,
                                          hugepages: loader.hugepagePools(under: "\(base)/hugepages", node: id, &problems)))
        }
        cpu.numaNodes.sort { $0.id < $1.id }

        for id in cpu.online {
            let base = "\(Self.cpuDir)/cpu\(id)"
            // A missing topology file (old kernels, containers) falls back to one core per CPU; one that is
            // there but unparsable is recorded, then falls back the same way.
            func int(_ name: String) -> Int? {
                let path = "\(base)/topology/\(name)"
                guard let text = loader.optionalText(path, &problems) else { return nil }
                guard let n = Int(text) else {
                    problems.add(path, "not a number: '\(text)'")
                    return nil
                }
                return n
            }
            var logical = LogicalCPU(id: id, coreID: int("core_id") ?? id, packageID: int("physical_package_id") ?? 0,
                                     dieID: int("die_id") ?? 0,
                                     threadSiblings: cpuSet("\(base)/topology/thread_siblings_list", &problems) ?? CPUSet([id]),
                                     l3Shared: nil, node: cpu.numaNodes.first { $0.cpus.contains(id) }?.id)
            for index in loader.list("\(base)/cache", &problems) where index.hasPrefix("index") {
                let dir = "\(base)/cache/\(index)"
                guard let level = loader.optionalText("\(dir)/level", &problems) else { continue }
                guard let n = Int(level) else {
                    problems.add("\(dir)/level", "not a cache level: '\(level)'")
                    continue
                }
                if n == 3 { logical.l3Shared = cpuSet("\(dir)/shared_cpu_list", &problems) }
            }
            cpu.logicalCPUs.append(logical)
        }
        return cpu
    }

    private func cpuSet(_ path: String, _ problems: inout Problems) -> CPUSet? {
        guard let text = HostLoader(files).optionalText(path, &problems) else { return nil }
        // Kernels without NO_HZ_FULL print "(null)" in nohz_full: no CPUs.
        if text == "(null)" { return .empty }
        guard let set = CPUSet(list: text) else {
            problems.add(path, "not a CPU list: '\(text)'")
            return nil
        }
        return set
    }
}
