/// `vfioctl doctor` output: one block per finding, worst first within the registry order, then a summary.
public enum DoctorRenderer {
    static func marker(_ s: FindingStatus) -> String {
        switch s {
        case .pass: "PASS"
        case .info: "INFO"
        case .warn: "WARN"
        case .fail: "FAIL"
        case .skipped: "SKIP"
        case .crashed: "CRASH"
        }
    }

    public static func text(_ report: DoctorReport, host: HostModel, verbose: Bool = false) -> String {
        var out = ListRenderer.iommuSummary(host) + "\n\n"
        // Titles, evidence, explanations and fixes quote host files (driver names, pci.ids names, values seen):
        // every one is printed through `escapingControls`, so a host tree cannot drive the terminal.
        let e: (String) -> String = { escapingControls($0) }
        for f in report.findings {
            let pad = String(repeating: " ", count: 6)
            out += "[\(marker(f.status))]".padding(7) + " \(e(f.title))  (\(e(f.check)))\n"
            if f.status == .pass || f.status == .skipped {
                if verbose { for ev in f.evidence { out += "\(pad)  seen: \(e(ev.description))\n" } }
                continue
            }
            for ev in f.evidence { out += "\(pad)  seen: \(e(ev.description))\n" }
            if !f.explanation.isEmpty { out += "\(pad)  why:  \(e(f.explanation))\n" }
            if let fix = f.fix { out += "\(pad)  fix:  \(e(fix))\n" }
            if let ref = f.reference { out += "\(pad)  ref:  \(e(ref))\n" }
        }
        out += "\n" + summary(report) + "\n"
        return out
    }

    public static func summary(_ report: DoctorReport) -> String {
        let verdict = report.exitStatus == 2 ? "passthrough is blocked as the host stands"
            : report.exitStatus == 1 ? "passthrough can work; read the warnings" : "ready for passthrough"
        return "\(report.count(.fail)) failed, \(report.count(.warn)) warnings, \(report.count(.crashed)) crashed, \(report.count(.info)) info, \(report.count(.pass)) passed, \(report.count(.skipped)) skipped: \(verdict)"
    }

    public static func json(_ report: DoctorReport) -> JSON {
        .object([
            ("findings", .array(report.findings.map { f in
                .object([
                    ("check", .string(f.check)),
                    ("status", .string(f.status.rawValue)),
                    ("title", .string(f.title)),
                    ("subjects", .strings(f.subjects.map(\.description))),
                    ("evidence", .array(f.evidence.map { .object([("source", .string($0.source)), ("value", .string($0.value))]) })),
                    ("explanation", .string(f.explanation)),
                    ("fix", .optional(f.fix)),
                    ("reference", .optional(f.reference)),
                ])
            })),
            ("summary", .object(FindingStatus.allCases.map { ($0.rawValue, JSON.int(report.count($0))) } + [("exitStatus", .int(Int(report.exitStatus)))])),
        ])
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
