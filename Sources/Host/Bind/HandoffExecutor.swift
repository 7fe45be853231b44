#if canImport(Glibc)
import Glibc
#endif
import VFIOCore

/// Why a handoff step failed. Names the step, and the path, command or condition at fault.
public enum HandoffError: Error, Sendable, CustomStringConvertible {
    case journal(HostWriteError)
    case write(step: String, HostWriteError)
    case command(step: String, argv: [String], CommandResult)
    case timedOut(step: String, condition: HandoffCondition, seconds: Double)
    /// What recovery could not do: steps refused (a journal value that is no unit or module name) and journal
    /// lines that are no records. Everything else was restored.
    /// `done` holds what did happen (its `refused` lists the steps that must not run).
    case incomplete(done: HandoffExecutor.Outcome, corrupt: [CorruptJournalLine])

    public var description: String {
        switch self {
        case .journal(let e): "journal: \(e)"
        case .write(let step, let e): "\(step): \(e)"
        case .command(let step, let argv, let r):
            "\(step): '\(argv.joined(separator: " "))' " + (r.timedOut ? "timed out" : "exited \(r.status.map(String.init) ?? "abnormally")")
                + (r.output.isEmpty ? "" : ": " + r.output.split(separator: "\n").prefix(3).joined(separator: " / "))
        case .timedOut(let step, let c, let s): "\(step): \(c) did not happen within \(s) s"
        case .incomplete(let done, let corrupt):
            (done.refused.map { "refused: \($0)" } + corrupt.map(\.description)).joined(separator: "\n")
        }
    }
}

/// Executes handoff steps: journal (fsync) → action → bounded wait for the expected state. Bind failures roll
/// back what this run did, from the journal, and restore uses the same machinery.
public struct HandoffExecutor: Sendable {
    public let files: RootedFileSystem
    public let writer: any HostWriter
    public let runner: any CommandRunner
    public let journal: Journal<BindRecord>
    /// Longest wait for one step's conditions (vfio-pci binds in 0.06–0.12 s under TCG; a GPU driver's unbind
    /// can take seconds).
    public var stepTimeout: Double = 10
    public var commandTimeout: Double = 30
    /// The clock steps are timed and waited by, and the faults to inject (`VFIOCTL_CRASH_AFTER_WRITES` counts
    /// actions here, to prove that `restore` recovers from a crash half-way). Given by the command.
    public var effects: HostEffects = .standard
    /// Called when a bind step fails, before the rollback changes anything: lines that explain the failure as the
    /// host is at that moment (bind: who holds the devices). They end up in the failed outcome's `notes`.
    public var explainFailure: (@Sendable (HandoffError) -> [String])?

    /// The id written into every record this executor journals; each `bind` takes a new one, so a failing bind
    /// rolls back only what it took itself, never an earlier bind's devices or what another run journaled meanwhile.
    public private(set) var runID: String

    /// `runner`: nil chooses by the root (`HostCommands.runner`): commands run only on the real `/`.
    public init(files: RootedFileSystem, writer: any HostWriter, runner: (any CommandRunner)? = nil,
                journal: Journal<BindRecord>? = nil) {
        self.files = files
        self.writer = writer
        self.runner = runner ?? HostCommands.runner(for: files)
        self.journal = journal ?? Journal<BindRecord>(files: files, name: "bind")
        runID = Self.newRunID()
    }

