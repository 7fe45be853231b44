/// A process that has nodes of the device open.
public struct Holder: Sendable, Equatable {
    public var pid: Int
    public var command: String
    /// The nodes it holds, in the order of `HolderFacts.nodes`.
    public var nodes: [DeviceNode]
    /// Its fds on those nodes, ascending.
    public var fds: [Int]
    /// The display server it is, when it is one (then `CompositorAdvice` says how to move it).
    public var compositor: Compositor?
    /// Its systemd unit (`ScannedProcess.unit`): stopping that unit ends it.
    public var unit: String? = nil

    /// Holds only the NVIDIA nodes every NVIDIA user holds, nothing of this GPU alone.
    public var holdsOnlyShared: Bool { nodes.allSatisfy(\.isShared) }
}

/// Who holds the device now, and how to move the display servers among them to another GPU.
public struct HolderReport: Sendable, Equatable {
    public var target: PCIAddress
    public var functions: [PCIAddress]
    public var nodes: [DeviceNode]
    /// Processes holding a node of this device (ascending PID).
    public var holders: [Holder]
    /// Processes holding only the shared NVIDIA nodes: they keep the nvidia module loaded, not this GPU.
    public var sharedHolders: [Holder]
    public var advice: [CompositorAdvice]
    public var uninspected: Int

    /// True when some process holds a node of this device (shared NVIDIA nodes not counted).
    public var isHeld: Bool { !holders.isEmpty }

    /// One line per holder for other commands' messages ("kwin_wayland (PID 1234): /dev/dri/card1").
    public var summaryLines: [String] {
        holders.map { "\($0.command) (PID \($0.pid)): " + $0.nodes.map(\.path).joined(separator: ", ") }
    }
}

public enum HolderFinder {
    /// Matches every process's open files against the device's nodes. On the real host an open file carries its
    /// device number and is matched by it alone (a container's "/dev/dri/card0" may be the host's card1); without
    /// one (trees, or a node whose number is unknown) the link text is compared with the node's path.
    public static func report(_ facts: HolderFacts) -> HolderReport {
        var holders: [Holder] = []
        for process in facts.processes.sorted(by: { $0.pid < $1.pid }) {
            var held = Set<DeviceNode>()
            var fds: [Int] = []
            for file in process.files {
                let matched = facts.nodes.filter { matches(file, $0) }
                if !matched.isEmpty {
                    held.formUnion(matched)
                    fds.append(file.fd)
                }
            }
            guard !held.isEmpty else { continue }
            holders.append(Holder(pid: process.pid, command: process.command, nodes: facts.nodes.filter(held.contains),
                                  fds: fds.sorted(), compositor: Compositor(command: process.command), unit: process.unit))
        }
        let own = holders.filter { !$0.holdsOnlyShared }
        let advice = own.compactMap { CompositorAdvice.advice(for: $0, facts: facts) }
        return HolderReport(target: facts.target, functions: facts.functions, nodes: facts.nodes, holders: own,
                            sharedHolders: holders.filter(\.holdsOnlyShared), advice: advice, uninspected: facts.uninspected)
    }

    static func matches(_ file: OpenFile, _ node: DeviceNode) -> Bool {
        if let a = file.number, let b = node.number { return a == b }
        return file.target == node.path
    }
}
