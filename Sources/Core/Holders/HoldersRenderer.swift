/// `vfioctl holders`: who holds a device, as text or as the stable JSON contract.
public enum HoldersRenderer {
    public static func text(_ report: HolderReport) -> String {
        var lines: [String] = []
        let functions = report.functions.map(\.description).joined(separator: ", ")
        if report.nodes.isEmpty {
            lines.append("\(functions): no device nodes (no DRM, sound, framebuffer, I2C or NVIDIA node): nothing can hold it through /dev")
        } else if report.holders.isEmpty {
            lines.append("\(functions): no process holds its device nodes")
            lines.append("  checked: " + report.nodes.map(\.path).joined(separator: ", "))
        } else {
            let n = report.holders.count
            lines.append("\(functions): held by \(n) process\(n == 1 ? "" : "es")")
            lines += table(report.holders, target: report.target)
        }
        if !report.sharedHolders.isEmpty {
            lines.append("")
            lines.append("Shared NVIDIA nodes (every NVIDIA user holds them; they keep the nvidia module loaded, not this GPU):")
            lines += table(report.sharedHolders, target: report.target)
        }
        for advice in report.advice {
            lines.append("")
            lines += adviceLines(advice)
        }
        if report.uninspected > 0 {
            lines.append("")
            lines.append("warning: \(report.uninspected) process\(report.uninspected == 1 ? "" : "es") could not be inspected (run as root to see every holder)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func table(_ holders: [Holder], target: PCIAddress) -> [String] {
        let width = max(7, holders.map { String($0.pid).count }.max() ?? 0)
        var lines = ["  " + pad("PID", width) + "  " + pad("COMMAND", 15) + "  NODES"]
        for h in holders {
            let nodes = h.nodes.map { $0.address == target ? $0.path : "\($0.path) (\($0.address))" }.joined(separator: ", ")
            lines.append("  " + pad(String(h.pid), width) + "  " + pad(h.command, 15) + "  " + nodes)
        }
        return lines
    }

    public static func adviceLines(_ a: CompositorAdvice) -> [String] {
        guard let other = a.pinTo else {
            return ["\(a.command) (PID \(a.pid), \(a.compositor.displayName)) drives this GPU: \(a.note)"]
        }
        let driver = other.driver.map { ", \($0)" } ?? ""
        var lines = ["\(a.command) (PID \(a.pid), \(a.compositor.displayName)) drives this GPU. To keep it on \(other.address) (\(other.card)\(driver)):"]
        lines += a.settings.map { "    " + $0 }
        lines.append("  " + a.note)
        return lines
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

    public static func json(_ report: HolderReport) -> JSON {
        .object([
            ("address", .string(report.target.description)),
            ("functions", .strings(report.functions.map(\.description))),
            ("held", .bool(report.isHeld)),
            ("nodes", .array(report.nodes.map(nodeJSON))),
            ("holders", .array(report.holders.map(holderJSON))),
            ("sharedHolders", .array(report.sharedHolders.map(holderJSON))),
            ("advice", .array(report.advice.map(adviceJSON))),
            ("uninspected", .int(report.uninspected)),
        ])
    }

    static func nodeJSON(_ n: DeviceNode) -> JSON {
        .object([("path", .string(n.path)), ("kind", .string(n.kind.rawValue)), ("address", .string(n.address.description)),
                 ("dev", .optional(n.number?.description)), ("shared", .bool(n.isShared))])
    }

    static func holderJSON(_ h: Holder) -> JSON {
        .object([("pid", .int(h.pid)), ("command", .string(h.command)), ("nodes", .strings(h.nodes.map(\.path))),
                 ("fds", .array(h.fds.map(JSON.int))), ("compositor", .optional(h.compositor?.rawValue))])
    }

    static func adviceJSON(_ a: CompositorAdvice) -> JSON {
        .object([
            ("compositor", .string(a.compositor.rawValue)), ("pid", .int(a.pid)), ("command", .string(a.command)),
            ("pinTo", a.pinTo.map { g in
                .object([("address", .string(g.address.description)), ("card", .string(g.card)), ("render", .optional(g.render)),
                         ("driver", .optional(g.driver)), ("bootVGA", .bool(g.bootVGA))])
            } ?? .null),
            ("settings", .strings(a.settings)), ("note", .string(a.note)),
        ])
    }
}
