import Foundation
import Synchronization
import VFIOCore
import VFIOHost
import VFIOTestSupport

/// Paths and programs the report tests use.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Every bundled example host directory, relative to the repository.
    static var exampleHosts: [String] {
        let dir = root.appendingPathComponent("examples/hosts")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/sys").path) }
            .map { "examples/hosts/\($0)" }
    }

    /// Each example host is loaded once per test run: loading (pci.ids names included) dominates a debug build's
    /// test time, and the model is a value, so tests cannot disturb each other through it.
    static func load(_ host: String) throws -> HostModel {
        if let cached = loaded.withLock({ $0[host] }) { return cached }
        let model = try HostSession(root: path(host)).load()
        loaded.withLock { $0[host] = model }
        return model
    }

    private static let loaded = Mutex<[String: HostModel]>([:])

    /// The built `vfioctl` next to the test bundle (or `VFIOCTL_BIN`).
    static var vfioctl: String { RunCLI.binary }

    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    typealias Result = RunCLI.Result

    static func run(_ executable: String, _ args: [String]) throws -> Result { try RunCLI.run(executable, args, cwd: root.path) }
}

/// The verdict doctor gives a device when asked about it alone (`vfioctl doctor --device ADDR`): the status of
/// its `device.group-isolation` finding; bridges are never passed.
/// `usage`: what the host uses its devices for, as `doctor` reads it (`HostUsage.load`); `vfioctl report` does the same.
func doctorVerdict(_ host: HostModel, _ d: PCIDevice, usage: HostUsage? = nil) -> String {
    if d.isBridge { return "bridge" }
    // The one check behind the verdict, by its stable id, exactly as `doctor --device ADDR` runs it.
    let checks = CheckRegistry.all.filter { $0.id == "device.group-isolation" }
    let report = Doctor.run(CheckContext(host: host, targets: [d.address], usage: usage), checks: checks)
    guard let f = report.findings.first(where: { $0.check == "device.group-isolation" }) else { return "none" }
    switch f.status {
    case .pass, .info: return "alone"
    case .warn: return "group"
    case .fail: return "blocked"
    case .skipped, .crashed: return "none"
    }
}
