import Reactor

/// Opening the socket: TCP or Unix, then SSLRequest negotiation with libpq's sslmode rules.
enum PGTransport {
    static func open(_ config: PGConfiguration) async throws -> Connection {
        switch config.endpoint {
        case .unixSocket(let path):
            // libpq never negotiates TLS over a Unix socket: the kernel is the transport.
            do { return try await Connection.connect(unixSocketPath: path, timeout: config.connectTimeout) } catch { throw PGConnection.map(error) }
        case .tcp(let host, let port):
            let socket: Connection
            do { socket = try await Connection.connect(host: config.hostAddress ?? host, port: port, timeout: config.connectTimeout) } catch { throw PGConnection.map(error) }
            do {
                try await negotiateTLS(socket, host: host, config)
                return socket
            } catch {
                socket.close()
                throw PGConnection.map(error)
            }
        }
    }

    /// The TLS configuration the sslmode asks for, nil for plaintext.
    static func tlsConfiguration(_ config: PGConfiguration) throws(PGError) -> TLSConfiguration? {
        let root: String?
        switch config.sslRootCert {
        case nil: root = nil
        case "system"?: root = nil
        case let path?: root = path
        }
        switch config.sslMode {
        case .disable, .allow: return nil
        case .prefer:
            return .client(caFile: nil, verification: .none)
        case .require:
            // libpq: require with a root certificate given behaves like verify-ca.
            if let root { return .client(caFile: root, verification: .caOnly) }
            if config.sslRootCert == "system" { return .client(caFile: nil, verification: .caOnly) }
            return .client(caFile: nil, verification: .none)
        case .verifyCA, .verifyFull:
            let caFile: String?
            if let root { caFile = root } else if config.sslRootCert == "system" { caFile = nil } else {
                // libpq's default location; refuse (like libpq) rather than silently trusting anything.
                let home = TestableEnvironment.home ?? ""
                let path = home + "/.postgresql/root.crt"
                guard TestableEnvironment.fileExists(path) else {
                    throw PGError.tls("sslmode \(config.sslMode.rawValue) needs a root certificate: set sslrootcert (no \(path))")
                }
                caFile = path
            }
            return .client(caFile: caFile, verification: config.sslMode == .verifyFull ? .full : .caOnly)
        }
    }

    static func negotiateTLS(_ socket: Connection, host: String, _ config: PGConfiguration) async throws {
        guard let tls = try tlsConfiguration(config) else { return }
        var e = FrontendMessageEncoder()
        e.sslRequest()
        try await socket.write(e.bytes, timeout: config.connectTimeout)
        var answer = ByteBuffer(capacity: 16)
        try await socket.read(into: &answer, timeout: config.connectTimeout)
        // Exactly one byte: anything after 'S' was injected before the handshake (CVE-2021-23222).
        guard answer.readableBytes == 1 else {
            throw PGError.protocolViolation("received \(answer.readableBytes) bytes in answer to SSLRequest (expected 1)")
        }
        switch answer.readableBytesView.first! {
        case UInt8(ascii: "S"):
            do { try await socket.startTLS(tls, serverName: host) } catch { throw PGError.tls("\(error)") }
        case UInt8(ascii: "N"):
            if config.sslMode != .prefer {
                throw PGError.tls("server does not support SSL, but sslmode=\(config.sslMode.rawValue) requires it")
            }
        default:
            throw PGError.protocolViolation("unexpected answer to SSLRequest: \(answer.readableBytesView.first!)")
        }
    }

    /// Sends a CancelRequest for `key` on a new connection with the same endpoint and TLS
    /// settings, and waits until the server closes it: by then the postmaster has signalled the
    /// backend, so a query sent afterwards cannot be the one the signal interrupts.
    static func sendCancel(_ config: PGConfiguration, key: BackendKeyData) async {
        do {
            let socket = try await open(config)
            defer { socket.close() }
            var e = FrontendMessageEncoder()
            e.cancelRequest(processID: key.processID, secretKey: key.secretKey)
            try await socket.write(e.bytes, timeout: config.connectTimeout)
            var sink = ByteBuffer(capacity: 64)
            while true { try await socket.read(into: &sink, timeout: config.connectTimeout); sink.clear() }
        } catch {
            // EOF is the expected end; other failures mean the cancel may not have arrived,
            // and the query then simply runs to completion.
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum TestableEnvironment {
    static var home: String? { getenv("HOME").map { String(cString: $0) } }
    static func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
