import Testing
@testable import VFIOCore

@Suite struct GeneratorTests {
    func page(_ hostPath: String, spec: VMSpec? = nil, latency: [LatencySeries] = [], edit: (inout HostModel) -> Void = { _ in }) throws -> String {
        var host = try Repo.load(hostPath)
        edit(&host)
        return ReportPage.render(ReportInput.make(host: host, source: hostPath, spec: spec, latency: latency))
    }

    @Test func hostStringsAreEscaped() throws {
        let html = try page("examples/hosts/z490-three-gpus") { host in
            host.devices[1].driver = "<script>alert(1)</script>"
            host.devices[2].names.device = "A&B \"quoted\" <b>bold</b> 'x'"
            host.cmdline = KernelCommandLine("quiet <img src=x onerror=alert(2)>")
            host.cpu.modelName = "</title><script>alert(3)</script>"
        }
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img src=x"))
        #expect(!html.contains("<b>bold"))
        #expect(html.contains("[&lt;script&gt;alert(1)&lt;/script&gt;]"))
        #expect(html.contains("A&amp;B &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt; &#39;x&#39;"))
        #expect(html.contains("quiet &lt;img src=x onerror=alert(2)&gt;"))
        // Only the page's own script element.
        #expect(html.components(separatedBy: "<script").count == 2)
    }

    @Test func escapeCoversEveryMarkupCharacter() {
        #expect(HTML.escape("<a href=\"x\" title='y'>&</a>") == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
        #expect(HTML.escape("bell\u{7}") == "bell\u{FFFD}")
    }

