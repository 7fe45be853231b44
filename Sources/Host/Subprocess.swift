import Foundation

/// Runs a helper program (tar) and fails with its stderr. Used only by the effects layer.
enum Subprocess {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], currentDirectory: String? = nil) throws(HostError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw HostError.commandFailed(([executable] + arguments).joined(separator: " "), -1, "\(error)")
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HostError.commandFailed(([executable] + arguments).joined(separator: " "), process.terminationStatus,
                                          String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// The first existing path among candidates (tar lives in /bin or /usr/bin).
    static func find(_ names: [String]) -> String? {
        names.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
