import Testing
@testable import VFIOCore

/// CPU lists and masks come from spec files, the command line and snapshots: their expansion is capped at the
/// kernel's NR_CPUS maximum, so no text can make vfioctl allocate without end.
@Suite struct CPUListHardeningTests {
    @Test(arguments: [
        ("0-4294967295", "CPU 4294967295 is above 8191, the highest CPU number the kernel supports"),
        ("0-99999999999999999999999", "CPU 99999999999999999999999 is above 8191, the highest CPU number the kernel supports"),
        ("8192", "CPU 8192 is above 8191, the highest CPU number the kernel supports"),
        ("0-8191,0-8191", "more than 8192 CPUs named (ranges repeat)"),
        ("7-3", "range 7-3 runs backwards"),
        ("1-2-3", "'1-2-3' is not a CPU or a range"),
        ("+3", "'+3' is not a CPU number"),
        ("a", "'a' is not a CPU number"),
    ])
    func refusesWithAReason(_ text: String, _ reason: String) {
        #expect(throws: CPUSet.ListError(reason)) { try CPUSet.parse(list: text) }
        #expect(CPUSet(list: text) == nil)
    }

    @Test func repeatedWideRangesAreRefusedQuickly() {
        // 65536 members per item, repeated: the old parser expanded every copy before removing duplicates.
        let text = Array(repeating: "0-65535", count: 100_000).joined(separator: ",")
        #expect(CPUSet(list: text) == nil)
        let within = Array(repeating: "0-8191", count: 100_000).joined(separator: ",")
        #expect(CPUSet(list: within) == nil)
    }

    @Test func theWholeRangeUpToTheCapIsFine() throws {
        #expect(try CPUSet.parse(list: "0-8191").count == 8192)
        #expect(try CPUSet.parse(list: "8191").cpus == [8191])
        #expect(try CPUSet.parse(list: " 0-3,8,10-11\n").description == "0-3,8,10-11")
        #expect(try CPUSet.parse(list: "").isEmpty)
        #expect(try CPUSet.parse(list: "3,1,1").cpus == [1, 3])
    }

    @Test func masksAboveTheCapAreRefusedButLeadingZerosAreFine() {
        // An NR_CPUS=8192 kernel prints 256 words of eight digits.
        let zeros = Array(repeating: "00000000", count: 255).joined(separator: ",") + ",00000005"
        #expect(CPUSet(mask: zeros)?.cpus == [0, 2])
        #expect(CPUSet(mask: "1" + String(repeating: "0", count: 2048)) == nil)
        #expect(CPUSet(mask: "8" + String(repeating: "0", count: 2047))?.cpus == [8191])
    }
}
