import Foundation

/// Runs the built `vfioctl` binary (the product next to the test bundle) and other programs.
enum CLI {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["VFIOCTL_BIN"] { return env }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [products, products.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("vfioctl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return repo.appendingPathComponent(".build/debug/vfioctl").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func vfioctl(_ args: [String]) throws -> Result { try run(binary, args) }

    static func run(_ executable: String, _ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = repo
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

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
