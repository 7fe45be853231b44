import Testing
@testable import VFIOCore

/// Malformed host files are named (file and value seen), never guessed or dropped, and host text reaches the
/// terminal escaped.
@Suite struct MalformedHostTests {
    static let gpu = PCIAddress("0000:01:00.0")!
    static let gpuDir = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"

    static func withFile(_ path: String, _ text: String, into tree: MemoryFiles = smallTree()) -> MemoryFiles {
        var t = tree
        t.file(path, text)
        return t
    }

    @Test func garbageClassKeepsTheDeviceListedAndMarked() throws {
        let host = try HostLoader(Self.withFile(Self.gpuDir + "/class", "garbage\n")).load()
        let gpu = try #require(host.device(Self.gpu))
        #expect(gpu.unparsed("class") == UnparsedAttribute(name: "class", path: "/sys/bus/pci/devices/0000:01:00.0/class", seen: "garbage"))
        #expect(host.iommu.group(2)?.devices == [Self.gpu] && gpu.iommuGroup == 2)

        let list = ListRenderer.text(host)
        #expect(list.contains("IOMMU group 2:\n\t0000:01:00.0 Class [????]: Device [10de:21c4] (rev a1)\n"), "\(list)")
        #expect(list.contains("\t\tunreadable class: 'garbage' (/sys/bus/pci/devices/0000:01:00.0/class)\n"), "\(list)")
        #expect(list.contains("warning: /sys/bus/pci/devices/0000:01:00.0/class: expected a 24-bit hex value like 0x000000, read 'garbage'"), "\(list)")

        let json = ListRenderer.deviceJSON(gpu).serialized()
        #expect(json.contains(#""class":null"#) && json.contains(#""unparsedAttributes":[{"attribute":"class","path":"/sys/bus/pci/devices/0000:01:00.0/class","seen":"garbage"}]"#), "\(json)")

        let report = Doctor.run(CheckContext(host: host, targets: [Self.gpu]))
        let readable = try #require(report.findings.first { $0.check == "host.readable" && $0.subjects == [Self.gpu] })
        #expect(readable.status == .warn && readable.evidence.first?.source == "/sys/bus/pci/devices/0000:01:00.0/class")
        #expect(readable.evidence.first?.value.contains("'garbage'") == true)
        let bridge = try #require(report.finding("device.not-bridge"))
        #expect(bridge.status == .warn && bridge.evidence == [Evidence("/sys/bus/pci/devices/0000:01:00.0/class", "garbage")])
        let text = DoctorRenderer.text(report, host: host)
        #expect(text.contains("seen: /sys/bus/pci/devices/0000:01:00.0/class: garbage"), "\(text)")
    }

    @Test func groupMateWithUnreadableClassIsNotTakenForHarmless() throws {
        var t = smallTree()
        let audio = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1"
        t.link("/sys/bus/pci/devices/0000:01:00.1", "../../.." + audio.dropFirst(4))
        t.file(audio + "/vendor", "0x10de\n")
        t.file(audio + "/device", "0x1aeb\n")
        t.file(audio + "/class", "0x04\u{00}03\n")
        t.link(audio + "/iommu_group", "../../../kernel/iommu_groups/2")
        t.link("/sys/kernel/iommu_groups/2/devices/0000:01:00.1", "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.1")
        let host = try HostLoader(t).load()
        let mate = try #require(host.device(PCIAddress("0000:01:00.1")!))
        #expect(!mate.classIsKnown && mate.iommuGroup == 2)
        let finding = try #require(Doctor.run(CheckContext(host: host, targets: [Self.gpu])).finding("device.group-isolation"))
        #expect(finding.status == .warn && finding.subjects.contains(mate.address))
        #expect(finding.evidence.contains(Evidence("/sys/bus/pci/devices/0000:01:00.1/class", "0x04\u{00}03")))
        // The NUL is printed escaped.
        #expect(DoctorRenderer.text(Doctor.run(CheckContext(host: host, targets: [Self.gpu])), host: host).contains("0x04\\x0003"))
    }

    @Test func missingVendorFileKeepsTheDevice() throws {
        var t = smallTree()
        t.files[Self.gpuDir + "/vendor"] = nil
        let host = try HostLoader(t).load()
        let gpu = try #require(host.device(Self.gpu))
        #expect(gpu.unparsed("vendor")?.seen == "(no such file or directory)")
        #expect(host.readProblems.contains { $0.path == "/sys/bus/pci/devices/0000:01:00.0/vendor" })
    }

