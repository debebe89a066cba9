#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Synchronization

/// How much of the peer's certificate a TLS client checks.
public enum TLSVerification: Sendable, Hashable {
    /// No verification (libpq's `sslmode=require`): encrypted, but the peer is not authenticated.
    case none
    /// The chain must lead to a trusted CA; the name is not checked (`verify-ca`).
    case caOnly
    /// Chain and host name or IP address (`verify-full`, and what HTTPS clients do).
    case full
}

/// TLS settings for a client or a server. The OpenSSL context is built once, on first use, and
/// shared by every connection made with this configuration.
public struct TLSConfiguration: Sendable {
    public enum Role: Sendable { case client, server }

    public let role: Role
    public let caFile: String?
    public let verification: TLSVerification
    public let certificateFile: String?
    public let keyFile: String?
    let context: TLSContextBox

    /// A client configuration. `caFile` nil means the system CA bundle.
    public static func client(caFile: String? = nil, verification: TLSVerification = .full,
                              certificateFile: String? = nil, keyFile: String? = nil) -> TLSConfiguration {
        TLSConfiguration(role: .client, caFile: caFile, verification: verification,
                         certificateFile: certificateFile, keyFile: keyFile)
    }

    /// A server configuration from PEM certificate (chain) and key files.
    public static func server(certificateFile: String, keyFile: String) -> TLSConfiguration {
        TLSConfiguration(role: .server, caFile: nil, verification: .none,
                         certificateFile: certificateFile, keyFile: keyFile)
    }

    private init(role: Role, caFile: String?, verification: TLSVerification, certificateFile: String?, keyFile: String?) {
        self.role = role
        self.caFile = caFile
        self.verification = verification
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.context = TLSContextBox()
    }

    /// The shared SSL_CTX, created on first use; a bad certificate or key file is reported here.
    func sslContext() throws -> OpaquePointer {
        try context.get { try makeContext() }
    }

    private func makeContext() throws -> OpaquePointer {
        _ = openSSLInitialized
        guard let ctx = SSL_CTX_new(role == .client ? TLS_client_method() : TLS_server_method()) else {
            throw NetworkError.tls("SSL_CTX_new: \(TLSConfiguration.openSSLErrors())")
        }
        var ok = false
        defer { if !ok { SSL_CTX_free(ctx) } }
        _ = vidd_SSL_CTX_set_min_proto_version(ctx, vidd_TLS1_2_VERSION())
        _ = vidd_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE))
        if role == .client {
            if verification != .none {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
                if let caFile {
                    guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                        throw NetworkError.tls("cannot load CA file \(caFile): \(TLSConfiguration.openSSLErrors())")
                    }
                } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
                    throw NetworkError.tls("cannot load the system CA bundle: \(TLSConfiguration.openSSLErrors())")
                }
            } else {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            }
        }
        if let certificateFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
                throw NetworkError.tls("cannot load certificate \(certificateFile): \(TLSConfiguration.openSSLErrors())")
            }
            let key = keyFile ?? certificateFile
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw NetworkError.tls("cannot load private key \(key): \(TLSConfiguration.openSSLErrors())")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw NetworkError.tls("private key \(key) does not match certificate \(certificateFile)")
            }
        } else if role == .server {
            throw NetworkError.tls("a TLS server needs a certificate and a key")
        }
        ok = true
        return ctx
    }

    /// Drains OpenSSL's thread-local error queue into one readable line.
    static func openSSLErrors() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            parts.append(String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "unknown OpenSSL error" : parts.joined(separator: "; ")
    }
}

/// Holds the lazily created SSL_CTX; freed with the last configuration copy.
final class TLSContextBox: Sendable {
    private let ctx = Mutex<OpaquePointer?>(nil)

    func get(_ make: () throws -> OpaquePointer) throws -> OpaquePointer {
        try ctx.withLock { c in
            if let c { return c }
            let made = try make()
            c = made
            return made
        }
    }

    deinit {
        ctx.withLock { c in if let c { SSL_CTX_free(c) } }
    }
}
