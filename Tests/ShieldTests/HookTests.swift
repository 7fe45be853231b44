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

    /// Runs the real script with a stub vfioctl that logs its arguments.
    func runHook(_ args: [String], host: FakeHost) throws -> (status: Int32, calls: [String]) {
        try host.write("/bin/vfioctl", """
            #!/bin/sh
            echo "$*" >> \(host.dir)/calls
            [ "$1 $2" = "hook devices" ] && echo 0000:01:00.0 0000:01:00.1
            exit 0

            """)
        chmod(host.dir + "/bin/vfioctl", 0o755)
        try host.write("/hook", HookScript.render(vfioctl: host.dir + "/bin/vfioctl", specDirectory: host.dir + "/specs"))
        try host.write("/specs/win10.toml", "name = \"win10\"\n")
        try host.write("/run/libvirt/qemu/win10.pid", "4242\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [host.dir + "/hook"] + args
        try p.run()
        p.waitUntilExit()
        let calls = (try? String(contentsOfFile: host.dir + "/calls", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: host.dir + "/calls")
        return (p.terminationStatus, calls.split(separator: "\n").map(String.init))
    }

    @Test func hookActsOnlyForVMsWithASpec() throws {
        let host = try FakeHost()
        let other = try runHook(["someone-elses-vm", "prepare", "begin", "-"], host: host)
        #expect(other.status == 0 && other.calls.isEmpty)
        let prepare = try runHook(["win10", "prepare", "begin", "-"], host: host)
        let spec = host.dir + "/specs/win10.toml"
        #expect(prepare.status == 0)
        #expect(prepare.calls == ["hook devices \(spec)", "bind --help", "bind 0000:01:00.0 0000:01:00.1", "shield --spec \(spec) --vm win10"])
        // libvirt's pid file lives under /run/libvirt on the real host; the stub tree has none there.
        let release = try runHook(["win10", "release", "end", "-"], host: host)
        // Only this VM's shield ends: another VM started through the hook keeps its CPUs.
        #expect(release.calls == ["unshield --vm win10", "hook devices \(spec)", "restore --help", "restore 0000:01:00.0 0000:01:00.1"])
    }
}
