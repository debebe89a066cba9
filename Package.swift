// swift-tools-version:6.0
// vidd — a self-hosted video processing service speaking raw wire protocols.
// The product has no Swift package dependencies: only OpenSSL and FFmpeg's libav* (C, via shims).
import PackageDescription

let package = Package(
    name: "vidd",
    products: [
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "PGWire", targets: ["PGWire"]),
        .library(name: "S3Lite", targets: ["S3Lite"]),
        .library(name: "HTTPClientCodec", targets: ["HTTPClientCodec"]),
        .library(name: "HTTPFetch", targets: ["HTTPFetch"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "Transcode", targets: ["Transcode"]),
        .library(name: "VideoCore", targets: ["VideoCore"]),
        .library(name: "VideoAPI", targets: ["VideoAPI"]),
        .library(name: "VideoWorker", targets: ["VideoWorker"]),
        .library(name: "VideoService", targets: ["VideoService"]),
        .executable(name: "vidd", targets: ["vidd"]),
    ],
    targets: [
        // C shims: headers Glibc does not import, OpenSSL, libav*.
        .systemLibrary(name: "CLinuxSys", path: "Sources/CLinuxSys"),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]),

        // The event loop: epoll, sockets, timers, TLS over OpenSSL memory BIOs, crypto helpers.
        .target(name: "Reactor", dependencies: ["CLinuxSys", "COpenSSL"]),

        // Protocol modules: each usable alone; none imports another.
        .target(name: "RESP", dependencies: ["Reactor"]),
        .target(name: "PGWire", dependencies: ["Reactor"]),
        .target(name: "S3Lite", dependencies: ["Reactor", "HTTPClientCodec"]),
        .target(name: "HTTPServer", dependencies: ["Reactor"]),
        .target(name: "Transcode", dependencies: ["CFFmpeg"]),

        // The HTTP/1.1 client side, shared by S3Lite and HTTPFetch: a sans-I/O codec (request
        // heads, response parser, strict http(s) URLs) with no dependencies at all, and a small
        // client for user-given URLs (one request per connection, redirects through a dialer that
        // decides which addresses may be reached, TLS through the reactor).
        .target(name: "HTTPClientCodec"),
        .target(name: "HTTPFetch", dependencies: ["Reactor", "HTTPClientCodec"]),

        // The service, in the layers a newcomer should see: what the API and the worker share
        // (configuration, model, store, storage, queue), the API (HTTP handlers and the web app),
        // the worker (job runner, output uploader), and the daemon that composes them.
        .target(name: "VideoCore", dependencies: ["Reactor", "RESP", "PGWire", "S3Lite", "HTTPFetch"]),
        .target(
            name: "VideoAPI", dependencies: ["VideoCore", "Reactor", "RESP", "HTTPServer", "HTTPClientCodec"],
            exclude: ["WebApp/static"],  // the web app's files: embedded by the plugin, not compiled
            plugins: ["EmbedWebApp"]),
        .target(name: "VideoWorker", dependencies: ["VideoCore", "Reactor", "RESP", "S3Lite", "HTTPFetch", "Transcode"]),
        .target(
            name: "VideoService",
            dependencies: ["VideoCore", "VideoAPI", "VideoWorker", "Reactor", "Transcode"]),
        .executableTarget(name: "vidd", dependencies: ["VideoService"]),

        // Build time only: the web app's HTML/CSS/JS files become a Swift source of VideoAPI (bytes
        // and gzip), so vidd stays one binary. A plugin is not a package dependency.
        .executableTarget(name: "WebAppEmbedder"),
        .plugin(name: "EmbedWebApp", capability: .buildTool(), dependencies: ["WebAppEmbedder"]),

        // Tests. TestSupport finds the real services started by scripts/test.sh.
        .target(name: "TestSupport", dependencies: ["Reactor", "CLinuxSys"], path: "Tests/TestSupport"),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "TestSupport", "CLinuxSys"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "Reactor", "TestSupport"]),
        .testTarget(name: "PGWireTests", dependencies: ["PGWire", "Reactor", "TestSupport"]),
        .testTarget(name: "S3LiteTests", dependencies: ["S3Lite", "Reactor", "TestSupport"]),
        .testTarget(name: "HTTPClientCodecTests", dependencies: ["HTTPClientCodec"]),
        .testTarget(name: "HTTPFetchTests", dependencies: ["HTTPFetch", "HTTPClientCodec", "Reactor", "TestSupport"]),
        .testTarget(
            name: "HTTPServerTests", dependencies: ["HTTPServer", "Reactor", "TestSupport"],
            exclude: ["Corpus"]),  // parser test vectors, read from disk by the corpus test
        .testTarget(name: "TranscodeTests", dependencies: ["Transcode", "TestSupport"]),
        .testTarget(name: "WebAppEmbedderTests", dependencies: ["WebAppEmbedder", "TestSupport"]),
        .testTarget(name: "VideoServiceTests", dependencies: ["VideoCore", "VideoAPI", "VideoWorker", "VideoService", "Reactor", "RESP", "PGWire", "S3Lite", "HTTPServer", "HTTPClientCodec", "HTTPFetch", "Transcode", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
