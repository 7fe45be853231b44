/// `diff -u` output for two texts (line-based LCS, 3 lines of context). Used by `setup --dry-run` and golden tests.
public enum UnifiedDiff {
    /// Largest LCS table (old lines × new lines) computed: 4 Mi cells, 32 MiB.
    static let maxTableCells = 1 << 22

    public static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = lines(old), b = lines(new)
        if a == b { return "" }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = []
        let n = a.count, m = b.count
        // The LCS table is n × m; files vfioctl edits are a few hundred lines, but a huge one must not take
        // gigabytes: past the cap, common head and tail lines stay context and the middle is replaced whole
        // (still a correct diff, just not the shortest).
        if n.multipliedReportingOverflow(by: m).partialValue > maxTableCells || n.multipliedReportingOverflow(by: m).overflow {
            var head = 0
            while head < n, head < m, a[head] == b[head] { head += 1 }
            var tail = 0
            while tail < n - head, tail < m - head, a[n - 1 - tail] == b[m - 1 - tail] { tail += 1 }
            ops += a[..<head].map { .same($0) }
            ops += a[head..<(n - tail)].map { .del($0) }
            ops += b[head..<(m - tail)].map { .add($0) }
            ops += a[(n - tail)...].map { .same($0) }
        } else {
            var lcs = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
                else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] { ops.append(.del(a[i])); i += 1 }
                else { ops.append(.add(b[j])); j += 1 }
            }
        }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        var k = 0
        var oldLine = 1, newLine = 1
        var positions: [(Int, Int)] = []
        for op in ops {
            positions.append((oldLine, newLine))
            switch op {
            case .same: oldLine += 1; newLine += 1
            case .del: oldLine += 1
            case .add: newLine += 1
            }
        }
        func isChange(_ idx: Int) -> Bool { if case .same = ops[idx] { return false } else { return true } }
        while k < ops.count {
            guard isChange(k) else { k += 1; continue }
            let start = max(0, k - context)
            var end = k
            while end < ops.count {
                if isChange(end) { end += 1; continue }
                var look = end
                while look < ops.count && !isChange(look) && look - end < 2 * context { look += 1 }
                if look < ops.count && isChange(look) && look - end < 2 * context + 1 { end = look } else { break }
            }
            let stop = min(ops.count, end + context)
            var oldCount = 0, newCount = 0
            var body: [String] = []
            for idx in start..<stop {
                switch ops[idx] {
                case .same(let l): body.append(" " + l); oldCount += 1; newCount += 1
                case .del(let l): body.append("-" + l); oldCount += 1
                case .add(let l): body.append("+" + l); newCount += 1
                }
            }
            let (os, ns) = positions[start]
            out.append("@@ -\(oldCount == 0 ? os - 1 : os),\(oldCount) +\(newCount == 0 ? ns - 1 : ns),\(newCount) @@")
            out += body
            k = stop
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Split like diff(1): at LF only, a CR staying in its line (`ConfigLines.rawLines`).
    static func lines(_ s: String) -> [String] { ConfigLines.rawLines(s) }
}
