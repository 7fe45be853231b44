import Foundation
import Testing
import VFIOCore
import VFIOFixtures
@testable import VFIOHost

@Suite struct WatchdogDecisionTests {
    let armed = WatchdogRecord(kind: .armed, token: "t1", addresses: ["0000:01:00.0"], seconds: 5, deadline: 100)

    @Test func waitsUntilTheDeadlineThenFires() {
        #expect(WatchdogDecision.decide([armed], token: "t1", now: 97.5, handoffHeld: true) == .wait(2.5))
        #expect(WatchdogDecision.decide([armed], token: "t1", now: 100, handoffHeld: true) == .fire)
    }

    @Test func aConfirmationOrAnEarlierOutcomeStandsItDown() {
        let confirmed = WatchdogRecord(kind: .confirmed, token: "t1")
        #expect(WatchdogDecision.decide([armed, confirmed], token: "t1", now: 200, handoffHeld: true) == .confirmed)
        #expect(WatchdogDecision.decide([armed, .init(kind: .fired, token: "t1")], token: "t1", now: 200, handoffHeld: true) == .resolved(.fired))
        #expect(WatchdogDecision.decide([armed], token: "t1", now: 200, handoffHeld: false) == .handoffGone)
        #expect(WatchdogDecision.decide([armed, .init(kind: .armed, token: "t2", deadline: 300)], token: "t1", now: 200, handoffHeld: true) == .superseded)
        #expect(WatchdogDecision.decide([], token: "t1", now: 200, handoffHeld: true) == .unknown)
    }

    @Test func confirmAnswersTheNewestPendingArming() {
        #expect(WatchdogDecision.pending([armed]) == armed)
        #expect(WatchdogDecision.pending([armed, .init(kind: .confirmed, token: "t1")]) == nil)
        let fired = [armed, WatchdogRecord(kind: .fired, token: "t1"), WatchdogRecord(kind: .restored, token: "t1")]
        #expect(WatchdogDecision.pending(fired) == nil && WatchdogDecision.outcome(fired)?.kind == .restored)
    }

    /// The watchdog's run loop on the fake kernel: after the deadline it restores the handoff from the journal.
    @Test func runRestoresTheHandoffWhenUnconfirmed() throws {
        let k = try FakeKernel(L.tree())
        let e = executor(k)
        guard case .done = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        var w = DisplayWatchdog(files: k.files)
        w.pollInterval = 0.01
        try w.journal.append(WatchdogRecord(kind: .armed, token: "t", addresses: [L.nvme.description], seconds: 0.05, deadline: Monotonic.now() + 0.05))
        let decision = w.run(token: "t", executor: e, lock: { try RuntimeLock.acquire(k.files, command: "test") }, log: { _ in })
        #expect(decision == .fire && k.driver(L.nvme) == "nvme")
        #expect(try w.journal.records().map(\.kind) == [.armed, .fired, .restored])
        #expect(try w.confirm(by: "test") == .tooLate(WatchdogRecord(kind: .restored, token: "t")))
    }

    @Test func runStandsDownOnConfirm() throws {
        let k = try FakeKernel(L.tree())
        let e = executor(k)
        guard case .done = e.bind(try plan(k, [L.nvme])) else { Issue.record("bind failed"); return }
        var w = DisplayWatchdog(files: k.files)
        w.pollInterval = 0.01
        try w.journal.append(WatchdogRecord(kind: .armed, token: "t", addresses: [L.nvme.description], seconds: 30, deadline: Monotonic.now() + 30))
        guard case .confirmed = try w.confirm(by: "test") else { Issue.record("not confirmed"); return }
        #expect(w.run(token: "t", executor: e, lock: { try RuntimeLock.acquire(k.files, command: "test") }, log: { _ in }) == .confirmed)
        #expect(k.driver(L.nvme) == "vfio-pci")
        #expect(try w.confirm(by: "again") == .nothingArmed)
    }
}
