#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VFIOCore

/// The changes shielding makes that are not attribute writes (those go through `HostWriter`): cgroup directories,
/// `sched_setaffinity`, and systemd properties. A real twin for the host and a recording fake for tests.
public protocol ShieldKernel: Sendable {
    func makeCgroup(_ path: String) throws(HostWriteError)
    func removeCgroup(_ path: String) throws(HostWriteError)
    func setAffinity(pid: Int, _ cpus: CPUSet) throws(HostWriteError)
    /// `systemctl set-property --runtime UNIT AllowedCPUs=VALUE` ("" resets it).
    func setAllowedCPUs(unit: String, _ value: String) throws(HostWriteError)
}

/// The real kernel under a root. Affinity and systemd act on the running system, so they refuse on a tree root.
public struct LiveShieldKernel: ShieldKernel {
    public let files: RootedFileSystem

    public init(files: RootedFileSystem) {
        self.files = files
    }

    public func makeCgroup(_ path: String) throws(HostWriteError) {
        if mkdir(files.realPath(path), 0o755) != 0 && errno != EEXIST { throw HostWriteError(path: path, value: "(mkdir)", errno: Errno(rawValue: errno)) }
    }

    public func removeCgroup(_ path: String) throws(HostWriteError) {
        // A task forked into the cgroup between emptying it and rmdir makes it busy for a moment.
        for attempt in 0..<20 {
            if rmdir(files.realPath(path, followFinalLink: false)) == 0 || errno == ENOENT { return }
            let e = errno
            if e != EBUSY || attempt == 19 { throw HostWriteError(path: path, value: "(rmdir)", errno: Errno(rawValue: e)) }
            usleep(10_000)
        }
    }

    public func setAffinity(pid: Int, _ cpus: CPUSet) throws(HostWriteError) {
        guard files.isRealRoot else { throw HostWriteError(path: "/proc/\(pid)", value: cpus.description, errno: .notPermitted, detail: "sched_setaffinity needs the real root /") }
        if let e = GNUCalls.setAffinity(pid, cpus.cpus) { throw HostWriteError(path: "/proc/\(pid) (sched_setaffinity)", value: cpus.description, errno: e) }
    }

    /// A task's allowed CPUs by `sched_getaffinity`, for `ShieldLoader` on the real root: the kernel answers
    /// without formatting the 50 lines of `/proc/PID/status` (which costs more under emulation). Nil on a tree root.
    public var affinityReader: (@Sendable (Int) -> CPUSet?)? {
        guard files.isRealRoot else { return nil }
        return { pid in GNUCalls.affinity(pid).map { CPUSet($0) } }
    }

    public func setAllowedCPUs(unit: String, _ value: String) throws(HostWriteError) {
        guard files.isRealRoot, let systemctl = Subprocess.find(["/usr/bin/systemctl", "/bin/systemctl"]) else {
            throw HostWriteError(path: unit, value: "AllowedCPUs=\(value)", errno: .noSuchFileOrDirectory, detail: "no systemctl")
        }
        do { try Subprocess.run(systemctl, ["set-property", "--runtime", unit, "AllowedCPUs=\(value)"]) } catch {
            throw HostWriteError(path: unit, value: "AllowedCPUs=\(value)", errno: .ioError, detail: error.description)
        }
    }
}