    /// pid, monotonic nanoseconds and a random word: unique among the runs one journal sees.
    static func newRunID() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return "\(getpid())-\(ts.tv_sec).\(ts.tv_nsec)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    public struct Outcome: Sendable {
        /// Summaries of the steps done (skipped ones say so).
        public var done: [String] = []
        public var seconds: Double = 0
        /// Steps that must not run (their item stays held), with why.
        public var refused: [String] = []
        /// Commands recorded instead of run (a root other than `/`).
        public var wouldRun: [[String]] = []
        /// What `explainFailure` found when a step failed.
        public var notes: [String] = []
    }

    /// Runs the steps in order; stops at the first failure (what ran is in `done` of the error path's caller).
    public func apply(_ steps: [HandoffStep], outcome: inout Outcome) throws(HandoffError) {
        let clock = effects.clock
        let start = clock.now()
        defer { outcome.seconds += clock.now() - start }
        var actions = 0
        for step in steps {
            if let condition = step.onlyIf, !holds(condition) {
                outcome.done.append("\(step.summary) (skipped: \(condition) does not hold)")
                continue
            }
            if let refusal = step.refusal {
                outcome.refused.append("\(step.summary): \(refusal)")
                continue
            }
            if var record = step.record {
                record.run = runID
                do { try journal.append(record) } catch { throw .journal(error) }
            }
            var simulated = false
            switch step.action {
            case .write(let path, let value)?:
                do { try writer.write(path, value) } catch { throw .write(step: step.summary, error) }
            case .run(let argv)?:
                let result = runner.run(argv, timeout: commandTimeout)
                if !result.succeeded { throw .command(step: step.summary, argv: argv, result) }
                if result.simulated {
                    simulated = true
                    outcome.wouldRun.append(argv)
                }
            case nil: break
            }
            if step.action != nil {
                actions += 1
                effects.faults.afterChange(actions)
            }
            // A command that was only recorded changed nothing: waiting for its effect would only time out.
            if !simulated { try wait(for: step.waitFor, step: step.summary) }
            for var close in step.closes {
                close.run = runID
                do { try journal.append(close) } catch { throw .journal(error) }
            }
            outcome.done.append(simulated ? "\(step.summary) (not run: the root is not /)" : step.summary)
        }
    }

    /// Polls until every condition holds, or fails at the deadline. No fixed sleeps: most conditions hold when
    /// the write returns (the driver core probes synchronously).
    func wait(for conditions: [HandoffCondition], step: String) throws(HandoffError) {
        guard !conditions.isEmpty else { return }
        let deadline = effects.clock.now() + stepTimeout
        var backoff = Backoff()
        for c in conditions {
            while !holds(c) {
                if effects.clock.now() > deadline { throw .timedOut(step: step, condition: c, seconds: stepTimeout) }
                backoff.pause()
            }
        }
    }

    public func holds(_ c: HandoffCondition) -> Bool {
        switch c {
        case .driver(let a, let name):
            return ((try? files.readLinkName(PCIDriverPaths.driverLink(a))) ?? nil) == name
        case .exists(let p): return files.kind(of: p) != nil || Syscalls.kind(files.realPath(p, followFinalLink: false), followLinks: false) != nil
        case .absent(let p): return files.kind(of: p) == nil && Syscalls.kind(files.realPath(p, followFinalLink: false), followLinks: false) == nil
        case .reads(let p, let v): return ((try? files.readOptionalText(p)) ?? nil) == v
        case .succeeds(let argv): return runner.run(argv, timeout: commandTimeout).succeeded
        case .unheld(let addresses):
            let reports = HolderScanner(files: files).reports(for: addresses)
            return zip(addresses, reports).allSatisfy { a, report in HeldFunction.from(report, address: a, driver: "").holders.isEmpty }
        }
    }

    // MARK: bind, rollback, restore

    public enum BindResult: Sendable {
        case done(Outcome)
        /// A step failed; what this run changed was rolled back (`rollbackError` when even that failed).
        case failed(HandoffError, done: Outcome, rolledBack: Outcome, rollbackError: HandoffError?)
    }

    public func bind(_ plan: BindPlan) -> BindResult {
        var run = self
        run.runID = Self.newRunID()
        return run.bindAsOneRun(plan)
    }

    private func bindAsOneRun(_ plan: BindPlan) -> BindResult {
        var outcome = Outcome()
        do {
            try apply(plan.steps, outcome: &outcome)
            return .done(outcome)
        } catch {
            if let explainFailure { outcome.notes = explainFailure(error) }
            var rolled = Outcome()
            do {
                // Only what this run journaled is undone (its run id): devices held from earlier binds, or
                // journaled by another run meanwhile, stay as they are.
                let items = HeldState(records: try readJournal().records).items.filter { $0.run == runID }
                try apply(restoreSteps(items), outcome: &rolled)
                try removeJournalIfEmpty()
                return .failed(error, done: outcome, rolledBack: rolled, rollbackError: nil)
            } catch let rollbackError {
                return .failed(error, done: outcome, rolledBack: rolled, rollbackError: rollbackError)
            }
        }
    }

    /// Gives back what the journal holds for `addresses` (everything when empty). Returns the steps done. A
    /// journal line that is no record, or a step that must not run, does not stop the rest: everything else is
    /// restored, then `.incomplete` names them and the journal stays.
    public func restore(_ addresses: [PCIAddress]) throws(HandoffError) -> Outcome {
        let contents = try readJournal()
        let held = HeldState(records: contents.records)
        var outcome = Outcome()
        try apply(restoreSteps(held.selecting(addresses)), outcome: &outcome)
        try removeJournalIfEmpty()
        if !outcome.refused.isEmpty || !contents.corrupt.isEmpty {
            throw .incomplete(done: outcome, corrupt: contents.corrupt)
        }
        return outcome
    }

    /// Removes the journal's corrupt lines (`restore --drop-corrupt`, after the user has looked at them).
    public func dropCorrupt() throws(HandoffError) -> [CorruptJournalLine] {
        do { return try journal.dropCorrupt() } catch { throw .journal(error) }
    }

    public func held() throws(HandoffError) -> HeldState { HeldState(records: try readJournal().records) }

    /// The restore steps for held items, planned against the devices' state now.
    public func restoreSteps(_ items: [HeldState.Item]) -> [HandoffStep] {
        var current: [PCIAddress: RestorePlanner.Current] = [:]
        for case .device(let d) in items where files.kind(of: PCIDriverPaths.device(d.address)) != nil {
            current[d.address] = currentState(d.address)
        }
        return RestorePlanner.plan(items, current: current) { files.kind(of: PCIDriverPaths.driver($0)) == .directory }
    }

    public func currentState(_ a: PCIAddress) -> RestorePlanner.Current {
        let driver = (try? files.readLinkName(PCIDriverPaths.driverLink(a))) ?? nil
        var override = (try? files.readOptionalText(PCIDriverPaths.driverOverride(a))) ?? nil
        if override == "(null)" || override == "" { override = nil }
        return RestorePlanner.Current(driver: driver, driverOverride: override)
    }

    func readJournal() throws(HandoffError) -> Journal<BindRecord>.Contents {
        do { return try journal.read() } catch { throw .journal(error) }
    }

    /// Removes the journal once it holds nothing, and no line it could not read (that may have been an original).
    func removeJournalIfEmpty() throws(HandoffError) {
        let contents = try readJournal()
        if contents.corrupt.isEmpty && HeldState(records: contents.records).isEmpty {
            do { try journal.remove() } catch { throw .journal(error) }
        }
    }
}