    @Test func emptyCpuinfoIsUnknownNotNoVirtualization() throws {
        let host = try HostLoader(Self.withFile("/proc/cpuinfo", "")).load()
        #expect(!host.cpu.flagsKnown)
        #expect(host.readProblems.contains { $0.path == "/proc/cpuinfo" && $0.message.contains("empty") })
        let report = Doctor.run(CheckContext(host: host, targets: []))
        let virt = try #require(report.finding("cpu.virtualization"))
        #expect(virt.status == .warn, "an empty file must not fail the host for lacking vmx/svm")
        #expect(virt.evidence.first?.source == "/proc/cpuinfo" && virt.evidence.first?.value.contains("empty") == true)
        #expect(!DoctorRenderer.text(report, host: host).contains("no vmx/svm"))
        #expect(report.finding("cpu.nested-guest")?.status == .warn)
    }

    @Test func cpuinfoWithoutFlagsNamesWhatWasRead() throws {
        let host = try HostLoader(Self.withFile("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n")).load()
        let problem = try #require(host.readProblems.first { $0.path == "/proc/cpuinfo" })
        #expect(problem.message.contains("no 'flags' line") && problem.message.contains("processor"))
    }

    /// Values that used to be dropped or defaulted without a word: each now names its file and the value read.
    @Test(arguments: [
        (Self.gpuDir + "/irq", "eleven"),
        (Self.gpuDir + "/current_link_width", "x16"),
        (Self.gpuDir + "/boot_vga", "2"),
        (Self.gpuDir + "/numa_node", "zero"),
        (Self.gpuDir + "/revision", "0x1ff"),
        ("/proc/irq/0/effective_affinity_list", "zz"),
        ("/proc/irq/default_smp_affinity", "xyz"),
        ("/proc/meminfo", "garbage"),
        ("/sys/kernel/mm/transparent_hugepage/enabled", "always madvise never"),
        ("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "many"),
        ("/sys/module/kvm_intel/parameters/enable_apicv", "maybe"),
        ("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "perhaps"),
        ("/sys/devices/system/cpu/cpu1/topology/core_id", "one"),
        ("/sys/devices/system/cpu/cpu0/cache/index3/level", "L3"),
    ])
    func silentDropsAreNamed(_ path: String, _ value: String) throws {
        var t = Self.withFile(path, value + "\n")
        t.file(Self.gpuDir + "/max_link_speed", "8.0 GT/s PCIe\n")
        let host = try HostLoader(t).load()
        let problem = try #require(host.readProblems.first { $0.path.hasSuffix(path.split(separator: "/").suffix(2).joined(separator: "/")) },
                                   "\(host.readProblems)")
        #expect(problem.message.contains(value), "\(problem)")
    }

    @Test func terminalEscapesFromTheTreeArePrintedEscaped() throws {
        let esc = "\u{1b}]0;pwned\u{07}"
        var t = smallTree()
        t.link(Self.gpuDir + "/driver", "../../../../bus/pci/drivers/nvi\(esc)dia")
        t.file(Self.gpuDir + "/reset_method", "flr\u{1b}[2J bus\n")
        t.file("/etc/modprobe.d/vfio.conf", "options vfio-pci ids=10de:21c4,\(esc)\n")
        let host = try HostLoader(t).load()
        #expect(host.device(Self.gpu)?.driver == "nvi\(esc)dia", "the model keeps the raw value")

        let list = ListRenderer.text(host)
        #expect(!list.contains("\u{1b}") && !list.contains("\u{07}"))
        #expect(list.contains("Kernel driver in use: nvi\\x1b]0;pwned\\x07dia"), "\(list)")

        let report = Doctor.run(CheckContext(host: host, targets: [Self.gpu]))
        let text = DoctorRenderer.text(report, host: host, verbose: true)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(text)")
        #expect(text.contains("seen: /sys/bus/pci/devices/0000:01:00.0/driver: nvi\\x1b]0;pwned\\x07dia"), "\(text)")
        #expect(text.contains("seen: /sys/bus/pci/devices/0000:01:00.0/reset_method: flr\\x1b[2J bus"), "\(text)")
        #expect(text.contains("seen: /etc/modprobe.d/vfio.conf: options vfio-pci ids=10de:21c4,\\x1b]0;pwned\n"), "\(text)")

        let json = DoctorRenderer.json(report).serialized(pretty: true)
        #expect(!json.contains("\u{1b}") && json.contains("nvi\\u001b]0;pwned\\u0007dia"))
    }

    @Test func escapingControlsKeepsPrintableText() {
        #expect(escapingControls("GeForce RTX 3080 — Ærø ✓") == "GeForce RTX 3080 — Ærø ✓")
        #expect(escapingControls("a\u{1b}[31mb\u{7f}c\u{9b}d\te\n") == "a\\x1b[31mb\\x7fc\\x9bd\\x09e\\x0a")
        #expect(escapingControls("x\u{202e}y") == "x\\u{202e}y")
        #expect(escapingControls(#"C:\x1b"#) == #"C:\\x1b"#, "a literal backslash cannot pass for an escape")
        #expect(JSON.string("\u{7f}\u{85}\u{2028}").serialized() == #""\u007f\u0085\u2028""#)
    }
}

/// Parsers fed arbitrary bytes return a value or an error, never trap.
@Suite struct ParserRobustnessTests {
    /// Deterministic pseudo-random inputs (SplitMix64), biased toward the bytes the formats use.
    static func inputs(count: Int, seed: UInt64) -> [[UInt8]] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        let alphabet = Array("0123456789abcdefxC:= -,\t\n[]#\"\\".utf8) + [0x00, 0x1b, 0xff, 0xc3]
        return (0..<count).map { _ in
            let length = Int(next() % 300)
            return (0..<length).map { _ in
                let r = next()
                return r % 4 == 0 ? UInt8(truncatingIfNeeded: r >> 8) : alphabet[Int((r >> 8) % UInt64(alphabet.count))]
            }
        }
    }

