extension HostTree {
    /// The CPU package(s): `/proc/cpuinfo`, `sys/devices/system/cpu`, NUMA nodes.
    ///
    /// Logical CPUs are numbered as Linux does on x86: first thread of every core (package by package), then the
    /// second threads, so `thread_siblings_list` of cpu0 on a 10-core part is `0,10`.
    public struct CPU: Sendable, Equatable {
        public enum Vendor: Sendable { case intel, amd }

        public var vendor: Vendor
        public var modelName: String
        public var packages: Int
        public var coresPerPackage: Int
        public var threadsPerCore: Int
        /// L3 domains per package (CCX/CCD on AMD); cores are split evenly.
        public var l3Groups: Int
        public var numaNodes: Int
        /// Flags in `/proc/cpuinfo`; nil gives a typical set with `vmx` or `svm`.
        public var flags: [String]?
        /// Adds the `hypervisor` flag: the host is itself a guest.
        public var hypervisor: Bool
        public var family: Int
        public var model: Int
        public var stepping: Int
        public var mhz: Double
        public var l3KiBPerGroup: Int

        public init(vendor: Vendor = .intel, modelName: String? = nil, packages: Int = 1, coresPerPackage: Int = 2,
                    threadsPerCore: Int = 2, l3Groups: Int = 1, numaNodes: Int = 1, flags: [String]? = nil,
                    hypervisor: Bool = false, family: Int? = nil, model: Int? = nil, stepping: Int? = nil,
                    mhz: Double = 3700, l3KiBPerGroup: Int? = nil) {
            self.vendor = vendor
            self.modelName = modelName ?? (vendor == .intel ? "Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz"
                                                           : "AMD Ryzen 5 3600 6-Core Processor")
            self.packages = packages
            self.coresPerPackage = coresPerPackage
            self.threadsPerCore = threadsPerCore
            self.l3Groups = l3Groups
            self.numaNodes = numaNodes
            self.flags = flags
            self.hypervisor = hypervisor
            self.family = family ?? (vendor == .intel ? 6 : 23)
            self.model = model ?? (vendor == .intel ? 165 : 113)
            self.stepping = stepping ?? (vendor == .intel ? 5 : 0)
            self.mhz = mhz
            self.l3KiBPerGroup = l3KiBPerGroup ?? (vendor == .intel ? 2048 * coresPerPackage / max(1, l3Groups) : 16384)
        }

        public var logicalCount: Int { packages * coresPerPackage * threadsPerCore }
        var coreCount: Int { packages * coresPerPackage }

        /// Logical CPU number of (package, core, thread).
        func cpu(package: Int, core: Int, thread: Int) -> Int {
            thread * coreCount + package * coresPerPackage + core
        }

        func place(_ cpu: Int) -> (package: Int, core: Int, thread: Int) {
            let thread = cpu / coreCount
            let rest = cpu % coreCount
            return (rest / coresPerPackage, rest % coresPerPackage, thread)
        }

        func siblings(of cpu: Int) -> [Int] {
            let p = place(cpu)
            return (0..<threadsPerCore).map { self.cpu(package: p.package, core: p.core, thread: $0) }
        }

        func cpus(ofPackage package: Int) -> [Int] {
            (0..<coresPerPackage).flatMap { core in
                (0..<threadsPerCore).map { cpu(package: package, core: core, thread: $0) }
            }.sorted()
        }

        func l3Group(of cpu: Int) -> Int {
            let p = place(cpu)
            let perGroup = max(1, coresPerPackage / max(1, l3Groups))
            return p.package * l3Groups + min(l3Groups - 1, p.core / perGroup)
        }

        func cpus(ofL3Group group: Int) -> [Int] {
            (0..<logicalCount).filter { l3Group(of: $0) == group }
        }

        /// NUMA node of a CPU: packages split over nodes, or one package split into nodes (NPS/SNC).
        func node(of cpu: Int) -> Int {
            let p = place(cpu)
            let global = p.package * coresPerPackage + p.core
            let perNode = max(1, coreCount / max(1, numaNodes))
            return min(numaNodes - 1, global / perNode)
        }

        func cpus(ofNode node: Int) -> [Int] {
            (0..<logicalCount).filter { self.node(of: $0) == node }
        }

        var effectiveFlags: [String] {
            var f = flags ?? (vendor == .intel ? Self.intelFlags : Self.amdFlags)
            if hypervisor && !f.contains("hypervisor") { f.append("hypervisor") }
            return f
        }

        static let intelFlags = """
            fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse \
            sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl \
            xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg \
            fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand \
            lahf_lm abm 3dnowprefetch cpuid_fault epb invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced \
            tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx \
            rdseed adx smap clflushopt intel_pt xsaveopt xsavec xgetbv1 xsaves dtherm ida arat pln pts hwp \
            hwp_notify hwp_act_window hwp_epp pku ospke md_clear flush_l1d arch_capabilities
            """.split(separator: " ").map(String.init)

        static let amdFlags = """
            fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht \
            syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid \
            extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave \
            avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw \
            ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate \
            ssbd mba ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 cqm rdt_a rdseed adx smap clflushopt clwb \
            sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local clzero irperf \
            xsaveerptr rdpru wbnoinvd arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid \
            decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip rdpid overflow_recov \
            succor smca sev sev_es
            """.split(separator: " ").map(String.init)
    }
}
