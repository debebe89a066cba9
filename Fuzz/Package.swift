// swift-tools-version:6.0
// libFuzzer targets for the decoders. Built by scripts/fuzz.sh with -sanitize=fuzzer,address;
// kept out of the product package because a fuzzer entry point has no main().
import PackageDescription

let package = Package(
    name: "vidd-fuzz",
    dependencies: [.package(name: "vidd", path: "..")],
    targets: [
        .executableTarget(name: "RESPFuzz", dependencies: [.product(name: "RESP", package: "vidd")]),
        .executableTarget(name: "PGWireFuzz", dependencies: [.product(name: "PGWire", package: "vidd")]),
        .executableTarget(name: "HTTPParserFuzz", dependencies: [.product(name: "HTTPServer", package: "vidd")]),
        .executableTarget(name: "HTTPClientFuzz", dependencies: [.product(name: "HTTPClientCodec", package: "vidd")]),
        .executableTarget(name: "S3XMLFuzz", dependencies: [.product(name: "S3Lite", package: "vidd")]),
        .executableTarget(name: "SigV4Fuzz", dependencies: [.product(name: "S3Lite", package: "vidd")]),
    ],
    swiftLanguageModes: [.v6]
)
