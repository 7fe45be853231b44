import Foundation
import Testing
@testable import VFIOCore

/// `vfioctl report` as a command: its inputs (snapshots, latency files) and its errors.
@Suite struct CommandTests {
    @Test func aSnapshotGivesTheSamePicture() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-snapshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let host = "examples/hosts/ryzen-chipset-gpu"
        let tarball = dir.appendingPathComponent("host.tar.gz").path
        #expect(try Repo.run(Repo.vfioctl, ["snapshot", "--root", host, "-o", tarball]).status == 0)
        func devices(_ root: String, _ name: String) throws -> [String] {
            let page = dir.appendingPathComponent(name).path
            let r = try Repo.run(Repo.vfioctl, ["report", "--root", root, "-o", page])
            #expect(r.status == 0, "\(r.stderr)")
            let html = try String(contentsOfFile: page, encoding: .utf8)
            // Each device element's opening tag: address, verdict, markers, group.
            return html.components(separatedBy: "<g id=\"d-").dropFirst().map { String($0.prefix { $0 != ">" }) }
        }
        let fromTree = try devices(host, "tree.html")
        #expect(fromTree.count == 40)
        #expect(try devices(tarball, "snapshot.html") == fromTree)
    }

    @Test func badLatencyFileIsAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.json")
        try #"{"cpu": 3, "policy": "other"}"#.write(to: file, atomically: true, encoding: .utf8)
        let r = try Repo.run(Repo.vfioctl, ["report", "--root", "examples/hosts/z490-three-gpus", "--latency", file.path,
                                            "-o", dir.appendingPathComponent("r.html").path])
        #expect(r.status == 3)
        #expect(r.stderr.contains("--latency \(file.path): not the JSON of vfioctl latency --json (missing periodNs)"))
    }
}