    static let handWritten: [String] = [
        "", "\n", "=", "= =x", "\t\t1234\n5678 name\n", "10de  NVIDIA\n\t1f08  TU106\n\t\t1043\n868e x\n",
        "C 0\n\t\n\t\t\n", "CPU0\n0: 99999999999999999999999999 chip\n", "           CPU0\n  0:", "options m =\n",
        "options vfio-pci ids=\n", "softdep\n", "flags\t:\n", "MemTotal: 99999999999999999999999 kB\n", "processor: -1\n",
        "\"unterminated quote", "[", "]", "] [a]", "hugepages-kB",
    ]

    @Test func noParserTrapsOnAnyInput() {
        let texts = Self.handWritten.map { Array($0.utf8) } + Self.inputs(count: 400, seed: 7)
        for bytes in texts {
            let text = String(decoding: bytes, as: UTF8.self)
            _ = ProcParsers.cpuinfo(text)
            _ = ProcParsers.meminfo(text)
            _ = ProcParsers.modules(text)
            _ = try? ProcParsers.interrupts(text)
            _ = ProcParsers.cgroupLayout(mounts: text, hasV2Controllers: false)
            _ = ProcParsers.defaultRouteInterfaces(text)
            _ = ProcParsers.selectedChoice(text)
            _ = ProcParsers.parameterBool(text)
            let cmdline = KernelCommandLine(text)
            _ = cmdline.values("vfio-pci.ids")
            _ = BootChecks.relevant(cmdline.arguments)
            _ = ModprobeDirective.parse(text, file: "/etc/modprobe.d/x.conf").vfioPCIIDs
            _ = PCIIDDatabase(bytes: bytes)
            _ = PCIIDDatabase(bytes: bytes, vendorsOfInterest: [0x10de])
            _ = parseHex(text)
            _ = text.trimmingASCIIWhitespace()
            _ = escapingControls(text)
            _ = PCIAddress(text)
        }
    }

    @Test func configSpaceNeverTraps() {
        // Real headers with the capability pointers and extended headers scribbled over.
        let base = configSpace(vendor: 0x10de, device: 0x1f08, classCode: 0x030000, flr: true, acsControl: 0x1f, serial: true)
        for noise in Self.inputs(count: 300, seed: 11) {
            var bytes = base
            for (i, b) in noise.enumerated() { bytes[(Int(b) &* 31 &+ i * 7) % bytes.count] = b }
            for size in [0, 63, 64, 65, 255, 256, 257, 0x104, 4096] {
                let cut = Array(bytes.prefix(size))
                _ = try? ConfigSpace.capabilities(cut)
                _ = ConfigSpace.serialNumberRange(cut)
                _ = try? ConfigSpace.header(cut)
            }
            _ = try? ConfigSpace.capabilities(noise)
        }
    }

    @Test func interruptCountsTooLargeAreMalformedNotWrapped() {
        #expect(throws: ProcParsers.Malformed.self) {
            try ProcParsers.interrupts("           CPU0\n  0:  99999999999999999999999  IO-APIC 2-edge timer\n")
        }
    }

    @Test func subsystemLineCutAtTheNewlineIsSkipped() {
        let db = PCIIDDatabase(bytes: Array("10de  NVIDIA Corporation\n\t1f08  TU106\n\t\t1043\n868e  x\n".utf8))
        #expect(db.deviceName(0x10de, 0x1f08) == "TU106" && db.subsystems.isEmpty)
    }
}
