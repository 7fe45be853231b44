// swift-tools-version: 6.0
import PackageDescription

// Layers (the folder of a file tells its layer):
//   Sources/Core     VFIOCore     pure: model, parsing, checks, quirks, rendering. No syscalls, no Foundation.
//   Sources/Host     VFIOHost     the one door to the host: rooted filesystem, snapshots, later writes/journal.
//   Sources/CLI      vfioctl      thin argument-parser front end.
//   Sources/Fixtures VFIOFixtures builders for fake host trees (tests, example hosts, benchmarks).
//   Sources/MakeHost vfioctl-mkhost  writes example and synthetic host trees with VFIOFixtures.
//   Tests/Support    VFIOTestSupport the one fake kernel and fake host, the CLI runner: for test targets only.
let package = Package(
    name: "vfioctl",
    products: [
        .executable(name: "vfioctl", targets: ["vfioctl"]),
        .library(name: "VFIOCore", targets: ["VFIOCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // FileDescriptor and Errno for the Host layer only: VFIOCore stays free of every package and syscall.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .target(name: "VFIOCore", path: "Sources/Core"),
        .target(name: "VFIOHost", dependencies: ["VFIOCore", "CVFIO", .product(name: "Histogram", package: "hdrhistogram-swift"),
                                                    .product(name: "SystemPackage", package: "swift-system")], path: "Sources/Host"),
        .target(name: "CVFIO", path: "Sources/CVFIO"),
        .executableTarget(
            name: "vfioctl",
            dependencies: ["VFIOCore", "VFIOHost", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI"),
        .target(name: "VFIOFixtures", path: "Sources/Fixtures"),
        .executableTarget(name: "vfioctl-mkhost", dependencies: ["VFIOFixtures"], path: "Sources/MakeHost"),
        .target(name: "VFIOTestSupport", dependencies: ["VFIOCore", "VFIOHost", "VFIOFixtures"], path: "Tests/Support"),
        .testTarget(name: "CoreTests", dependencies: ["VFIOCore", "VFIOTestSupport"], path: "Tests/CoreTests"),
        .testTarget(name: "HostTests", dependencies: ["VFIOCore", "VFIOHost", "VFIOFixtures",
                                                    .product(name: "SystemPackage", package: "swift-system")], path: "Tests/HostTests"),
        .testTarget(name: "CLITests", dependencies: ["vfioctl", "VFIOCore", "VFIOTestSupport"], path: "Tests/CLITests"),
        .testTarget(name: "FixturesTests", dependencies: ["VFIOFixtures"], path: "Tests/FixturesTests"),
        .testTarget(name: "BindTests", dependencies: ["VFIOCore", "VFIOHost", "VFIOFixtures", "VFIOTestSupport"], path: "Tests/BindTests"),
        .testTarget(name: "ShieldTests", dependencies: ["VFIOCore", "VFIOHost", "VFIOTestSupport"], path: "Tests/ShieldTests"),
        .testTarget(name: "SpecTests", dependencies: ["VFIOCore", "VFIOHost", "VFIOTestSupport"], path: "Tests/SpecTests"),
        .testTarget(name: "FleetTests", dependencies: ["VFIOCore", "VFIOHost", "vfioctl", "VFIOTestSupport"], path: "Tests/FleetTests",
                    exclude: ["Schemas"]),
        .testTarget(name: "ROMTests", dependencies: ["VFIOCore", "VFIOHost", "vfioctl", "VFIOTestSupport"], path: "Tests/ROMTests"),
        .testTarget(name: "HoldersTests", dependencies: ["VFIOCore", "VFIOHost", "vfioctl", "VFIOTestSupport"], path: "Tests/HoldersTests"),
        .testTarget(name: "VFIODriverTests", dependencies: ["VFIOCore", "VFIOHost", "CVFIO"], path: "Tests/VFIODriverTests"),
        .testTarget(name: "ReportTests", dependencies: ["VFIOCore", "VFIOHost", "vfioctl", "VFIOTestSupport"], path: "Tests/ReportTests"),
    ]
)