    @Test(arguments: ["examples/hosts/z490-three-gpus", "examples/hosts/iommu-off", "examples/hosts/ryzen-chipset-gpu"])
    func everySectionIsPresentAndNothingIsFetched(host: String) throws {
        let html = try page(host)
        for id in ["tree", "slots", "cpu", "doctor", "latency"] { #expect(html.contains("<section id=\"\(id)\">"), "section \(id)") }
        #expect(html.contains("<svg id=\"pcie\""))
        #expect(html.contains("<svg id=\"cpumap\""))
        // Self-contained: no external scripts, styles, images or frames.
        for pattern in [" src=", "<link", "@import", "url("] { #expect(!html.contains(pattern), "\(pattern)") }
    }

    @Test func devicesCarryDoctorsVerdicts() throws {
        let html = try page("examples/hosts/z490-three-gpus")
        #expect(html.contains("id=\"d-0000-06-00-0\" class=\"d v-alone gpu\" data-g=\"11\""))    // RTX 2060, own group
        #expect(html.contains("id=\"d-0000-01-00-0\" class=\"d v-group gpu\" data-g=\"1\""))     // shares with the RX 5700 XT
        #expect(html.contains("id=\"d-0000-00-01-0\" class=\"d v-bridge\""))
        #expect(html.contains("class=\"d v-alone gpu boot hc\""))                                   // 00:02.0, the console (passable with the handoff)
        let ryzen = try page("examples/hosts/ryzen-chipset-gpu")
        let host = try Repo.load("examples/hosts/ryzen-chipset-gpu")
        let gtx = try #require(host.devices.first { $0.pciClass.isDisplay && $0.driver == "vfio-pci" })
        #expect(doctorVerdict(host, gtx) == "blocked")
        #expect(ryzen.contains("id=\"d-\(HTML.token(gtx.address))\" class=\"d v-blocked gpu\""))
    }

    @Test func slotAdvisorNamesIsolatedPortsAndTheCostOfTheOverride() throws {
        let host = try Repo.load("examples/hosts/z490-three-gpus")
        let input = ReportInput.make(host: host, source: "z490")
        let ports = SlotAdvice.ports(host)
        let byPort = Dictionary(uniqueKeysWithValues: ports.map { ($0.port.description, $0) })
        // The CPU PEG ports have no ACS and share group 1; the chipset ports and the PLX downstream ports isolate.
        #expect(byPort["0000:00:01.0"]?.isolated == false)
        #expect(byPort["0000:00:01.1"]?.acs == "none")
        #expect(byPort["0000:00:1c.0"]?.isolated == true)
        #expect(byPort["0000:08:08.0"]?.isolated == true)
        // The Navi card's own one-port switch is not a slot of the board, nor is the root port leading to the
        // PLX switch whose downstream ports are.
        #expect(byPort["0000:03:00.0"] == nil)
        #expect(byPort["0000:00:1d.0"] == nil)
        #expect(Set(byPort.keys) == ["0000:00:01.0", "0000:00:01.1", "0000:00:1b.0", "0000:00:1c.0", "0000:08:08.0", "0000:08:10.0"])
        let advice = SlotAdvice.advise(input, ports: ports)
        let gtx = try #require(advice.first { $0.device.description == "0000:01:00.0" })
        #expect(gtx.verdict == .group && gtx.currentPort?.description == "0000:00:01.0")
        #expect(gtx.isolatedElsewhere.map(\.description).contains("0000:00:1c.0"))
        #expect(gtx.acsOverride.contains("would split group 1"))
        #expect(gtx.acsOverride.contains("0000:04:00.0"))
        let rtx = try #require(advice.first { $0.device.description == "0000:06:00.0" })
        #expect(rtx.acsOverride.hasPrefix("Not needed"))
        let igpu = try #require(advice.first { $0.device.description == "0000:00:02.0" })
        #expect(igpu.currentPort == nil && igpu.isolatedElsewhere.isEmpty)
    }

    @Test func deviceFocusNarrowsTheAdvisorAndDoctor() throws {
        let host = try Repo.load("examples/hosts/z490-three-gpus")
        let nvme = try #require(PCIAddress("0000:05:00.0"))
        let input = ReportInput.make(host: host, source: "z490", focus: [nvme])
        #expect(SlotAdvice.targets(input) == [nvme])
        #expect(input.doctor.findings.contains { $0.check == "device.group-isolation" && $0.subjects.first == nvme && $0.status == .pass })
        let html = ReportPage.render(input)
        #expect(html.contains("(for 0000:05:00.0)"))
        #expect(!html.contains("<h3><a href=\"#d-0000-06-00-0\">"))
    }

    @Test func cpuMapDrawsTheSpec() throws {
        var spec = VMSpec(name: "vm", vcpus: 4, memoryMiB: 8192)
        spec.cpu.pin = [1, 11, 2, 12]
        spec.cpu.emulator = CPUSet([0, 10])
        spec.hugepages = .size2M
        let html = try page("examples/hosts/z490-three-gpus", spec: spec)
        #expect(html.contains("<g class=\"t pin sh\" data-cpu=\"11\">"))
        #expect(html.contains("<g class=\"t emu\" data-cpu=\"10\">"))
        #expect(html.contains(">v1</text>"))
        #expect(html.contains("<g class=\"t\" data-cpu=\"5\">"))
        #expect(html.contains("8192×2 MiB"))
        #expect(html.contains("4096 pages needed"))
    }

    func series(_ label: String, p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64) -> LatencySeries {
        let buckets = LatencyReport.logBuckets(max: max) { r in r.upperBound < p50 ? 0 : r.lowerBound > max ? 0 : 10 }
        return LatencySeries(label: label, report: LatencyReport(cpu: 3, policy: .other, periodNs: 1_000_000, durationNs: 10_000_000_000,
                                                                 samples: 10_000, p50: p50, p99: p99, p999: p999, max: max, min: 900,
                                                                 buckets: buckets, disturbances: CPUDisturbances()))
    }

    @Test func latencyRunsShareOneLogAxis() throws {
        let before = series("unshielded", p50: 55_000, p99: 900_000, p999: 2_700_000, max: 4_100_000)
        let after = series("shielded", p50: 52_000, p99: 70_000, p999: 83_000, max: 120_000)
        let axis = LatencySVG.axis([before, after])
        #expect(axis.lo == 2 && axis.hi == 7)   // 100 ns (the < 1 µs bucket) to 10 ms
        let svg = LatencySVG.render([before, after])
        for label in ["1 µs", "10 µs", "100 µs", "1 ms", "10 ms"] { #expect(svg.contains(">\(label)</text>"), "\(label)") }
        #expect(svg.contains(">p99.9 2.7 ms</text>"))
        #expect(svg.contains(">p99.9 83 µs</text>"))
        #expect(svg.contains(">max 120 µs</text>"))
        // Positions follow the log scale: 1 ms sits 4/5 of the way from 100 ns to 10 ms.
        let x1ms = LatencySVG.x(1_000_000, axis)
        #expect(abs(x1ms - (Double(LatencySVG.plotLeft) + 0.8 * Double(LatencySVG.plotRight - LatencySVG.plotLeft))) < 0.5)
        #expect(LatencySVG.x(83_000, axis) < LatencySVG.x(2_700_000, axis))
        let html = try page("examples/hosts/z490-three-gpus", latency: [before, after])
        #expect(html.contains("<svg id=\"latency\""))
        #expect(html.contains("<td>10000</td><td>55 µs</td><td>900 µs</td><td>2.7 ms</td><td>4.1 ms</td>"))
    }

    @Test func log10IsAccurateEnoughToPlaceMarks() {
        for (x, expected) in [(1.0, 0.0), (10.0, 1.0), (2.0, 0.30103), (83_000.0, 4.91908), (4.1e6, 6.61278)] {
            #expect(abs(HTML.log10(x) - expected) < 1e-4, "log10(\(x))")
        }
    }
}
