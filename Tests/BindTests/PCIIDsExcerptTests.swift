import Foundation
import Testing
@testable import VFIOCore
@testable import VFIOHost

@Suite struct PCIIDsExcerptTests {
    static let ids = """
        # pci.ids excerpt
        1234  Technical Corp.
        \t1111  QEMU Virtual Video Controller
        1b36  Red Hat, Inc.
        \t000c  QEMU PCIe Root port
        # a comment inside a block
        \t000d  QEMU XHCI Host Controller
        \t\t1af4 1100  QEMU Virtual Machine
        8086  Intel Corporation
        \t100e  82540EM Gigabit Ethernet Controller
        \t\t8086 001e  PRO/1000 MT Desktop Adapter
        80ee  InnoTek Systemberatung GmbH
        \tbeef  VirtualBox Graphics Adapter
        C 02  Network controller
        \t00  Ethernet controller

        """

    func excerpt(_ ids: [(vendor: UInt16, device: UInt16)], chunk: Int) -> PCIIDsExcerpt {
        var ex = PCIIDsExcerpt(ids)
        let bytes = Array(Self.ids.utf8)
        var i = 0
        while i < bytes.count, !ex.isComplete {
            ex.feed(Array(bytes[i..<min(i + chunk, bytes.count)]))
            i += chunk
        }
        ex.finish()
        return ex
    }

