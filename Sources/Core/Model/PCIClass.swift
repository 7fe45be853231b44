/// The 24-bit PCI class code (sysfs: `class`, e.g. `0x030000`): base class, subclass, programming interface.
public struct PCIClass: Hashable, Sendable {
    public let base: UInt8
    public let sub: UInt8
    public let progIf: UInt8

    public init(base: UInt8, sub: UInt8, progIf: UInt8 = 0) {
        self.base = base
        self.sub = sub
        self.progIf = progIf
    }

    public init(code: UInt32) {
        self.init(base: UInt8((code >> 16) & 0xff), sub: UInt8((code >> 8) & 0xff), progIf: UInt8(code & 0xff))
    }

    /// Four hex digits (base + subclass) as `lspci -nn` shows them: "0300".
    public var hex4: String { hex(base, width: 2) + hex(sub, width: 2) }

    // PCI Code and ID Assignment Specification r1.x, class codes used by the checks.
    public var isBridge: Bool { base == 0x06 }
    public var isPCIBridge: Bool { base == 0x06 && (sub == 0x04 || sub == 0x09) }
    public var isHostBridge: Bool { base == 0x06 && sub == 0x00 }
    public var isISABridge: Bool { base == 0x06 && sub == 0x01 }
    public var isDisplay: Bool { base == 0x03 }
    public var isVGA: Bool { base == 0x03 && sub == 0x00 }
    public var isAudio: Bool { base == 0x04 }
    public var isStorage: Bool { base == 0x01 }
    public var isNetwork: Bool { base == 0x02 }
    public var isUSB: Bool { base == 0x0c && sub == 0x03 }
    public var isSMBus: Bool { base == 0x0c && sub == 0x05 }
    public var isSerialBus: Bool { base == 0x0c }
}
