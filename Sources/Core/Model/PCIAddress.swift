/// A PCI function address as sysfs names it: `DDDD:BB:DD.F` (domain, bus, device, function).
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let domain: UInt32
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    public init(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Accepts `0000:07:00.0` and, for user input, the short `07:00.0` (domain 0).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let domainText: Substring
        let busText: Substring
        let slotText: Substring
        switch parts.count {
        case 3: (domainText, busText, slotText) = (parts[0], parts[1], parts[2])
        case 2: (domainText, busText, slotText) = ("0", parts[0], parts[1])
        default: return nil
        }
        let slot = slotText.split(separator: ".", omittingEmptySubsequences: false)
        guard slot.count == 2, domainText.count <= 8, busText.count == 2, slot[0].count == 2, slot[1].count == 1,
              let d = UInt32(domainText, radix: 16), let b = UInt8(busText, radix: 16),
              let dev = UInt8(slot[0], radix: 16), let fn = UInt8(slot[1], radix: 16),
              dev < 32, fn < 8
        else { return nil }
        self.init(domain: d, bus: b, device: dev, function: fn)
    }

    public var description: String {
        "\(hex(domain, width: 4)):\(hex(bus, width: 2)):\(hex(device, width: 2)).\(function)"
    }

    /// `BB:DD.F` without the domain, as plain `lspci` prints it.
    public var shortDescription: String {
        "\(hex(bus, width: 2)):\(hex(device, width: 2)).\(function)"
    }

    /// The same slot's function 0 (a multifunction card's functions share a slot).
    public var slot: PCIAddress { PCIAddress(domain: domain, bus: bus, device: device, function: 0) }

    public static func < (a: PCIAddress, b: PCIAddress) -> Bool {
        (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
    }
}
