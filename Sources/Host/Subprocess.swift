#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Runs a helper program (tar, systemctl) that must succeed, through the same `posix_spawn` runner the handoff
/// uses (`SpawnCommandRunner`). Foundation's `Process` is avoided: it needs a run-loop wakeup socket that a host
/// without loopback (an initramfs, a rescue shell) lacks, and it was seen to hang there.
enum Subprocess {
    /// Longest a helper may run (packing a snapshot of a large host); it is killed after that.
    static let timeout: Double = 300

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws(HostError) -> String {
        let result = SpawnCommandRunner().run([executable] + arguments, timeout: timeout)
        guard result.succeeded else {
            let why = result.timedOut ? "killed after \(Int(timeout)) s" : result.output.trimmingASCIIWhitespace()
            throw HostError.commandFailed(([executable] + arguments).joined(separator: " "), result.status ?? -1, why)
        }
        return result.output
    }

    /// The first existing executable among candidates (tar lives in /bin or /usr/bin).
    static func find(_ names: [String]) -> String? {
        names.first { access($0, X_OK) == 0 }
    }
}
