import Foundation
import Synchronization
import Testing
import VFIOCore
import VFIOHost

/// Paths of the checkout, found from this file (Tests/FleetTests/Support.swift).
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static func path(_ relative: String) -> String { root + "/" + relative }
}

/// The example hosts under examples/hosts, loaded once each (naming devices from pci.ids is the slow part).
enum ExampleHost {
    private static let cache = Mutex<[String: HostModel]>([:])

    static func load(_ name: String) throws -> HostModel {
        if let hit = cache.withLock({ $0[name] }) { return hit }
        let session = try HostSession(root: Repo.path("examples/hosts/\(name)"))
        let host = try session.load()
        cache.withLock { $0[name] = host }
        return host
    }
}

func addr(_ text: String) -> PCIAddress {
    guard let a = PCIAddress(text) else { fatalError("bad test address \(text)") }
    return a
}
