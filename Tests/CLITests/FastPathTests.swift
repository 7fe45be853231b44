import ArgumentParser
import Testing
@testable import vfioctl

/// The hook's commands parse without ArgumentParser (`FastArguments`); whatever the fast path accepts must mean
/// exactly what ArgumentParser makes of the same arguments, and whatever it is unsure of must go to ArgumentParser.
@Suite struct FastPathTests {
    func parsed(_ argv: [String]) throws -> ParsableCommand { try Vfioctl.parseAsRoot(argv) }

    @Test(arguments: [
        ["bind", "0000:03:00.0"],
        ["bind", "03:00.0", "0000:01:00.1", "--dry-run"],
        ["bind", "--force", "--take-display", "0000:01:00.0", "--root", "/tmp/x"],
        ["bind", "--root=examples/hosts/lab-q35", "0000:05:01.0"],
    ])
    func bindAgrees(_ argv: [String]) throws {
        let fast = try #require(Vfioctl.fastParse(argv) as? Bind)
        let slow = try #require(try parsed(argv) as? Bind)
        #expect(fast.addresses == slow.addresses && fast.dryRun == slow.dryRun && fast.force == slow.force)
        #expect(fast.takeDisplay == slow.takeDisplay && fast.root.root == slow.root.root)
    }

    @Test(arguments: [["restore"], ["restore", "0000:03:00.0", "--dry-run"], ["restore", "--root", "r", "01:00.0", "02:00.0"],
                      ["restore", "--drop-corrupt"]])
    func restoreAgrees(_ argv: [String]) throws {
        let fast = try #require(Vfioctl.fastParse(argv) as? Restore)
        let slow = try #require(try parsed(argv) as? Restore)
        #expect(fast.addresses == slow.addresses && fast.dryRun == slow.dryRun && fast.root.root == slow.root.root)
        #expect(fast.dropCorrupt == slow.dropCorrupt)
    }

    @Test(arguments: [
        ["shield", "--cpus", "2-5,8-11"],
        ["shield", "--cpus=1", "--dry-run"],
        ["shield", "--move", "12", "345", "--root", "/r"],
        ["shield", "--status"],
        ["shield", "--spec", "/etc/vfioctl/vms/win.toml", "--dry-run"],
        ["shield", "--spec", "/etc/vfioctl/vms/win.toml", "--vm", "win10"],
        ["shield", "--vm=win 10", "--cpus", "2-3"],
    ])
    func shieldAgrees(_ argv: [String]) throws {
        let fast = try #require(Vfioctl.fastParse(argv) as? Shield)
        let slow = try #require(try parsed(argv) as? Shield)
        #expect(fast.cpus == slow.cpus && fast.spec == slow.spec && fast.move == slow.move)
        #expect(fast.dryRun == slow.dryRun && fast.status == slow.status && fast.root.root == slow.root.root)
        #expect(fast.vm == slow.vm)
    }

    @Test func unshieldAgrees() throws {
        for argv in [["unshield"], ["unshield", "--root", "/r"], ["unshield", "--vm", "win10"], ["unshield", "--drop-corrupt", "--vm=a"]] {
            let fast = try #require(Vfioctl.fastParse(argv) as? Unshield)
            let slow = try #require(try parsed(argv) as? Unshield)
            #expect(fast.root.root == slow.root.root && fast.vm == slow.vm && fast.dropCorrupt == slow.dropCorrupt)
        }
    }

    /// Help, short options, unknown or repeated options, missing values, bad numbers, missing addresses: the fast
    /// path declines, and ArgumentParser either reads it or prints its usage error.
    @Test(arguments: [
        ["bind"], ["bind", "--help"], ["bind", "-h"], ["bind", "help"], ["bind", "01:00.0", "--frobnicate"],
        ["bind", "01:00.0", "--root"], ["bind", "01:00.0", "--dry-run", "--dry-run"], ["bind", "--", "01:00.0"],
        ["restore", "--root", "a", "--root", "b"], ["shield", "--move", "abc"], ["shield", "--move"],
        ["shield", "--cpus", "1", "extra"], ["unshield", "now"], ["unshield", "--vm"], ["shield", "--vm", "a", "--vm", "b"], ["list"], ["doctor", "--json"], [],
        // Values of the wrong type or failing validate(): ArgumentParser names them (exit 64).
        ["bind", "0000:zz:00.0"], ["bind", "01:00.0", "nope"], ["restore", "1:2:3"], ["shield", "--cpus", "7-3"], ["shield", "--cpus="],
        ["shield", "--cpus", "1", "--spec", "a.toml"], ["shield", "--vm=", "--cpus", "1"], ["unshield", "--vm="], ["bind", "--json", "--dry-run", "01:00.0"],
    ])
    func declines(_ argv: [String]) {
        #expect(Vfioctl.fastParse(argv) == nil)
    }
}
