#if canImport(Glibc)
import Glibc
#endif

/// What an executor needs from the world besides the host's files and commands: the clock it measures and waits by,
/// and the faults a test asks it to suffer. A command builds one value once (`fromEnvironment()`) and hands it to
/// its executors, so no executor reads the environment or a clock of its own, and a test passes a value instead of
/// setting process-wide variables.
public struct HostEffects: Sendable {
    public var clock: any HostClock
    public var faults: FaultInjection

    public init(clock: any HostClock = MonotonicClock(), faults: FaultInjection = .none) {
        self.clock = clock
        self.faults = faults
    }

    /// The monotonic clock and no faults: what an executor uses unless a command says otherwise.
    public static let standard = HostEffects()

    /// The monotonic clock and the faults the environment asks for (`FaultInjection.fromEnvironment`), read once.
    public static func fromEnvironment() -> HostEffects {
        HostEffects(faults: .fromEnvironment { name in getenv(name).map { String(cString: $0) } })
    }
}

/// Seconds on a clock that never goes back (deadlines, step durations). Not the time of day.
public protocol HostClock: Sendable {
    func now() -> Double
}

/// CLOCK_MONOTONIC: unaffected by a change of the wall clock while a bind waits for a driver.
public struct MonotonicClock: HostClock {
    public init() {}
    public func now() -> Double { Monotonic.now() }
}

/// Faults injected on purpose, to prove that recovery works from any point of a change.
public struct FaultInjection: Sendable, Equatable {
    /// `VFIOCTL_CRASH_AFTER_WRITES=N`: the process kills itself with SIGKILL after N host changes (bind's actions,
    /// shield's changes), as a power loss or `kill -9` would, so that `restore` and `unshield` are shown to
    /// recover from a crash half-way (the lab's kill9 tests).
    public var crashAfterWrites: Int?

    public init(crashAfterWrites: Int? = nil) {
        self.crashAfterWrites = crashAfterWrites
    }

    public static let none = FaultInjection()

    /// The environment variable that sets `crashAfterWrites`.
    public static let crashVariable = "VFIOCTL_CRASH_AFTER_WRITES"

    /// Reads the variables through `lookup` (the process environment, or a dictionary in tests). A value that is
    /// not a whole number injects nothing, as before.
    public static func fromEnvironment(_ lookup: (String) -> String?) -> FaultInjection {
        FaultInjection(crashAfterWrites: lookup(crashVariable).flatMap { Int($0) })
    }

    /// Whether the change numbered `count` (from 1) is the one to crash after.
    public func crashes(after count: Int) -> Bool {
        guard let limit = crashAfterWrites else { return false }
        return count >= limit
    }

    /// Called after each change: SIGKILL ourselves once `crashes(after:)` says so. SIGKILL, not exit: nothing
    /// runs on the way out (no defer, no atexit), exactly as after `kill -9`.
    public func afterChange(_ count: Int) {
        if crashes(after: count) { kill(getpid(), SIGKILL) }
    }
}
