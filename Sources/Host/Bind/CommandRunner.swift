#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Runs the few commands a handoff needs (`systemctl stop`, `modprobe -r`), each with a deadline. Like
/// `HostWriter`, the one door for them: dry runs print them and tests record them.
public protocol CommandRunner: Sendable {
    func run(_ argv: [String], timeout: Double) -> CommandResult
}

public struct CommandResult: Sendable, Equatable {
    /// Exit status; nil when it could not start or was killed at the deadline.
    public var status: Int32?
    public var output: String
    public var timedOut = false
    /// Only recorded, not run (a root other than `/`): nothing the command would change has changed.
    public var simulated = false

    public init(status: Int32?, output: String, timedOut: Bool = false, simulated: Bool = false) {
        self.status = status
        self.output = output
        self.timedOut = timedOut
        self.simulated = simulated
    }

    public var succeeded: Bool { status == 0 }
}

/// posix_spawnp with stdout+stderr captured through a pipe; killed (SIGKILL) at the deadline.
public struct SpawnCommandRunner: CommandRunner {
    public init() {}

    public func run(_ argv: [String], timeout: Double) -> CommandResult {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return CommandResult(status: nil, output: "pipe: \(Errno(rawValue: errno))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        // SAFETY: `cArgs` is a nil-terminated array of strdup'd C strings that lives until after the call;
        // `environ` is the process's own environment.
        let rc = cArgs.withUnsafeBufferPointer { buf in
            posix_spawnp(&pid, argv[0], &actions, nil, UnsafeMutablePointer(mutating: buf.baseAddress!), environ)
        }
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return CommandResult(status: nil, output: "\(argv[0]): \(Errno(rawValue: rc))")
        }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Monotonic.now() + timeout
        var status: Int32 = 0
        var exited = false
        var timedOut = false
        var poller = Backoff()
        while true {
            // SAFETY: reads at most `buffer.count` bytes into the array's own storage.
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { output += buffer[0..<n]; continue }
            if waitpid(pid, &status, WNOHANG) == pid { exited = true; break }
            if Monotonic.now() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            poller.pause()
        }
        while true {
            // SAFETY: as above.
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { output += buffer[0..<n] } else { break }
        }
        close(fds[0])
        let text = String(decoding: output, as: UTF8.self)
        if timedOut { return CommandResult(status: nil, output: text, timedOut: true) }
        let code: Int32? = exited && (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
        return CommandResult(status: code, output: text)
    }
}

/// The one place that decides whether vfioctl runs commands on the machine: only when the root is the real `/`.
/// Under any other root (a tree, an unpacked snapshot) `systemctl` or `modprobe` would act on the machine running
/// vfioctl, not on the host the tree describes, with unit and module names the tree supplied; there they are
/// recorded and printed as "would run" instead.
public enum HostCommands {
    public static func runner(for files: RootedFileSystem) -> any CommandRunner {
        files.isRealRoot ? SpawnCommandRunner() : WouldRunCommandRunner()
    }
}

/// Records commands without running them and answers "done, simulated" (any root other than `/`).
public final class WouldRunCommandRunner: CommandRunner, @unchecked Sendable {
    private let lock = NSLockLike()
    private var log: [[String]] = []

    public init() {}

    public var commands: [[String]] { lock.with { log } }

    public func run(_ argv: [String], timeout: Double) -> CommandResult {
        lock.with { log.append(argv) }
        return CommandResult(status: 0, output: "", simulated: true)
    }
}

/// Records commands and answers from a table (tests).
public final class RecordingCommandRunner: CommandRunner, @unchecked Sendable {
    private let lock = NSLockLike()
    private var log: [[String]] = []
    private let answer: @Sendable ([String]) -> CommandResult

    public init(answer: @escaping @Sendable ([String]) -> CommandResult = { _ in CommandResult(status: 0, output: "") }) {
        self.answer = answer
    }

    public var commands: [[String]] { lock.with { log } }

    public func run(_ argv: [String], timeout: Double) -> CommandResult {
        lock.with { log.append(argv) }
        return answer(argv)
    }
}

/// CLOCK_MONOTONIC seconds.
public enum Monotonic {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Polling pauses that start short (most sysfs state changes are done when the write returns) and grow to 2 ms:
/// a state that comes late (the `/dev/vfio/N` node, made by devtmpfs after the bind) is seen at most 2 ms after it
/// appears, for a few hundred stat calls a second while a slow GPU driver unbinds.
struct Backoff {
    private var micros: UInt32 = 200
    /// The longest pause (µs): 2 ms for sysfs states; longer for waits on another process (the runtime lock).
    var limit: UInt32 = 2_000

    init(limit: UInt32 = 2_000) {
        self.limit = limit
    }

    mutating func pause() {
        usleep(micros)
        micros = min(micros * 2, limit)
    }
}
