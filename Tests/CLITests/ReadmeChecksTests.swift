import Foundation
import Testing
import VFIOCore

/// The README's check table and doctor's count are the registry's: a check added, renamed or dropped without
/// the README fails here.
@Suite struct ReadmeChecksTests {
    static func readme() throws -> String {
        try String(contentsOf: CLI.repo.appendingPathComponent("README.md"), encoding: .utf8)
    }

    @Test func checkTableListsExactlyTheRegistry() throws {
        let rows = try Self.readme().split(separator: "\n").filter { $0.hasPrefix("| `") && $0.contains("` | ") }
        let ids = rows.compactMap { row -> String? in
            let id = row.dropFirst(3).prefix { $0 != "`" }
            return id.contains(".") && !id.contains(" ") ? String(id) : nil
        }
        #expect(ids == CheckRegistry.all.map(\.id), "README check table (in order) vs CheckRegistry.all")
    }

    @Test func doctorRowStatesTheCount() throws {
        #expect(try Self.readme().contains("Runs every check (\(CheckRegistry.all.count), see below)"))
    }
}
