#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// OpenSSL driven through memory BIOs: ciphertext goes in and out as bytes, so the same socket
/// code carries plain and encrypted connections. It does no I/O and is not thread-safe; the
/// owning `Connection` serialises every call behind one lock.
final class TLSEngine: @unchecked Sendable {
    // @unchecked: the engine is reachable only through `Connection.tls`, a Mutex; every method
    // runs inside that lock, so OpenSSL's SSL object is never used from two threads at once.
    let ssl: OpaquePointer
    private let rbio: OpaquePointer   // network → OpenSSL
    private let wbio: OpaquePointer   // OpenSSL → network
    /// Ciphertext produced by OpenSSL and not yet accepted by the socket.
    var pendingOut: [UInt8] = []
    var pendingOffset = 0

    enum Step: Equatable { case done, wantRead, failed(String) }
    enum ReadResult: Equatable { case bytes(Int), wantRead, closed, failed(String) }

    init(configuration: TLSConfiguration, serverName: String?) throws {
        let ctx = try configuration.sslContext()
        guard let ssl = SSL_new(ctx) else { throw NetworkError.tls("SSL_new: \(TLSConfiguration.openSSLErrors())") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw NetworkError.tls("BIO_new failed")
        }
        SSL_set_bio(ssl, rbio, wbio)  // the SSL object now owns both BIOs
        self.ssl = ssl
        self.rbio = rbio
        self.wbio = wbio
        if configuration.role == .client {
            SSL_set_connect_state(ssl)
            if let name = serverName, !name.isEmpty {
                let isIP = SocketAddress(ipAddress: name, port: 0) != nil
                if !isIP { _ = vidd_SSL_set_tlsext_host_name(ssl, name) }
                if configuration.verification == .full {
                    let ok: Int32
                    if isIP {
                        var bare = name
                        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
                        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), bare)
                    } else {
                        ok = SSL_set1_host(ssl, name)
                    }
                    if ok != 1 { throw NetworkError.tls("cannot set the name to verify (\(name))") }
                }
            } else if configuration.verification == .full {
                throw NetworkError.tls("verification of the host name needs a server name")
            }
        } else {
            SSL_set_accept_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }

    /// Feeds ciphertext received from the network.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = BIO_write(rbio, bytes.baseAddress, Int32(bytes.count))
    }

    /// Moves everything OpenSSL wants to send into `pendingOut`.
    func collectOutput() {
        while BIO_ctrl_pending(wbio) > 0 {
            let n = Int(BIO_ctrl_pending(wbio))
            let start = pendingOut.count
            // Array(repeating:) is one memset in the (optimized) standard library; appending a
            // `repeatElement` went byte by byte through generic code in debug builds, which held
            // the event loop's thread for seconds per MiB sent over TLS (a bytea, an S3 part).
            pendingOut.append(contentsOf: [UInt8](repeating: 0, count: n))
            let got = pendingOut.withUnsafeMutableBytes { BIO_read(wbio, $0.baseAddress! + start, Int32(n)) }
            if got < n { pendingOut.removeLast(n - Swift.max(Int(got), 0)) }
            if got <= 0 { break }
        }
    }

    var hasPendingOutput: Bool { pendingOffset < pendingOut.count }

    func consumedOutput(_ n: Int) {
        pendingOffset += n
        if pendingOffset == pendingOut.count {
            pendingOut.removeAll(keepingCapacity: true)
            pendingOffset = 0
        }
    }

    func handshake() -> Step {
        ERR_clear_error()
        let r = SSL_do_handshake(ssl)
        if r == 1 { return .done }
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
        default: return .failed(failureReason())
        }
    }

    func read(into buffer: inout ByteBuffer) -> ReadResult {
        ERR_clear_error()
        var code: Int32 = 0
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { raw in
            let r = SSL_read(ssl, raw.baseAddress, Int32(clamping: raw.count))
            code = r > 0 ? 0 : SSL_get_error(ssl, r)
            return Int(r)
        }
        if n > 0 { return .bytes(n) }
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed(failureReason())
        }
    }

    /// Encrypts up to `count` bytes; returns how many were taken.
    func write(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        ERR_clear_error()
        let r = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if r > 0 { return Int(r) }
        throw NetworkError.tls("write: \(failureReason())")
    }

    func shutdown() { ERR_clear_error(); _ = SSL_shutdown(ssl) }

    private func failureReason() -> String {
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            return "certificate verify failed: \(String(cString: X509_verify_cert_error_string(verify)))"
        }
        return TLSConfiguration.openSSLErrors()
    }

    var version: String { String(cString: SSL_get_version(ssl)) }

    /// The peer's leaf certificate, DER-encoded.
    var peerCertificateDER: [UInt8]? {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        var out: UnsafeMutablePointer<UInt8>?
        let len = i2d_X509(cert, &out)
        guard len > 0, let out else { return nil }
        defer { CRYPTO_free(out, #file, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(len)))
    }

    /// RFC 5929 `tls-server-end-point`: the certificate hashed with its signature's hash
    /// algorithm, SHA-256 when that is MD5 or SHA-1 (or has no separate digest).
    var serverEndPointHash: [UInt8]? {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        var mdNID: Int32 = 0, pkNID: Int32 = 0
        var md: OpaquePointer? = EVP_sha256()
        if OBJ_find_sigid_algs(X509_get_signature_nid(cert), &mdNID, &pkNID) == 1,
           mdNID != NID_md5, mdNID != NID_sha1, mdNID != NID_undef,
           let found = EVP_get_digestbyname(OBJ_nid2sn(mdNID)) {
            md = found
        }
        var buf = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        guard X509_digest(cert, md, &buf, &len) == 1 else { return nil }
        return Array(buf.prefix(Int(len)))
    }
}
