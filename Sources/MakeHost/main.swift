import Foundation
import VFIOFixtures

var host = HostTree()
let rp = host.addDevice("0000:00:01.0", vendor: 0x8086, device: 0x1901, classCode: 0x060400, driver: "pcieport")
host.addDevice("0000:01:00.0", parent: rp, vendor: 0x10de, device: 0x21c4, classCode: 0x030000, driver: "nvidia")
try host.write(to: URL(fileURLWithPath: Swift.CommandLine.arguments[1]))
