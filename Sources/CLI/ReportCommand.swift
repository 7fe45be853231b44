import ArgumentParser
import FoundationEssentials
import VFIOCore
import VFIOHost

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one self-contained HTML page: PCIe tree and groups, slot advisor, CPU map, doctor, latency.",
        discussion: "The page has no external references: open it from a USB stick or attach it to a bug report.")

    @OptionGroup var root: RootOptions
    @Option(help: ArgumentHelp("Draw this VM spec's vCPU pinning, emulator CPUs and shielded CPUs on the CPU map.", valueName: "SPEC"))
    var spec: String?
    @Option(help: ArgumentHelp("A `vfioctl latency --json` result to draw (repeatable, e.g. before and after shielding).", valueName: "FILE.json"))
    var latency: [String] = []
    @Option(name: .customLong("device"), help: ArgumentHelp("Advise on this device instead of the GPUs; doctor runs as with doctor --device.", valueName: "ADDR"))
    var devices: [String] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write.", valueName: "FILE.html"))
    var output: String

    func run() throws {
        let vm = try spec.map(SpecFile.load)
        let series = try latency.map(LatencyFile.load)
        let (session, host) = try root.load()
        var focus: [PCIAddress] = []
        for text in devices {
            guard let address = PCIAddress(text) else {
                throw CLIError("--device \(text): not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)")
            }
            guard host.device(address) != nil else {
                throw CLIError("--device \(address): no such PCI device on this host (vfioctl list shows them)")
            }
            focus.append(address)
        }
        let input = ReportInput.make(host: host, source: root.root, spec: vm, specName: spec, latency: series, focus: focus,
                                     usage: HostUsage.load(session.files))
        let page = ReportPage.render(input)
        // An output file the user names, like a snapshot: not a host setting, so not journaled.
        guard FileManager.default.createFile(atPath: output, contents: Data(page.utf8)) else {
            throw CLIError("-o \(output): cannot write it")
        }
        Output.write("wrote \(output) (\(page.utf8.count / 1024) KiB): \(host.devices.count) PCI devices, \(host.iommu.groups.count) IOMMU groups, \(input.doctor.findings.count) findings, \(series.count) latency runs")
    }
}

/// Reads `vfioctl latency --json` output back (the keys of `LatencyReport.json()`).
enum LatencyFile {
    struct Wire: Decodable {
        struct Percentiles: Decodable {
            var p50: UInt64
            var p99: UInt64
            var p999: UInt64
            var max: UInt64
            var min: UInt64
            enum CodingKeys: String, CodingKey { case p50, p99, p999 = "p99.9", max, min }
        }
        struct Bucket: Decodable { var fromNs: UInt64; var toNs: UInt64; var count: UInt64 }
        var cpu: Int
        var policy: String
        var periodNs: UInt64
        var durationNs: UInt64
        var samples: UInt64
        var idleStates: String?
        var latencyNs: Percentiles
        var histogram: [Bucket]
    }

    static func load(_ path: String) throws -> LatencySeries {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("--latency \(path): cannot read it") }
        let wire: Wire
        do { wire = try JSONDecoder().decode(Wire.self, from: data) } catch {
            throw CLIError("--latency \(path): not the JSON of vfioctl latency --json (\(describe(error)))")
        }
        guard let policy = LatencyReport.Policy(rawValue: wire.policy) else {
            throw CLIError("--latency \(path): policy \"\(wire.policy)\" is neither other nor fifo")
        }
        for b in wire.histogram where b.toNs < b.fromNs {
            throw CLIError("--latency \(path): histogram bucket \(b.fromNs)-\(b.toNs) ns ends before it starts")
        }
        var report = LatencyReport(cpu: wire.cpu, policy: policy, periodNs: wire.periodNs, durationNs: wire.durationNs,
                                   samples: wire.samples, p50: wire.latencyNs.p50, p99: wire.latencyNs.p99, p999: wire.latencyNs.p999,
                                   max: wire.latencyNs.max, min: wire.latencyNs.min,
                                   buckets: wire.histogram.map { LatencyReport.Bucket(fromNs: $0.fromNs, toNs: $0.toNs, count: $0.count) },
                                   disturbances: CPUDisturbances())
        if let idle = wire.idleStates { report.idleStates = idle }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return LatencySeries(label: name.hasSuffix(".json") ? String(name.dropLast(5)) : name, report: report)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing \((ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not JSON" : "bad value at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        default:
            return "\(error)"
        }
    }
}
