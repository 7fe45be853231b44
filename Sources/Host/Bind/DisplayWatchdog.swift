#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VFIOCore

/// The single-GPU watchdog: after `bind --take-display --watchdog SECONDS`, a detached vfioctl process
/// (`vfioctl bind --watchdog-run TOKEN`, started with posix_spawn in a new session, so it outlives the bind, the
/// hook and the terminal) restores the handoff unless `vfioctl bind --confirm` arrives before the deadline.
///
/// A process of our own rather than a transient `systemd-run` unit: it works where systemd does not run (the lab's
/// initramfs, containers, OpenRC hosts) and under `--root` trees, needs no D-Bus at the moment the display is gone,
/// and its whole state is the journal below, which `restore` and the hook read like any other.
public struct DisplayWatchdog: Sendable {
    public let files: RootedFileSystem
    public let journal: Journal<WatchdogRecord>
    /// How often the waiting watchdog reads the journal.
    public var pollInterval: Double = 0.1

    public init(files: RootedFileSystem) {
        self.files = files
        journal = Journal<WatchdogRecord>(files: files, name: "watchdog")
    }

    /// This process's binary (the real /proc/self/exe, whatever the root): the watchdog is the same vfioctl.
    public static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// An absolute form of a `--root` argument: the watchdog must find the same tree from any directory.
    public static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(cString: buffer) + "/" + path
    }

    public var logPath: String { RuntimeState.directory + "/watchdog.log" }

    /// Journals the arming, then starts the watchdog process (`executable` with `arguments` + the token). Returns
    /// the token and the watchdog's pid.
    public func arm(addresses: [PCIAddress], seconds: Double, executable: String, arguments: [String]) throws(HostWriteError) -> (token: String, pid: Int32) {
        let token = HandoffExecutor.newRunID()
        try journal.append(WatchdogRecord(kind: .armed, token: token, addresses: addresses.map(\.description), seconds: seconds,
                                          deadline: Monotonic.now() + seconds))
        do {
            let pid = try spawnDetached(executable, arguments + [token])
            return (token, pid)
        } catch {
            // Nothing guards the handoff: say so in the journal, so --confirm does not report a watchdog.
            try? journal.append(WatchdogRecord(kind: .disarmed, token: token, detail: "could not start: \(error)"))
            throw error
        }
    }

    /// posix_spawn in a new session (POSIX_SPAWN_SETSID: no controlling terminal, no SIGHUP when the caller's
    /// terminal or hook ends), stdin from /dev/null, stdout and stderr appended to watchdog.log. The caller's
    /// runtime lock is O_CLOEXEC: the watchdog does not inherit it.
    func spawnDetached(_ executable: String, _ argv: [String]) throws(HostWriteError) -> Int32 {
        // Every other descriptor closes in the watchdog: an inherited pipe (the libvirt hook's stdout, a test's
        // capture) would keep the reader waiting for EOF until the watchdog exits.
        let limit = min(Int(sysconf(Int32(_SC_OPEN_MAX))), 1 << 16)
        if limit > 3 { for fd in 3..<Int32(limit) where fcntl(fd, F_GETFD) >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) } }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // glibc spawn.h: POSIX_SPAWN_SETSID is 0x80, behind _GNU_SOURCE (not imported into Swift).
        posix_spawnattr_setflags(&attr, 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, files.realPath(logPath, followFinalLink: false), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let all = [executable] + argv
        let cArgs = all.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        // SAFETY: `cArgs` is a nil-terminated array of strdup'd C strings that lives until after the call;
        // `environ` is the process's own environment.
        let rc = cArgs.withUnsafeBufferPointer { buf in
            posix_spawn(&pid, executable, &actions, &attr, UnsafeMutablePointer(mutating: buf.baseAddress!), environ)
        }
        guard rc == 0 else { throw HostWriteError(path: executable, value: "", errno: Errno(rawValue: rc), detail: "cannot start the watchdog: \(Errno(rawValue: rc))") }
        return pid
    }

    public enum ConfirmOutcome: Sendable, Equatable {
        /// The pending watchdog stands down; seconds it had left.
        case confirmed(token: String, remaining: Double)
        /// No watchdog was armed (the hook confirms at every start).
        case nothingArmed
        /// Too late: the watchdog already acted (its last record).
        case tooLate(WatchdogRecord)
    }

    /// `vfioctl bind --confirm`: appends `confirmed` for the pending arming. Takes no runtime lock: the hook calls
    /// it while other vfioctl commands may hold it, and the journal's own flock orders the append against the
    /// watchdog's `fired`, which the watchdog re-reads under that lock before it acts.
    public func confirm(by who: String) throws(HostWriteError) -> ConfirmOutcome {
        let records = try journal.records()
        guard let pending = WatchdogDecision.pending(records) else {
            if let last = WatchdogDecision.outcome(records), last.kind != .confirmed, last.kind != .disarmed { return .tooLate(last) }
            return .nothingArmed
        }
        try journal.append(WatchdogRecord(kind: .confirmed, token: pending.token, detail: who))
        return .confirmed(token: pending.token, remaining: max(0, (pending.deadline ?? 0) - Monotonic.now()))
    }

    /// Whether the bind journal still holds what the arming took.
    func handoffHeld(_ addresses: [PCIAddress], executor: HandoffExecutor) -> Bool {
        guard let held = try? executor.held() else { return true }
        return !held.selecting(addresses).isEmpty
    }

    public func decide(token: String, executor: HandoffExecutor) throws(HostWriteError) -> (WatchdogDecision, [PCIAddress]) {
        let records = try journal.records()
        let addresses = (records.first { $0.kind == .armed && $0.token == token }?.addresses ?? []).compactMap(PCIAddress.init)
        let held = addresses.isEmpty ? false : handoffHeld(addresses, executor: executor)
        return (WatchdogDecision.decide(records, token: token, now: Monotonic.now(), handoffHeld: held), addresses)
    }

    /// The watchdog process: waits (bounded by the armed deadline), then, under the runtime lock and only if the
    /// journal still says so, restores the handoff. `lock` takes the runtime lock. Returns what it did.
    public func run(token: String, executor: HandoffExecutor, lock: () throws -> RuntimeLock, log: (String) -> Void) -> WatchdogDecision {
        var decision: WatchdogDecision
        var addresses: [PCIAddress] = []
        while true {
            do { (decision, addresses) = try decide(token: token, executor: executor) } catch {
                log("cannot read \(journal.path): \(error)")
                return .unknown
            }
            guard case .wait(let remaining) = decision else { break }
            usleep(UInt32(min(max(remaining, 0.001), pollInterval) * 1_000_000))
        }
        guard decision == .fire else {
            if decision == .handoffGone { try? journal.append(WatchdogRecord(kind: .disarmed, token: token, detail: "the handoff was restored meanwhile")) }
            log("watchdog \(token): \(decision), nothing to do")
            return decision
        }
        let held: RuntimeLock
        do { held = try lock() } catch {
            log("watchdog \(token): cannot take the runtime lock: \(error)")
            try? journal.append(WatchdogRecord(kind: .failed, token: token, detail: "runtime lock: \(error)"))
            return .fire
        }
        defer { withExtendedLifetime(held) {} }
        // A confirm may have landed while we waited for the lock.
        if let (again, _) = try? decide(token: token, executor: executor), again != .fire {
            log("watchdog \(token): \(again) while waiting for the lock, nothing to do")
            return again
        }
        do { try journal.append(WatchdogRecord(kind: .fired, token: token)) } catch {
            log("watchdog \(token): cannot journal: \(error)")
            return .fire
        }
        log("watchdog \(token): no confirmation in time: restoring \(addresses.map(\.description).joined(separator: " "))")
        do {
            let outcome = try executor.restore(addresses)
            for line in outcome.done { log("  \(line)") }
            for argv in outcome.wouldRun { log("  would run: \(argv.joined(separator: " "))") }
            try? journal.append(WatchdogRecord(kind: .restored, token: token))
            log("watchdog \(token): the display is back")
        } catch {
            log("watchdog \(token): restore failed: \(error) (run 'vfioctl restore')")
            try? journal.append(WatchdogRecord(kind: .failed, token: token, detail: "\(error)"))
        }
        return .fire
    }
}
