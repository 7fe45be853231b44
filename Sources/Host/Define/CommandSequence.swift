/// Commands run one after the other after a journaled change (`setup --apply`'s regenerate commands, `define`'s
/// qemu-img and virsh), through the host's command runner: each is announced, its result recorded in the
/// change's journal manifest, and the first failure stops the sequence with the end of its output.
public struct CommandSequence {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let runner: any CommandRunner
    public let writer: BootConfigWriter
    /// The journal (host path) the results are recorded in; nil: none (nothing was written).
    public let journal: String?
    public let timeout: Double

    public init(runner: any CommandRunner, writer: BootConfigWriter, journal: String?, timeout: Double) {
        self.runner = runner
        self.writer = writer
        self.journal = journal
        self.timeout = timeout
    }

    /// Runs `commands` (argv, and the line shown for it); `progress` gets one line per step.
    /// - Returns: the results, in order, as recorded.
    @discardableResult
    public func run(_ commands: [(argv: [String], shown: String)], undo: String,
                    progress: (String) -> Void) throws(Failure) -> [BootConfigWriter.CommandRecord] {
        var records: [BootConfigWriter.CommandRecord] = []
        defer { if let journal { try? writer.record(records, in: journal) } }
        for (i, c) in commands.enumerated() {
            progress("[\(i + 1)/\(commands.count)] \(c.shown)")
            let result = runner.run(c.argv, timeout: timeout)
            records.append(.init(argv: c.argv, status: result.status, output: result.output, simulated: result.simulated))
            if result.simulated {
                progress("  not run: --root is not / (recorded\(journal.map { " in \($0)" } ?? ""))")
                continue
            }
            guard result.succeeded else {
                let why = result.timedOut ? "still running after \(Int(timeout)) s, stopped"
                    : result.status.map { "exit status \($0)" } ?? "could not start"
                var message = "\(c.shown): \(why). Its output:\n"
                message += result.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(40).map { "  | " + $0 }.joined(separator: "\n")
                let rest = commands.dropFirst(i + 1).map(\.shown)
                if !rest.isEmpty { message += "\nnot run yet: " + rest.joined(separator: "; ") }
                message += "\nfix the cause and run \(rest.isEmpty ? "it" : "them") again, or undo with \(undo)"
                throw Failure(description: message)
            }
            progress("  done")
        }
        return records
    }
}
