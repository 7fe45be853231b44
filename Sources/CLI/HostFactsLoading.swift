import VFIOCore
import VFIOHost

extension HostSession {
    /// The facts `scope` names, read through `reader` (`snapshot`'s recorder) or the session's root. The inventory
    /// is named from pci.ids as `load` names it, unless `named` is false (bind names only what it prints).
    func facts(_ scope: FactScope, model: LoadScope = .all, reader: (any HostFileReader)? = nil, groupsOf: [PCIAddress]? = nil,
               spec: VMSpec? = nil, affinity: (@Sendable (Int) -> CPUSet?)? = nil, named: Bool = true) -> HostFacts {
        var facts = HostFacts.load(reader ?? files, scope: scope, model: model, groupsOf: groupsOf, spec: spec, affinity: affinity)
        if named, var host = facts.host, let ids = PCIIDs.load(from: files, vendors: Set(host.devices.map(\.vendorID))) {
            ids.name(&host.devices)
            facts.host = host
        }
        return facts
    }
}

extension RootOptions {
    /// The session, the facts `scope` names and the inventory (`scope` gets `.model`); an unreadable inventory is
    /// the error `load` gives.
    func facts(_ scope: FactScope, model: LoadScope = .all, spec: VMSpec? = nil) throws -> (HostSession, HostFacts, HostModel) {
        let session = try open()
        let facts = session.facts(scope.union(.model), model: model, spec: spec)
        do { return (session, facts, try facts.hostModel()) } catch { throw CLIError("\(root): \(error)") }
    }
}
