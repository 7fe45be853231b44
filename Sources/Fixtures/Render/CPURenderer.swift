/// `/proc/cpuinfo`, `sys/devices/system/cpu` (topology, caches, isolation) and `sys/devices/system/node`
/// (Documentation/ABI/stable/sysfs-devices-system-cpu, Documentation/admin-guide/cputopology.rst).
struct CPURenderer {
    let host: HostTree
    var cpu: HostTree.CPU { host.cpu }

    func render(into t: inout FileTree) {
        let all = Array(0..<cpu.logicalCount)
        let list = Format.cpuList(all)
        t.file("proc/cpuinfo", all.map(cpuinfoBlock).joined(separator: "\n") + "\n")
        let base = "sys/devices/system/cpu"
        for name in ["online", "possible", "present"] { t.file("\(base)/\(name)", list + "\n") }
        t.file("\(base)/offline", "\n")
        t.file("\(base)/kernel_max", "8191\n")
        t.file("\(base)/isolated", Format.cpuList(KernelArgs.cpuList(of: "isolcpus", in: host.cmdline)) + "\n")
        t.file("\(base)/nohz_full", nohzFull + "\n")
        t.file("\(base)/smt/active", cpu.threadsPerCore > 1 ? "1\n" : "0\n")
        t.file("\(base)/smt/control", cpu.threadsPerCore > 1 ? "on\n" : "notsupported\n")
        for n in all {
            let dir = "\(base)/cpu\(n)"
            let p = cpu.place(n)
            let siblings = Format.cpuList(cpu.siblings(of: n))
            if n > 0 { t.file("\(dir)/online", "1\n") }
            t.file("\(dir)/topology/core_id", "\(p.core)\n")
            t.file("\(dir)/topology/die_id", "0\n")
            t.file("\(dir)/topology/physical_package_id", "\(p.package)\n")
            t.file("\(dir)/topology/cluster_id", "\(p.package * cpu.coresPerPackage + p.core)\n")
            t.file("\(dir)/topology/thread_siblings_list", siblings + "\n")
            t.file("\(dir)/topology/core_cpus_list", siblings + "\n")
            t.file("\(dir)/topology/thread_siblings", Format.cpuMask(cpu.siblings(of: n), bits: cpu.logicalCount) + "\n")
            t.file("\(dir)/topology/core_siblings_list", Format.cpuList(cpu.cpus(ofPackage: p.package)) + "\n")
            t.file("\(dir)/topology/package_cpus_list", Format.cpuList(cpu.cpus(ofPackage: p.package)) + "\n")
            t.file("\(dir)/topology/die_cpus_list", Format.cpuList(cpu.cpus(ofPackage: p.package)) + "\n")
            let l3 = cpu.l3Group(of: n)
            let caches: [(level: Int, type: String, size: String, shared: [Int], id: Int)] = [
                (1, "Data", "32K", cpu.siblings(of: n), p.core),
                (1, "Instruction", "32K", cpu.siblings(of: n), p.core),
                (2, "Unified", cpu.vendor == .intel ? "256K" : "512K", cpu.siblings(of: n), p.core),
                (3, "Unified", "\(cpu.l3KiBPerGroup)K", cpu.cpus(ofL3Group: l3), l3),
            ]
            for (k, c) in caches.enumerated() {
                let cdir = "\(dir)/cache/index\(k)"
                t.file("\(cdir)/level", "\(c.level)\n")
                t.file("\(cdir)/type", "\(c.type)\n")
                t.file("\(cdir)/size", "\(c.size)\n")
                t.file("\(cdir)/id", "\(c.id)\n")
                t.file("\(cdir)/coherency_line_size", "64\n")
                t.file("\(cdir)/shared_cpu_list", Format.cpuList(c.shared) + "\n")
                t.file("\(cdir)/shared_cpu_map", Format.cpuMask(c.shared, bits: cpu.logicalCount) + "\n")
            }
            t.file("\(dir)/cpufreq/scaling_governor", "schedutil\n")
            t.link("\(dir)/node\(cpu.node(of: n))", to: "sys/devices/system/node/node\(cpu.node(of: n))")
        }
        let nodes = Array(0..<max(1, cpu.numaNodes))
        t.file("sys/devices/system/node/online", Format.cpuList(nodes) + "\n")
        t.file("sys/devices/system/node/possible", Format.cpuList(nodes) + "\n")
        t.file("sys/devices/system/node/has_memory", Format.cpuList(nodes) + "\n")
        for node in nodes {
            let dir = "sys/devices/system/node/node\(node)"
            let cpus = cpu.cpus(ofNode: node)
            t.file("\(dir)/cpulist", Format.cpuList(cpus) + "\n")
            t.file("\(dir)/cpumap", Format.cpuMask(cpus, bits: cpu.logicalCount) + "\n")
            t.file("\(dir)/distance", nodes.map { $0 == node ? "10" : "32" }.joined(separator: " ") + "\n")
        }
    }

