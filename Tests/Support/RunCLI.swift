import Foundation

/// Runs the built `vfioctl` (the product next to the test bundle, or `VFIOCTL_BIN`) and other programs, from the
/// checkout.
public enum RunCLI {
    /// The checkout, found from this file (Tests/Support/RunCLI.swift).
    public static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var binary: String {
        if let env = ProcessInfo.processInfo.environment["VFIOCTL_BIN"] { return env }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [products, products.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("vfioctl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return repo.appendingPathComponent(".build/debug/vfioctl").path
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    public static func vfioctl(_ args: [String]) throws -> Result { try run(binary, args) }

    /// Runs `executable` in the checkout (or `cwd`) to completion. Output goes through files, so a chatty stderr
    /// cannot fill a pipe and stall the child while stdout is read.
    public static func run(_ executable: String, _ args: [String], cwd: String? = nil) throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = cwd.map { URL(fileURLWithPath: $0) } ?? repo
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    public struct NotAnObject: Error, CustomStringConvertible {
        public let text: String
        public var description: String { "not a JSON object: \(text.prefix(200))" }
    }

    public static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw NotAnObject(text: text) }
        return object
    }
}
