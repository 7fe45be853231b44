import Foundation
import Testing
@testable import VFIOCore
import VFIOHost

/// The page rendered by a real browser (Debian's `chromium`, headless): what a user opening the file sees.
@Suite struct BrowserTests {
    static let hosts = Repo.exampleHosts

    /// The DOM after chromium ran the page (and its script), and what chromium logged.
    func render(_ host: String, extra: [String] = []) throws -> (dom: String, log: String, html: String) {
        let chromium = try #require(Repo.chromium)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("report.html").path
        let made = try Repo.run(Repo.vfioctl, ["report", "--root", host, "-o", file] + extra)
        #expect(made.status == 0, "vfioctl report: \(made.stderr)")
        let browser = try Repo.run("/usr/bin/timeout", ["60", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                                        "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                                                        "--enable-logging=stderr", "--v=0", "--dump-dom", "file://\(file)"])
        #expect(browser.status == 0, "chromium exit \(browser.status) (124: timed out)")
        return (browser.stdout, browser.stderr, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
    }

    @Test(.enabled(if: Repo.chromium != nil, "needs chromium (apt-get install chromium)"), arguments: hosts)
    func pageRendersEveryDeviceGroupAndVerdict(host: String) throws {
        let (dom, log, _) = try render(host)
        let model = try Repo.load(host)
        #expect(dom.contains("<svg id=\"pcie\""))
        #expect(dom.contains("<svg id=\"cpumap\""))
        let usage = HostUsage.load(try RootedFileSystem(root: Repo.path(host)))
        let verdicts = Dictionary(uniqueKeysWithValues: model.devices.map { ($0.address, doctorVerdict(model, $0, usage: usage)) })
        for d in model.devices {
            // The label text starts with the full address; the element carries doctor's verdict as a class.
            #expect(dom.contains(">\(d.address)  "), "\(host): \(d.address) is not on the page")
            let tag = "<g id=\"d-\(HTML.token(d.address))\" class=\"d v-\(verdicts[d.address] ?? "?")"
            #expect(dom.contains(tag), "\(host): \(d.address) should be drawn as \(tag)")
        }
        for g in model.iommu.groups { #expect(dom.contains(">group \(g.id)</text>"), "\(host): group \(g.id) is missing") }
        // The page script filled the legend counts from the drawing: they equal doctor's verdict counts.
        var counts: [String: Int] = [:]
        for v in verdicts.values { counts[v, default: 0] += 1 }
        for v in PassVerdict.allCases {
            #expect(dom.contains("<span class=\"cnt\" data-v=\"\(v.rawValue)\">(\(counts[v.rawValue] ?? 0))</span>"), "\(host): legend count of \(v.rawValue)")
        }
        let errors = log.split(separator: "\n").filter { $0.contains("Uncaught") || $0.contains(":CONSOLE") }
        #expect(errors.isEmpty, "\(host): console output: \(errors)")
    }

    @Test(.enabled(if: Repo.chromium != nil, "needs chromium (apt-get install chromium)"))
    func specAndLatencyAreDrawn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-latency-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = """
        {"cpu": 3, "policy": "other", "periodNs": 1000000, "durationNs": 10000000000, "samples": 9999, "idleStates": "allowed",
         "latencyNs": {"p50": 55000, "p99": 900000, "p99.9": 2700000, "max": 4100000, "min": 900},
         "histogram": [{"fromNs": 32000, "toNs": 64000, "count": 9000}, {"fromNs": 64000, "toNs": 128000, "count": 900},
                       {"fromNs": 2048000, "toNs": 4096000, "count": 90}, {"fromNs": 4096000, "toNs": 8192000, "count": 9}],
         "disturbances": {"interrupts": [], "probeVoluntarySwitches": null, "probeInvoluntarySwitches": null, "cpuScheduleCalls": null}}
        """
        let file = dir.appendingPathComponent("before.json")
        try json.write(to: file, atomically: true, encoding: .utf8)
        let (dom, log, _) = try render("examples/hosts/z490-three-gpus",
                                       extra: ["--spec", "examples/specs/z490-rtx2060.toml", "--latency", file.path])
        #expect(dom.contains("<svg id=\"latency\""))
        #expect(dom.contains(">p99.9 2.7 ms</text>"))
        #expect(dom.contains("<g class=\"t pin sh\" data-cpu=\"11\">"))
        #expect(!log.contains("Uncaught"))
    }
}
