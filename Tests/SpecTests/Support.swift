import Foundation
import Synchronization
import Testing
import VFIOCore
import VFIOHost
@_exported import VFIOTestSupport

/// Paths of the checkout, found from this file (Tests/SpecTests/Support.swift).
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static func path(_ relative: String) -> String { root + "/" + relative }
}

/// Example hosts and the specs tests derive from them (the same requests the README shows).
enum Examples {
    /// Loading a host (and naming its devices from pci.ids) is the slow part of these tests: once per host.
    private static let cache = Mutex<[String: (HostSession, HostModel)]>([:])

    static func load(_ name: String) throws -> (HostSession, HostModel) {
        if let hit = cache.withLock({ $0[name] }) { return hit }
        let session = try HostSession(root: Repo.path("examples/hosts/\(name)"))
        let loaded = (session, try session.load())
        cache.withLock { $0[name] = loaded }
        return loaded
    }

    struct Case: Sendable, CustomStringConvertible {
        var host: String
        var name: String
        var devices: [String]
        var vcpus: Int
        var memory: Int
        var hugepages = true
        var lookingGlass: VMSpec.LookingGlass? = nil
        var inputByID = false
        var rom: String? = nil
        var os: VMSpec.GuestOS? = nil
        var iso: String? = nil
        var virtioISO: String? = nil
        var diskBus: VMSpec.Disk.Bus = .virtio
        var network: VMSpec.Network.Source = .network("default")
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(host: "z490-three-gpus", name: "z490-rtx2060", devices: ["0000:06:00.0"], vcpus: 8, memory: 16384,
             lookingGlass: .init(width: 1920, height: 1080), inputByID: true),
        Case(host: "z490-three-gpus", name: "z490-rx5700xt", devices: ["0000:04:00.0"], vcpus: 12, memory: 8192,
             hugepages: false, rom: "/var/lib/vfioctl/navi10.rom"),
        Case(host: "ryzen-chipset-gpu", name: "ryzen-rtx3080", devices: ["0000:06:00.0"], vcpus: 6, memory: 8192,
             lookingGlass: .init(width: 2560, height: 1440), inputByID: true),
        // One complete, installable VM per guest OS (install media, TPM and Secure Boot for Windows 11).
        Case(host: "z490-three-gpus", name: "z490-win11-install", devices: ["0000:06:00.0"], vcpus: 8, memory: 16384,
             lookingGlass: .init(width: 1920, height: 1080), inputByID: true, os: .windows11,
             iso: "/var/lib/libvirt/images/Win11_24H2_English_x64.iso", virtioISO: "/var/lib/libvirt/images/virtio-win.iso"),
        Case(host: "ryzen-chipset-gpu", name: "ryzen-win10-sata", devices: ["0000:06:00.0"], vcpus: 6, memory: 8192,
             hugepages: false, os: .windows10, iso: "/srv/iso/Win10_22H2_English_x64.iso", diskBus: .sata, network: .bridge("br0")),
        Case(host: "x570-twin-gpus", name: "x570-linux", devices: ["0000:0c:00.0"], vcpus: 4, memory: 8192,
             hugepages: false, os: .linux, iso: "/srv/iso/debian-12.8.0-amd64-netinst.iso"),
    ]

    static func spec(_ c: Case) throws -> (VMSpec, [String]) {
        let (session, host) = try load(c.host)
        var r = InitRequest(name: c.name, devices: c.devices.compactMap(PCIAddress.init), vcpus: c.vcpus, memoryMiB: c.memory)
        r.hugepages = c.hugepages
        r.lookingGlass = c.lookingGlass
        r.inputByID = c.inputByID
        r.rom = c.rom
        r.os = c.os
        r.iso = c.iso
        r.virtioISO = c.virtioISO
        r.diskBus = c.diskBus
        r.network = c.network
        return try SpecBuilder.build(r, host: host, files: session.files)
    }
}

/// Whole-output comparison with a committed file under Tests/Golden; `VFIOCTL_RECORD=1` rewrites it.
enum Golden {
    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let path = Repo.path("Tests/Golden/\(name)")
        if ProcessInfo.processInfo.environment["VFIOCTL_RECORD"] == "1" {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            Issue.record("missing golden file \(path); record with VFIOCTL_RECORD=1 swift test --filter SpecTests", sourceLocation: sourceLocation)
            return
        }
        if expected != actual {
            Issue.record("\(name) differs from the golden file (re-record with VFIOCTL_RECORD=1 if intended):\n\(UnifiedDiff.render(old: expected, new: actual, oldName: "golden/\(name)", newName: "actual"))", sourceLocation: sourceLocation)
        }
    }
}

/// Runs a program, returning status and combined output.
enum Run {
    static func which(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        return nil
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String], cwd: String? = nil) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
