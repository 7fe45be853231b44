/// Host-wide checks: modules, memory, CPU layout, boot mode, cgroups, unreadable files (DOMAIN §2.11–2.13).
enum HostChecks {
    static let readable = Check(id: "host.readable", title: "Every host file vfioctl needs is readable") { ctx in
        let problems = ctx.host.readProblems
        guard !problems.isEmpty else { return [Finding(status: .pass, title: "All host files read and parsed")] }
        return problems.map { p in
            Finding(status: .warn, title: "Could not use \(p.path)", subjects: device(of: p.path).map { [$0] } ?? [],
                    evidence: [Evidence(p.path, p.message)],
                    explanation: "Facts from this file are missing from every other check.",
                    fix: p.message.contains("permission denied") ? "Run vfioctl as root." : "Attach a snapshot (vfioctl snapshot -o host.tar.gz) to a bug report.")
        }
    }

    /// The PCI function a problem is about: `/sys/bus/pci/devices/ADDR[/attribute]`.
    static func device(of path: String) -> PCIAddress? {
        let prefix = HostLoader.pciDevicesDir + "/"
        guard path.hasPrefix(prefix) else { return nil }
        return path.dropFirst(prefix.count).split(separator: "/").first.flatMap { PCIAddress(String($0)) }
    }

    static let vfioModules = Check(id: "vfio.modules", title: "VFIO modules available") { ctx in
        let host = ctx.host
        let wanted = ["vfio", "vfio_iommu_type1", "vfio_pci"]
        let present = wanted.filter { host.isModuleLoaded($0) }
        let missing = wanted.filter { !host.isModuleLoaded($0) }
        let ev = Evidence("/proc/modules, /sys/module", present.isEmpty ? "none of \(wanted.joined(separator: ", "))" : present.joined(separator: ", "))
        if missing.isEmpty { return [Finding(status: .pass, title: "vfio, vfio_iommu_type1 and vfio_pci are loaded", evidence: [ev])] }
        return [Finding(status: .info, title: "Not loaded: \(missing.joined(separator: ", "))", evidence: [ev],
                        explanation: "They load on demand; for early binding they must be in the initramfs before the GPU drivers.",
                        fix: "modprobe -a \(missing.joined(separator: " "))")]
    }

    static let hugepages = Check(id: "memory.hugepages", title: "Hugepages for VM memory") { ctx in
        let host = ctx.host
        let pools = host.memory.hugepages.filter { $0.total > 0 }
        let ev = Evidence("/sys/kernel/mm/hugepages", host.memory.hugepages.map { "\($0.sizeKiB)kB: \($0.total)" }.joined(separator: ", ").nonEmpty ?? "no pools")
        guard !pools.isEmpty else {
            return [Finding(status: .info, title: "No hugepages reserved", evidence: [ev],
                            explanation: "VM memory in hugepages cuts TLB misses; reserve them at boot (hugepagesz=1G hugepages=N) or before the VM starts.",
                            fix: "echo N > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages   # N = VM memory in GiB")]
        }
        var findings = [Finding(status: .pass, title: "Hugepages reserved: " + pools.map { "\($0.total) × \($0.sizeKiB >= 1048576 ? "\($0.sizeKiB / 1048576)G" : "\($0.sizeKiB / 1024)M")" }.joined(separator: ", "), evidence: [ev])]
        // The GPU's NUMA node should hold the pages.
        for d in ctx.focusDevices {
            guard let node = d.numaNode, host.cpu.numaNodes.count > 1,
                  let pool = host.cpu.numaNodes.first(where: { $0.id == node })?.hugepages.filter({ $0.total > 0 }), pool.isEmpty else { continue }
            findings.append(Finding(status: .warn, title: "\(d.address) sits on NUMA node \(node), which has no hugepages", subjects: [d.address],
                                    evidence: [Evidence(d.sysfs("numa_node"), "\(node)")],
                                    explanation: "Guest memory on another node than the GPU crosses the interconnect for every DMA.",
                                    fix: "echo N > /sys/devices/system/node/node\(node)/hugepages/hugepages-1048576kB/nr_hugepages"))
        }
        return findings
    }

