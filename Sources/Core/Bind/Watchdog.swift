/// One line of `/run/vfioctl/watchdog.journal`: the display watchdog of a single-GPU handoff
/// (`vfioctl bind --take-display --watchdog SECONDS`). `armed` is written before the watchdog process starts;
/// `confirmed` by `vfioctl bind --confirm` (the libvirt hook at `started`); `fired`, then `restored` or `failed`,
/// by the watchdog when the deadline passed unconfirmed; `disarmed` when it found nothing left to guard.
public struct WatchdogRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case armed, confirmed, fired, restored, failed, disarmed }

    public var kind: Kind
    /// Names one arming: every later record of it carries the same token.
    public var token: String
    /// armed: the functions the bind took (restore selects their groups and the display steps taken for them).
    public var addresses: [String]?
    public var seconds: Double?
    /// armed: CLOCK_MONOTONIC seconds of the deadline. One clock for every process of a boot, and /run is a tmpfs,
    /// so a record never meets another boot's clock.
    public var deadline: Double?
    /// Why (failed, disarmed), or who (confirmed).
    public var detail: String?

    public init(kind: Kind, token: String, addresses: [String]? = nil, seconds: Double? = nil, deadline: Double? = nil,
                detail: String? = nil) {
        self.kind = kind
        self.token = token
        self.addresses = addresses
        self.seconds = seconds
        self.deadline = deadline
        self.detail = detail
    }
}

/// What the watchdog does next, decided from the journal alone (the fake clock and journal of the tests are the
/// real inputs).
public enum WatchdogDecision: Sendable, Equatable {
    /// Nothing happened yet: look again (at most this many seconds later).
    case wait(Double)
    /// `vfioctl bind --confirm` arrived: the handoff stays.
    case confirmed
    /// Already fired, restored, failed or disarmed (a second watchdog process for the same token must not act).
    case resolved(WatchdogRecord.Kind)
    /// No armed record with this token (the journal was removed): nothing to guard.
    case unknown
    /// A later handoff armed its own watchdog: this one stands down.
    case superseded
    /// The journal no longer holds the handoff (someone ran `vfioctl restore`): nothing to give back.
    case handoffGone
    /// The deadline passed unconfirmed: restore the handoff.
    case fire

    public static func decide(_ records: [WatchdogRecord], token: String, now: Double, handoffHeld: Bool) -> WatchdogDecision {
        guard let armedAt = records.firstIndex(where: { $0.kind == .armed && $0.token == token }) else { return .unknown }
        let later = records[(armedAt + 1)...]
        if later.contains(where: { $0.token == token && $0.kind == .confirmed }) { return .confirmed }
        if let closed = later.last(where: { $0.token == token && $0.kind != .armed }) { return .resolved(closed.kind) }
        if later.contains(where: { $0.kind == .armed && $0.token != token }) { return .superseded }
        guard handoffHeld else { return .handoffGone }
        let deadline = records[armedAt].deadline ?? now
        return now >= deadline ? .fire : .wait(deadline - now)
    }

    /// The arming `vfioctl bind --confirm` answers: the newest `armed` record with nothing after it for its token.
    public static func pending(_ records: [WatchdogRecord]) -> WatchdogRecord? {
        guard let last = records.lastIndex(where: { $0.kind == .armed }) else { return nil }
        let token = records[last].token
        return records[(last + 1)...].contains(where: { $0.token == token }) ? nil : records[last]
    }

    /// How the newest arming ended, for `--confirm` arriving late (nil while it is pending or when none exists).
    public static func outcome(_ records: [WatchdogRecord]) -> WatchdogRecord? {
        guard let last = records.lastIndex(where: { $0.kind == .armed }) else { return nil }
        let token = records[last].token
        return records[(last + 1)...].last(where: { $0.token == token })
    }
}
