import Foundation
import Testing
import VFIOCore
@testable import VFIOHost

/// `--root DIR` keeps every path inside DIR, for reads and writes: links are resolved as openat2's
/// RESOLVE_IN_ROOT resolves them (absolute targets start again at the root, `..` stops at it).
///
/// Reads run twice: through openat2(RESOLVE_IN_ROOT) and through the walk `realPath(_:)` uses (kernels before
/// 5.6), which must agree.
@Suite struct ConfinementTests {
    @Test(arguments: [true, false])
    func absoluteLinkReadsTheTreesFileNotTheHosts(_ kernel: Bool) throws {
        let dir = try TempDir()
        let device = "sys/bus/pci/devices/0000:01:00.0"
        try dir.write(device + "/vendor", "0x10de\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/" + device + "/reset_method", withDestinationPath: "/etc/shadow")
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        #expect(throws: FileReadError(path: "/" + device + "/reset_method", reason: .notFound)) {
            try fs.readText("/" + device + "/reset_method")
        }
        try dir.write("etc/shadow", "flr\n")
        #expect(try fs.readText("/" + device + "/reset_method") == "flr")
        #expect(fs.realPath("/" + device + "/reset_method") == fs.root + "/etc/shadow")
        #expect(try fs.readLink("/" + device + "/reset_method") == "/etc/shadow")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/sys/device", withDestinationPath: "/" + device)
        #expect(try fs.readLink("/sys/device/reset_method") == "/etc/shadow")
        #expect(throws: FileReadError(path: "/", reason: .notALink)) { try fs.readLink("/") }
    }

    @Test func writeThroughAnAbsoluteDirectoryLinkStaysInTheTree() throws {
        let dir = try TempDir()
        let outside = try TempDir()
        try outside.write("attr", "host\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/etc", withDestinationPath: outside.path)
        let fs = try RootedFileSystem(root: dir.path)
        let writer = RootedHostWriter(files: fs)
        // Not in the tree: the write fails (a writer never creates files), and the outside file is untouched.
        #expect(throws: HostWriteError.self) { try writer.write("/etc/attr", "tree") }
        #expect(try String(contentsOfFile: outside.path + "/attr", encoding: .utf8) == "host\n")
        // In the tree at the link's target read from the root: the write lands there.
        try dir.write(String(outside.path.dropFirst()) + "/attr", "old\n")
        try writer.write("/etc/attr", "tree")
        #expect(try fs.readText("/etc/attr") == "tree")
        #expect(try String(contentsOfFile: dir.path + outside.path + "/attr", encoding: .utf8) == "tree")
        #expect(try String(contentsOfFile: outside.path + "/attr", encoding: .utf8) == "host\n")
        #expect(fs.realPath("/etc/new-file").hasPrefix(fs.root + "/"))
    }

    @Test(arguments: ["../../../../../../../../etc/passwd", "../../../etc/passwd", "/../../etc/passwd"], [true, false])
    func dotDotChainsStopAtTheRoot(_ target: String, _ kernel: Bool) throws {
        let dir = try TempDir()
        try dir.write("sys/class/x/keep", "")
        try dir.write("etc/passwd", "tree:x:0:0\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/sys/class/x/up", withDestinationPath: target)
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        #expect(try fs.readText("/sys/class/x/up") == "tree:x:0:0")
        #expect(fs.realPath("/sys/class/x/up") == fs.root + "/etc/passwd")
        #expect(fs.realPath("/../../../etc/passwd") == fs.root + "/etc/passwd")
        // As the kernel: a file is not a directory to climb out of.
        #expect(throws: FileReadError(path: "/sys/class/x/up/..", reason: .notADirectory)) { try fs.listDirectory("/sys/class/x/up/..") }
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/sys/class/x/etc", withDestinationPath: HostPath.parent(target))
        #expect(try fs.listDirectory("/sys/class/x/etc") == ["passwd"])
        #expect(try fs.listDirectory("/sys/class/x/etc/../sys/class/x/etc/../../../..") == ["etc", "sys"])
    }

    @Test(arguments: [true, false])
    func linkLoopIsAnErrorAndWritesGoNowhere(_ kernel: Bool) throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/sys", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/sys/a", withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/sys/b", withDestinationPath: "/sys/a")
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        #expect(throws: FileReadError(path: "/sys/a/x", reason: .linkLoop)) { try fs.readBytes("/sys/a/x") }
        #expect(throws: FileReadError(path: "/sys/a", reason: .linkLoop)) { try fs.listDirectory("/sys/a") }
        #expect(fs.kind(of: "/sys/a") == nil)
        #expect(throws: HostWriteError.self) { try RootedHostWriter(files: fs).write("/sys/a", "1") }
        #expect(mkdir(fs.realPath("/sys/a/d"), 0o755) != 0)
    }

    @Test(arguments: [true, false])
    func sparseHugeFileIsRefusedByName(_ kernel: Bool) throws {
        let dir = try TempDir()
        try dir.write("proc/cpuinfo", "")
        #expect(truncate(dir.path + "/proc/cpuinfo", 100 << 20) == 0)
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        #expect(throws: FileReadError(path: "/proc/cpuinfo", reason: .tooLarge(limit: Syscalls.readLimit))) {
            try fs.readBytes("/proc/cpuinfo")
        }
        #expect(FileReadError(path: "/proc/cpuinfo", reason: .tooLarge(limit: 16 << 20)).description.contains("/proc/cpuinfo"))
    }

    /// A file that never ends (`/dev/zero` on the real root, where device nodes stay readable) stops at the
    /// limit instead of growing without end.
    @Test func endlessFileStopsAtTheLimit() throws {
        let fs = try RootedFileSystem(root: "/")
        #expect(throws: FileReadError(path: "/dev/zero", reason: .tooLarge(limit: Syscalls.readLimit))) {
            try fs.readBytes("/dev/zero")
        }
    }

    @Test(.enabled(if: getuid() == 0, "mknod needs root"))
    func deviceNodeInATreeIsRefused() throws {
        let kernel = true
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/proc", withIntermediateDirectories: true)
        #expect(mknod(dir.path + "/proc/cpuinfo", S_IFCHR | 0o666, dev_t((1 << 8) | 5)) == 0)
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        #expect(throws: FileReadError(path: "/proc/cpuinfo", reason: .notARegularFile("a character device"))) {
            try fs.readBytes("/proc/cpuinfo")
        }
    }

    /// A FIFO would block open(2) forever; it must fail at once, naming the path. The read runs on its own
    /// thread so a regression fails the test after a few seconds instead of hanging the run.
    @Test(arguments: [false, true], [true, false])
    func fifoInATreeFailsQuickly(_ ranges: Bool, _ kernel: Bool) throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/proc", withIntermediateDirectories: true)
        let fifo = dir.path + "/proc/cmdline"
        #expect(mkfifo(fifo, 0o644) == 0)
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: FileReadError?
        Thread.detachNewThread {
            do {
                if ranges { try fs.readRanges("/proc/cmdline") { _ in } } else { _ = try fs.readBytes("/proc/cmdline") }
            } catch let error as FileReadError { outcome = error } catch {}
            done.signal()
        }
        if done.wait(timeout: .now() + 5) == .timedOut {
            Issue.record("reading a FIFO under --root hung")
            // Unblock the reader: a writer that opens and closes at once.
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
            _ = done.wait(timeout: .now() + 5)
            return
        }
        #expect(outcome == FileReadError(path: "/proc/cmdline", reason: .notARegularFile("a FIFO")))
        #expect(outcome?.description == "/proc/cmdline: is a FIFO, not a regular file; refused")
    }

    @Test func realRootPathsAreUsedAsGiven() throws {
        let fs = try RootedFileSystem(root: "/")
        #expect(fs.realPath("/etc/../etc/shadow") == "/etc/../etc/shadow")
        #expect(try !fs.readText("/proc/self/status").isEmpty)
        #expect(fs.kind(of: "/dev/null") == .other)
    }

    @Test(arguments: [true, false])
    func treeLinksStillWorkInsideTheTree(_ kernel: Bool) throws {
        let dir = try TempDir()
        try dir.write("sys/devices/pci0000:00/0000:00:01.0/vendor", "0x8086\n")
        try FileManager.default.createDirectory(atPath: dir.path + "/sys/bus/pci/devices", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/sys/bus/pci/devices/0000:00:01.0",
                                                   withDestinationPath: "../../../devices/pci0000:00/0000:00:01.0")
        let fs = try RootedFileSystem(root: dir.path, kernelResolution: kernel)
        #expect(try fs.readText("/sys/bus/pci/devices/0000:00:01.0/vendor") == "0x8086")
        #expect(fs.kind(of: "/sys/bus/pci/devices/0000:00:01.0") == .directory)
        #expect(try fs.listDirectory("/sys/bus/pci/devices/0000:00:01.0") == ["vendor"])
        #expect(try fs.readLink("/sys/bus/pci/devices/0000:00:01.0") == "../../../devices/pci0000:00/0000:00:01.0")
        #expect(fs.realPath("/sys/bus/pci/devices/0000:00:01.0/new") == fs.root + "/sys/devices/pci0000:00/0000:00:01.0/new")
    }
}
