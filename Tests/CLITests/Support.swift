import Foundation
import VFIOTestSupport

/// Runs the built `vfioctl` binary (the product next to the test bundle) and other programs.
enum CLI {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String { RunCLI.binary }

    typealias Result = RunCLI.Result

    static func vfioctl(_ args: [String]) throws -> Result { try RunCLI.vfioctl(args) }

    static func run(_ executable: String, _ args: [String]) throws -> Result { try RunCLI.run(executable, args) }

    /// Every bundled example host directory.
    static var exampleHosts: [String] {
        let dir = repo.appendingPathComponent("examples/hosts")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/sys").path) }
            .map { "examples/hosts/\($0)" }
    }

    static var lspci: String? {
        ["/usr/bin/lspci", "/bin/lspci", "/usr/sbin/lspci"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }
}