    @Test(arguments: [1, 3, 7, 64, 4096])
    func keepsOnlyTheFunctionsAskedFor(chunk: Int) {
        let ex = excerpt([(0x1b36, 0x000d), (0x8086, 0x100e)], chunk: chunk)
        #expect(String(decoding: ex.bytes, as: UTF8.self) == """
            1b36  Red Hat, Inc.
            \t000d  QEMU XHCI Host Controller
            \t\t1af4 1100  QEMU Virtual Machine
            8086  Intel Corporation
            \t100e  82540EM Gigabit Ethernet Controller
            \t\t8086 001e  PRO/1000 MT Desktop Adapter

            """)
        let db = ex.database
        #expect(db.vendorName(0x8086) == "Intel Corporation")
        #expect(db.deviceName(0x8086, 0x100e) == "82540EM Gigabit Ethernet Controller")
        #expect(db.deviceName(0x1b36, 0x000d) == "QEMU XHCI Host Controller")
        #expect(db.subsystemName(0x8086, 0x100e, 0x8086, 0x001e) == "PRO/1000 MT Desktop Adapter")
        #expect(db.deviceName(0x1b36, 0x000c) == nil)
        #expect(db.vendorName(0x1234) == nil && db.vendorName(0x80ee) == nil)
        #expect(db.classes.isEmpty)
    }

    @Test func isCompleteAfterTheLastVendorAskedFor() {
        var ex = PCIIDsExcerpt([(0x1234, 0x1111)])
        ex.feed(Array("1234  Technical Corp.\n\t1111  QEMU Virtual Video Controller\n".utf8))
        #expect(!ex.isComplete)
        ex.feed(Array("1b36  Red Hat, Inc.\n".utf8))
        #expect(ex.isComplete)
        ex.feed(Array("1234  again\n".utf8))
        #expect(ex.database.vendorName(0x1234) == "Technical Corp.")
    }

    @Test func aLastLineWithoutNewlineCounts() {
        var ex = PCIIDsExcerpt([(0x8086, 0x100e)])
        ex.feed(Array("8086  Intel Corporation\n\t100e  82540EM".utf8))
        ex.finish()
        #expect(ex.database.deviceName(0x8086, 0x100e) == "82540EM")
    }

    @Test func nothingAskedIsComplete() {
        #expect(PCIIDsExcerpt([]).isComplete)
    }

    @Test func matchesTheFullParseOnTheSystemDatabase() throws {
        guard let text = try? String(contentsOfFile: "/usr/share/misc/pci.ids", encoding: .utf8) else { return }
        let bytes = Array(text.utf8)
        let ids: [(vendor: UInt16, device: UInt16)] = [(0x8086, 0x100e), (0x1b36, 0x000d), (0x1b36, 0x0010), (0x10de, 0x1f08)]
        var ex = PCIIDsExcerpt(ids)
        var i = 0
        while i < bytes.count, !ex.isComplete { ex.feed(Array(bytes[i..<min(i + 65536, bytes.count)])); i += 65536 }
        ex.finish()
        let full = PCIIDDatabase(bytes: bytes)
        let part = ex.database
        for (v, d) in ids {
            #expect(part.vendorName(v) == full.vendorName(v))
            #expect(part.deviceName(v, d) == full.deviceName(v, d))
            #expect(part.deviceName(v, d) != nil)
        }
        #expect(part.subsystems.allSatisfy { full.subsystems[$0.key] == $0.value })
    }
}

@Suite struct PCIIDsSeekTests {
    /// bind's names come from a bisection to each vendor's block: the same names as the whole file gives, for
    /// the first and last vendors, vendors without devices, ids pci.ids does not have; reading a small part
    /// (the whole file is 1.36 MB).
    @Test func namesAfterSeekingEqualTheFullParse() throws {
        guard let text = try? String(contentsOfFile: "/usr/share/misc/pci.ids", encoding: .utf8) else { return }
        let bytes = Array(text.utf8)
        let full = PCIIDDatabase(bytes: bytes)
        var read = 0
        func reader(_ offset: Int, _ count: Int) -> [UInt8] {
            guard offset < bytes.count else { return [] }
            let block = Array(bytes[offset..<min(bytes.count, offset + count)])
            read += block.count
            return block
        }
        let vendors = full.vendors.keys.sorted()
        let picks = [vendors.first!, vendors.last!, 0x1b36, 0x8086, 0x10de, 0x1002, 0x0000, 0xfffe] + vendors.enumerated().filter { $0.offset % 97 == 0 }.map(\.element)
        for v in picks {
            let devices = full.devices.keys.filter { $0 >> 16 == UInt32(v) }.sorted().prefix(2).map { UInt16($0 & 0xffff) }
            let ids = (devices.isEmpty ? [0x1234] : devices).map { (vendor: v, device: $0) }
            read = 0
            let db = try BindNames.excerpt(ids) { body throws(FileReadError) in body(reader) }
            #expect(db.vendorName(v) == full.vendorName(v), "vendor \(hex(v, width: 4))")
            for (_, d) in ids { #expect(db.deviceName(v, d) == full.deviceName(v, d), "\(hex(v, width: 4)):\(hex(d, width: 4))") }
            // Past a very long device list (Intel's 370 kB) the bisection may not see vendor lines and scans it.
            #expect(read < (v > 0x8086 || (v > 0x10de && v < 0x1200) ? 520_000 : 200_000), "vendor \(hex(v, width: 4)): read \(read) of \(bytes.count) bytes")
        }
    }
}

@Suite struct NewlineSearchTests {
    @Test func findsEveryNewlineAtEveryOffset() {
        for length in 0..<40 {
            for at in 0..<length {
                var bytes = [UInt8](repeating: 0x41, count: length)
                bytes[at] = 0x0A
                // Bytes next to the newline value must not match (0x0B, 0x09, 0x8A).
                if at + 1 < length { bytes[at + 1] = 0x0B }
                if at > 0 { bytes[at - 1] = 0x8A }
                for from in 0...at {
                    let found = bytes.withUnsafeBufferPointer { PCIIDsExcerpt.newline($0, from: from) }
                    #expect(found == at, "length \(length), newline at \(at), from \(from)")
                }
                let after = bytes.withUnsafeBufferPointer { PCIIDsExcerpt.newline($0, from: at + 1) }
                #expect(after == nil)
            }
        }
    }
}
