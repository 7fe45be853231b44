import Foundation
import Testing

/// Runs the built `vfioctl` binary (the product next to the test bundle).
enum RunCLI {
    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["VFIOCTL_BIN"] { return env }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [products, products.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("vfioctl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "vfioctl"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func vfioctl(_ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
