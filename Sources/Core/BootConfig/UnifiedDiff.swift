/// `diff -u` output for two texts (line-based LCS, 3 lines of context). Used by `setup --dry-run` and golden tests.
public enum UnifiedDiff {
    public static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = lines(old), b = lines(new)
        if a == b { return "" }
        // LCS table (configuration files are small).
        let n = a.count, m = b.count
        var lcs = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
            else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] { ops.append(.del(a[i])); i += 1 }
            else { ops.append(.add(b[j])); j += 1 }
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

    static func lines(_ s: String) -> [String] {
        if s.isEmpty { return [] }
        var parts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}
