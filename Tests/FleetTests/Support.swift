import Foundation
import Synchronization
import Testing
import VFIOCore
import VFIOHost
import VFIOTestSupport

/// Paths of the checkout, found from this file (Tests/FleetTests/Support.swift).
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static func path(_ relative: String) -> String { root + "/" + relative }
}

/// The example hosts under examples/hosts, loaded once each (naming devices from pci.ids is the slow part).
enum ExampleHost {
    private static let cache = Mutex<[String: HostModel]>([:])

    static func load(_ name: String) throws -> HostModel {
        if let hit = cache.withLock({ $0[name] }) { return hit }
        let session = try HostSession(root: Repo.path("examples/hosts/\(name)"))
        let host = try session.load()
        cache.withLock { $0[name] = host }
        return host
    }
}

func addr(_ text: String) -> PCIAddress {
    guard let a = PCIAddress(text) else { fatalError("bad test address \(text)") }
    return a
}

/// The example fleet the golden files show, loaded as `vfioctl fleet` loads snapshots (node name from the
/// hostname file, bind facts from the tree).
enum ExampleFleet {
    static let hosts = ["x570-twin-gpus", "z490-three-gpus", "ryzen-chipset-gpu", "iommu-off"]
    private static let cache = Mutex<[String: FleetNode]>([:])

    static func node(_ name: String) throws -> FleetNode {
        if let hit = cache.withLock({ $0[name] }) { return hit }
        let session = try HostSession(root: Repo.path("examples/hosts/\(name)"))
        let host = try session.load()
        let node = FleetNode(name: FleetNodeName.read(session.files) ?? name, host: host, facts: BindFacts.load(session.files, host: host))
        cache.withLock { $0[name] = node }
        return node
    }

    static func report(_ names: [String] = hosts) throws -> FleetReport {
        FleetReport.evaluate(try names.map(node))
    }
}

/// Whole-output comparison with a committed file under Tests/Golden; `VFIOCTL_RECORD=1` rewrites it.
enum Golden {
    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let path = Repo.path("Tests/Golden/\(name)")
        if ProcessInfo.processInfo.environment["VFIOCTL_RECORD"] == "1" {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            Issue.record("missing golden file \(path); record with VFIOCTL_RECORD=1 swift test --filter FleetTests", sourceLocation: sourceLocation)
            return
        }
        if expected != actual {
            Issue.record("\(name) differs from the golden file (re-record with VFIOCTL_RECORD=1 if intended):\n\(UnifiedDiff.render(old: expected, new: actual, oldName: "golden/\(name)", newName: "actual"))", sourceLocation: sourceLocation)
        }
    }
}

/// The built `vfioctl` next to the test bundle, run from the checkout.
enum CLI {
    static let binary: String? = FileManager.default.isExecutableFile(atPath: RunCLI.binary) ? RunCLI.binary : nil

    /// Status, stdout and stderr; nil (with a printed reason) when the binary is not built.
    static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String)? {
        guard let binary else {
            print("SKIP CLI test: vfioctl binary not built next to the tests (swift build first)")
            return nil
        }
        let r = try RunCLI.run(binary, args, cwd: Repo.root)
        return (r.status, r.stdout, r.stderr)
    }
}
