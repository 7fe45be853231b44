import Foundation
import Synchronization
import Testing
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

/// The bind executor times and waits by the clock of the `HostEffects` it is given, not a clock of its own.
@Suite struct HostEffectsClockTests {
    /// Reads 0 once, then `later` forever: a bind that starts at 0 and ends at `later`.
    final class JumpClock: HostClock {
        let later: Double
        let calls = Mutex(0)
        init(later: Double) { self.later = later }
        func now() -> Double {
            calls.withLock { n in
                n += 1
                return n == 1 ? 0 : later
            }
        }
    }

    /// Moves `step` seconds at every reading.
    final class StepClock: HostClock {
        let step: Double
        let reading = Mutex(0.0)
        init(step: Double) { self.step = step }
        func now() -> Double {
            reading.withLock { t in
                t += step
                return t
            }
        }
    }

    @Test func aBindIsTimedByTheGivenClock() throws {
        let k = try FakeKernel(L.tree())
        var e = executor(k)
        let clock = JumpClock(later: 1_000)
        e.effects = HostEffects(clock: clock, faults: .none)
        guard case .done(let outcome) = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        #expect(outcome.seconds == 1_000)
        #expect(clock.calls.withLock { $0 } > 1)
        _ = try e.restore([])
    }

    /// A step whose condition never holds fails at the given clock's deadline (an hour on it), without waiting an
    /// hour of real time.
    @Test func stepDeadlinesFollowTheGivenClock() throws {
        let k = try FakeKernel(L.tree())
        k.vfioRefuses = [L.hda]
        var e = executor(k)
        e.stepTimeout = 3_600
        e.effects = HostEffects(clock: StepClock(step: 7_200), faults: .none)
        let start = Date()
        guard case .failed(let error, _, _, nil) = e.bind(try plan(k, [L.gpu], BindOptions(force: true))) else {
            Issue.record("expected a timeout"); return
        }
        #expect(error.description == "0000:01:00.1: probe → vfio-pci: 0000:01:00.1 on vfio-pci did not happen within 3600.0 s")
        #expect(Date().timeIntervalSince(start) < 60)
    }
}