    /// `nohz_full=` when given (the kernel ignores it without CONFIG_NO_HZ_FULL; Debian has it).
    var nohzFull: String { Format.cpuList(KernelArgs.cpuList(of: "nohz_full", in: host.cmdline)) }

    private func cpuinfoBlock(_ n: Int) -> String {
        let p = cpu.place(n)
        let intel = cpu.vendor == .intel
        let apic = (p.package * 64) + (p.core * 2) + p.thread
        var lines: [(String, String)] = [
            ("processor", "\(n)"),
            ("vendor_id", intel ? "GenuineIntel" : "AuthenticAMD"),
            ("cpu family", "\(cpu.family)"),
            ("model", "\(cpu.model)"),
            ("model name", cpu.modelName),
            ("stepping", "\(cpu.stepping)"),
            ("microcode", intel ? "0xf8" : "0x8701021"),
            ("cpu MHz", String(format3(cpu.mhz))),
            ("cache size", intel ? "\(cpu.l3KiBPerGroup) KB" : "512 KB"),
            ("physical id", "\(p.package)"),
            ("siblings", "\(cpu.coresPerPackage * cpu.threadsPerCore)"),
            ("core id", "\(p.core)"),
            ("cpu cores", "\(cpu.coresPerPackage)"),
            ("apicid", "\(apic)"),
            ("initial apicid", "\(apic)"),
            ("fpu", "yes"),
            ("fpu_exception", "yes"),
            ("cpuid level", intel ? "22" : "16"),
            ("wp", "yes"),
            ("flags", cpu.effectiveFlags.joined(separator: " ")),
        ]
        if intel && cpu.effectiveFlags.contains("vmx") {
            lines.append(("vmx flags", "vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad ept_1gb flexpriority apicv tsc_offset vtpr mtf vapic ept vpid unrestricted_guest vapic_reg vid ple shadow_vmcs pml ept_mode_based_exec"))
        }
        lines += [
            ("bugs", intel ? "spectre_v1 spectre_v2 spec_store_bypass swapgs itlb_multihit srbds mmio_stale_data retbleed eibrs_pbrsb gds"
                           : "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass retbleed smt_rsb srso"),
            ("bogomips", format2(cpu.mhz * 2)),
            ("clflush size", "64"),
            ("cache_alignment", "64"),
            ("address sizes", intel ? "39 bits physical, 48 bits virtual" : "43 bits physical, 48 bits virtual"),
            ("power management", intel ? "" : "ts ttp tm hwpstate cpb eff_freq_ro [13] [14]"),
        ]
        // Labels are padded with tabs to two tab stops, as arch/x86/kernel/cpu/proc.c writes them.
        return lines.map { key, value in
            // "power management" is 16 characters and gets no tab at all.
            let tabs = key.count >= 16 ? "" : key.count < 8 ? "\t\t" : "\t"
            return value.isEmpty ? "\(key)\(tabs):" : "\(key)\(tabs): \(value)"
        }.joined(separator: "\n") + "\n"
    }

    private func format3(_ v: Double) -> String {
        let milli = Int((v * 1000).rounded())
        let frac = String(milli % 1000)
        return "\(milli / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    private func format2(_ v: Double) -> String {
        let centi = Int((v * 100).rounded())
        let frac = String(centi % 100)
        return "\(centi / 100)." + String(repeating: "0", count: 2 - frac.count) + frac
    }
}
