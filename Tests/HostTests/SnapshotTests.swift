import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

@Suite struct RootedFileSystemTests {
    @Test func missingRootIsAClearError() {
        #expect(throws: HostError.self) { try RootedFileSystem(root: "/nonexistent-vfioctl-root") }
        do { _ = try HostSession(root: "/nonexistent-vfioctl-root") } catch {
            #expect(error.description.contains("/nonexistent-vfioctl-root"))
        }
    }

    @Test func errorsNameTheHostPath() throws {
        let dir = try TempDir()
        try dir.write("sys/x", "1\n")
        let fs = try RootedFileSystem(root: dir.path)
        #expect(try fs.readText("/sys/x") == "1")
        do { _ = try fs.readBytes("/sys/missing") ; Issue.record("expected an error") } catch {
            #expect(error.path == "/sys/missing" && error.reason == .notFound)
        }
        #expect(fs.kind(of: "/sys") == .directory)
    }

    @Test func unreadableSnapshotIsAClearError() throws {
        let dir = try TempDir()
        try dir.write("bad.tar.gz", "not a tarball")
        do { _ = try HostSession(root: dir.path + "/bad.tar.gz"); Issue.record("expected an error") } catch {
            #expect(error.description.contains("bad.tar.gz"))
        }
    }
}

@Suite struct SnapshotTests {
    /// Snapshot this machine's own `/` (read-only), replay it, and compare the model vfioctl builds from both.
    @Test func snapshotOfThisHostReplaysToTheSameList() throws {
        let live = try HostSession(root: "/")
        let recorder = RecordingReader(live.files)
        let liveHost = try live.load(reader: recorder)
        let dir = try TempDir()
        let archive = dir.path + "/host.tar.gz"
        let summary = try Snapshot.write(accesses: recorder.accesses, from: live.files, to: archive)
        #expect(summary.files > 10)

        let replay = try HostSession(root: archive)
        let replayHost = try replay.load()
        #expect(ListRenderer.json(replayHost) == ListRenderer.json(liveHost))
        #expect(replayHost.cpu.logicalCPUs == liveHost.cpu.logicalCPUs)
        #expect(replayHost.cmdline == liveHost.cmdline)
        #expect(replayHost.irqs.count == liveHost.irqs.count)
        // Symlinks are kept as links, as the kernel makes them.
        let first = try #require(liveHost.devices.first)
        #expect(replay.files.kind(of: "/sys/bus/pci/devices/\(first.address)") == .directory)
        #expect(try replay.files.readLink("/sys/bus/pci/devices/\(first.address)").hasPrefix("../../../devices/"))
    }

    @Test func macAddressesAreRedacted() {
        var bytes = Array("address: 3c:7c:3f:1a:2b:4d\nnot a mac: 3c:7c:3f:1a:2b:4d:99\n".utf8)
        #expect(Redaction.redactMACs(&bytes) == 1)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("address: 02:00:00:00:00:00\n"))
    }

    @Test func inputDeviceSerialsAreRedacted() {
        #expect(Redaction.redactLinkName("/dev/input/by-id/usb-Corsair_K70_0901B01EAF5D9C53-event-kbd")
                == "/dev/input/by-id/usb-Corsair_K70_SERIAL-event-kbd")
        #expect(Redaction.redactLinkName("/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse")
                == "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse")
    }

    @Test func absoluteLinkTargetsBecomeRelative() {
        #expect(Redaction.relative(from: "/dev/input/by-id", to: "/dev/input/event3") == "../event3")
    }
}

/// A temporary directory removed when the test ends.
final class TempDir {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vfioctl-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }
}