    static let transparentHugepages = Check(id: "memory.thp", title: "Transparent hugepages") { ctx in
        guard let thp = ctx.host.memory.transparentHugepages else { return [Finding(status: .skipped, title: "Transparent hugepages not shown")] }
        let ev = Evidence("/sys/kernel/mm/transparent_hugepage/enabled", thp)
        if thp == "never" {
            return [Finding(status: .info, title: "Transparent hugepages are off", evidence: [ev],
                            explanation: "Without THP or reserved hugepages, VM memory uses 4 KiB pages.",
                            fix: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled")]
        }
        return [Finding(status: .pass, title: "Transparent hugepages: \(thp)", evidence: [ev])]
    }

    static let isolation = Check(id: "cpu.isolation", title: "Static CPU isolation is consistent") { ctx in
        let host = ctx.host
        let cpu = host.cpu
        let isolated = cpu.isolated, nohz = cpu.nohzFull
        let ev = [Evidence("/sys/devices/system/cpu/isolated", isolated.description.nonEmpty ?? "(none)"),
                  Evidence("/sys/devices/system/cpu/nohz_full", nohz.description.nonEmpty ?? "(none)")]
        if isolated.isEmpty && nohz.isEmpty {
            return [Finding(status: .info, title: "No static isolation (isolcpus/nohz_full)", evidence: ev,
                            explanation: "Fine: vfioctl shield isolates the VM's CPUs at runtime and gives them back afterwards.")]
        }
        var findings: [Finding] = []
        let first = cpu.cores.first ?? CPUSet([0])
        if !isolated.union(nohz).intersection(first).isEmpty {
            findings.append(Finding(status: .warn, title: "The first core (\(first)) is isolated", evidence: ev,
                                    explanation: "CPU 0 and its siblings handle housekeeping (timers, unmovable kernel work); isolating them starves the host.",
                                    fix: "Keep core 0 and its SMT siblings for the host in isolcpus=/nohz_full=/rcu_nocbs=."))
        }
        let split = cpu.cores.filter { core in !core.intersection(isolated).isEmpty && !core.isSubset(of: isolated) }
        if !split.isEmpty {
            findings.append(Finding(status: .warn, title: "isolcpus splits SMT sibling pairs: \(split.map(\.description).joined(separator: " "))", evidence: ev,
                                    explanation: "A host thread on one sibling steals execution resources from the vCPU on the other.",
                                    fix: "Isolate whole cores (both threads): see /sys/devices/system/cpu/cpu*/topology/thread_siblings_list."))
        }
        if !nohz.isEmpty && host.cmdline.value("rcu_nocbs") == nil {
            findings.append(Finding(status: .warn, title: "nohz_full without rcu_nocbs", evidence: ev + [Evidence("/proc/cmdline", "no rcu_nocbs=")],
                                    explanation: "RCU callbacks still run on the tickless CPUs.", fix: "Add rcu_nocbs=\(nohz) to the kernel command line."))
        }
        if !isolated.isEmpty && !nohz.isEmpty && isolated != nohz {
            findings.append(Finding(status: .info, title: "isolcpus (\(isolated)) and nohz_full (\(nohz)) differ", evidence: ev,
                                    explanation: "Usually both name the VM's CPUs."))
        }
        return findings.nonEmptyOr(Finding(status: .pass, title: "Isolated CPUs \(isolated.description.nonEmpty ?? nohz.description) keep core 0 and whole SMT pairs", evidence: ev))
    }

    static let topology = Check(id: "cpu.topology", title: "CPU topology for pinning") { ctx in
        let cpu = ctx.host.cpu
        guard !cpu.logicalCPUs.isEmpty else { return [Finding(status: .skipped, title: "CPU topology not shown")] }
        let l3 = cpu.l3Groups
        var ev = [Evidence("/sys/devices/system/cpu/online", cpu.online.description),
                  Evidence("/sys/devices/system/cpu/cpu*/topology/thread_siblings_list", cpu.cores.map(\.description).joined(separator: " "))]
        if !l3.isEmpty { ev.append(Evidence("/sys/devices/system/cpu/cpu*/cache/index3/shared_cpu_list", l3.map(\.description).joined(separator: " | "))) }
        let text = "\(cpu.logicalCPUs.count) CPUs, \(cpu.cores.count) cores × \(cpu.threadsPerCore) threads, \(max(l3.count, 1)) L3 group\(l3.count == 1 ? "" : "s"), \(max(cpu.numaNodes.count, 1)) NUMA node\(cpu.numaNodes.count > 1 ? "s" : "")"
        return [Finding(status: .info, title: text, evidence: ev,
                        explanation: l3.count > 1 ? "Pin a VM's vCPUs inside one L3 group (CCX) and whole SMT pairs; keep core 0 for the host." : "Pin whole SMT pairs to the VM and keep core 0 for the host.")]
    }

    static let uefi = Check(id: "boot.uefi", title: "Host booted with UEFI") { ctx in
        if ctx.host.uefiBoot { return [Finding(status: .pass, title: "Host booted with UEFI", evidence: [Evidence("/sys/firmware/efi", "present")])] }
        return [Finding(status: .info, title: "Host booted in legacy BIOS mode", evidence: [Evidence("/sys/firmware/efi", "absent")],
                        explanation: "The GPU's ROM may lack a UEFI GOP image in this mode; OVMF guests need one.",
                        fix: "Consider booting the host with UEFI (CSM off).")]
    }

    static let cgroups = Check(id: "cgroup.layout", title: "cgroup layout for CPU shielding") { ctx in
        let layout = ctx.host.cgroup
        let ev = Evidence("/proc/mounts", "cgroup \(layout.rawValue)")
        switch layout {
        case .v2: return [Finding(status: .pass, title: "cgroup v2 at /sys/fs/cgroup", evidence: [ev])]
        case .v1, .hybrid: return [Finding(status: .info, title: "cgroup \(layout.rawValue) layout: shielding uses the v1 cpuset hierarchy", evidence: [ev])]
        case .none: return [Finding(status: .info, title: "No cgroup hierarchy mounted: shielding can move IRQs but not tasks", evidence: [ev],
                                    fix: "mount -t cgroup2 none /sys/fs/cgroup")]
        }
    }
}
