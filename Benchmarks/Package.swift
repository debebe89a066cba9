// swift-tools-version:6.0
// Benchmarks: vidd's modules side by side with peer libraries. Only this package may depend on
// them; the product package has no Swift package dependencies.
import PackageDescription

let package = Package(
    name: "vidd-benchmarks",
    dependencies: [
        .package(name: "vidd", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(name: "EchoBench", dependencies: [
            .product(name: "Reactor", package: "vidd"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "RESPBench", dependencies: [.product(name: "RESP", package: "vidd")]),
        .executableTarget(name: "PGBench", dependencies: [
            .product(name: "PGWire", package: "vidd"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .executableTarget(name: "S3Bench", dependencies: [.product(name: "S3Lite", package: "vidd")]),
        .executableTarget(name: "HTTPBench", dependencies: [.product(name: "HTTPServer", package: "vidd")]),
        .executableTarget(name: "HummingbirdPeer", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "NIOPeer", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
