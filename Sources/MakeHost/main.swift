import Foundation
import VFIOFixtures

/// vfioctl-mkhost: writes fake host trees for tests, examples and benchmarks.
let usage = """
    usage: vfioctl-mkhost examples DIR                 write every bundled example host to DIR/NAME
           vfioctl-mkhost example NAME DIR             write one example host to DIR
           vfioctl-mkhost synthetic --devices N DIR    write a synthetic host with about N PCI functions
           vfioctl-mkhost list                         list the bundled example hosts
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

/// Replaces `dir` so that files of an earlier, different host do not linger.
func writeFresh(_ host: HostTree, to dir: String) throws {
    let url = URL(fileURLWithPath: dir)
    let tree = try host.render()
    for top in ["sys", "proc", "dev", "etc"] {
        try? FileManager.default.removeItem(at: url.appendingPathComponent(top))
    }
    try tree.write(to: url)
}

let args = Array(Swift.CommandLine.arguments.dropFirst())
do {
    switch args.first {
    case "examples" where args.count == 2:
        for example in ExampleHosts.all {
            try writeFresh(example.host, to: args[1] + "/" + example.name)
            print("\(args[1])/\(example.name)")
        }
    case "example" where args.count == 3:
        guard let example = ExampleHosts.all.first(where: { $0.name == args[1] }) else {
            fail("no example host '\(args[1])'; try: \(ExampleHosts.all.map(\.name).joined(separator: ", "))")
        }
        try writeFresh(example.host, to: args[2])
    case "synthetic" where args.count == 4 && args[1] == "--devices":
        guard let n = Int(args[2]), n > 0, n <= 5000 else { fail("--devices wants a number from 1 to 5000") }
        let host = ExampleHosts.synthetic(devices: n)
        try writeFresh(host, to: args[3])
        print("\(args[3]): \(host.devices.count) PCI functions")
    case "list" where args.count == 1:
        for example in ExampleHosts.all { print("\(example.name)\t\(example.summary)") }
    default:
        fail(usage)
    }
} catch {
    fail("vfioctl-mkhost: \(error)")
}
