import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct HookTests {
    @Test func installIsIdempotentAndNeverReplacesAForeignHook() throws {
        let host = try FakeHost()
        let installer = HookInstaller(files: host.files)
        let script = HookScript.render(vfioctl: "/usr/local/bin/vfioctl")
        #expect(try installer.install(script: script) == .installed)
        #expect(try installer.install(script: script) == .unchanged)
        #expect(try installer.install(script: HookScript.render(vfioctl: "/opt/vfioctl")) == .updated)
        let attrs = try FileManager.default.attributesOfItem(atPath: host.dir + HookScript.path)
        #expect((attrs[.posixPermissions] as? Int) == 0o755)
        try host.write("/etc/libvirt/hooks/qemu.d/other", "#!/bin/sh\nexit 0\n")
        #expect(throws: ShieldError.self) { try installer.install(script: script, at: "/etc/libvirt/hooks/qemu.d/other") }
    }

    /// A hook installed by an earlier vfioctl (v1 ran bind, shield and restore as separate processes) is ours:
    /// installing replaces it with the current one.
    @Test func installReplacesAVersion1Hook() throws {
        let host = try FakeHost()
        try host.write(HookScript.path, "#!/bin/sh\n# vfioctl-hook v1: installed by `vfioctl hook install`.\nhas() { :; }\n")
        #expect(try HookInstaller(files: host.files).install(script: HookScript.render(vfioctl: "/usr/bin/vfioctl")) == .updated)
        #expect(host.read(HookScript.path).contains("exec \"$VFIOCTL\" hook run --specs \"$SPECS\" -- \"$@\""))
        #expect(!host.read(HookScript.path).contains("has()"))
    }

    /// Runs the real script with a stub vfioctl that logs its arguments and what it read on standard input.
    func runHook(_ args: [String], host: FakeHost, environment: [String: String] = [:], stubAt: String = "/bin/vfioctl")
        throws -> (status: Int32, calls: [String], stderr: String) {
        // The script leaves an unmanaged VM's standard input unread: writing to it then fails (EPIPE), not kills.
        signal(SIGPIPE, SIG_IGN)
        try host.write(stubAt, """
            #!/bin/sh
            echo "$* <$(cat)>" >> \(host.dir)/calls
            exit 0

            """)
        chmod(host.dir + stubAt, 0o755)
        try host.write("/hook", HookScript.render(vfioctl: host.dir + "/bin/vfioctl", specDirectory: host.dir + "/specs"))
        try host.write("/specs/win10.toml", "name = \"win10\"\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [host.dir + "/hook"] + args
        p.environment = environment
        let input = Pipe(), err = Pipe()
        p.standardInput = input
        p.standardError = err
        try p.run()
        try? input.fileHandleForWriting.write(contentsOf: Data("<domain/>\n".utf8))
        try? input.fileHandleForWriting.close()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let calls = (try? String(contentsOfFile: host.dir + "/calls", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: host.dir + "/calls")
        return (p.terminationStatus, calls.split(separator: "\n").map(String.init), String(decoding: e, as: UTF8.self))
    }

    /// An unmanaged VM costs a shell and one stat: vfioctl never starts. A managed VM's event is one vfioctl
    /// process, `hook run`, with libvirt's arguments and the domain XML on its standard input.
    @Test func hookHandsOnlyVMsWithASpecToOneHookRun() throws {
        let host = try FakeHost()
        for phase in [["prepare", "begin"], ["started", "begin"], ["release", "end"]] {
            let other = try runHook(["someone-elses-vm"] + phase + ["-"], host: host)
            #expect(other.status == 0 && other.calls.isEmpty)
        }
        let specs = host.dir + "/specs"
        let prepare = try runHook(["win10", "prepare", "begin", "-"], host: host)
        #expect(prepare.status == 0)
        #expect(prepare.calls == ["hook run --specs \(specs) -- win10 prepare begin - <<domain/>>"])
        let release = try runHook(["win10", "release", "end", "-"], host: host)
        #expect(release.calls == ["hook run --specs \(specs) -- win10 release end - <<domain/>>"])
    }

    @Test func environmentOverridesTheBinaryAndTheSpecs() throws {
        let host = try FakeHost()
        try host.write("/elsewhere/lab.toml", "name = \"lab\"\n")
        let moved = try runHook(["lab", "prepare", "begin", "-"], host: host,
                                environment: ["VFIOCTL_HOOK_BINARY": host.dir + "/opt/vfioctl", "VFIOCTL_HOOK_SPECS": host.dir + "/elsewhere"],
                                stubAt: "/opt/vfioctl")
        #expect(moved.calls == ["hook run --specs \(host.dir)/elsewhere -- lab prepare begin - <<domain/>>"])
        // The specs moved away: win10's spec in the rendered directory no longer makes it managed.
        #expect(try runHook(["win10", "prepare", "begin", "-"], host: host, environment: ["VFIOCTL_HOOK_SPECS": host.dir + "/elsewhere"]).calls.isEmpty)
        let missing = try runHook(["win10", "prepare", "begin", "-"], host: host, environment: ["VFIOCTL_HOOK_BINARY": host.dir + "/nowhere"])
        #expect(missing.status == 0 && missing.calls.isEmpty)
        #expect(missing.stderr == "vfioctl hook: win10 prepare/begin: \(host.dir)/nowhere is missing; the VM is left alone\n")
    }

    @Test(arguments: [("prepare", "begin", HookEvent.prepare), ("started", "begin", .started), ("release", "end", .release),
                      ("stopped", "end", .other), ("prepare", "end", .other), ("migrate", "begin", .other), ("reconnect", "begin", .other)])
    func events(_ operation: String, _ sub: String, _ event: HookEvent) {
        #expect(HookEvent(operation: operation, subOperation: sub) == event)
    }

    @Test func qemuPIDIsReadUnderTheRoot() throws {
        let host = try FakeHost()
        #expect(HookEvent.qemuPID(vm: "win10", files: host.files) == nil)
        try host.write("/run/libvirt/qemu/win10.pid", "4242\n")
        #expect(HookEvent.qemuPID(vm: "win10", files: host.files) == 4242)
        try host.write("/run/libvirt/qemu/bad.pid", "42x\n")
        #expect(HookEvent.qemuPID(vm: "bad", files: host.files) == nil)
    }
}
