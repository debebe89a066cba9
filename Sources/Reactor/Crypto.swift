import COpenSSL

/// Cryptographic primitives for the protocol modules, all computed by OpenSSL.
///
/// Nothing here is implemented by hand: SHA-256, HMAC, PBKDF2 (SCRAM's `Hi()`), MD5 (PostgreSQL's
/// legacy `md5` auth) and random bytes come from libcrypto.
public enum Crypto {
    /// SHA-256 of `data`.
    public static func sha256<D: Collection<UInt8>>(_ data: D) -> [UInt8] {
        _ = openSSLInitialized
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }

    /// MD5 of `data` (only for PostgreSQL's `md5` password method; never for anything new).
    public static func md5<D: Collection<UInt8>>(_ data: D) -> [UInt8] {
        _ = openSSLInitialized
        return withContiguousBytes(data) { raw in
            var out = [UInt8](repeating: 0, count: 16)
            var len: UInt32 = 0
            let ok = EVP_Digest(raw.baseAddress, raw.count, &out, &len, EVP_md5(), nil)
            precondition(ok == 1, "EVP_Digest(md5) failed")
            return out
        }
    }

    /// HMAC-SHA-256 of `data` under `key`.
    public static func hmacSHA256<K: Collection<UInt8>, D: Collection<UInt8>>(key: K, data: D) -> [UInt8] {
        _ = openSSLInitialized
        return withContiguousBytes(key) { k in
            withContiguousBytes(data) { d in
                var out = [UInt8](repeating: 0, count: 32)
                var len: UInt32 = 32
                let r = HMAC(EVP_sha256(), k.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(k.count),
                             d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &len)
                precondition(r != nil && len == 32, "HMAC-SHA-256 failed")
                return out
            }
        }
    }

    /// PBKDF2 with HMAC-SHA-256 (SCRAM-SHA-256's `Hi(password, salt, i)` when `keyLength` is 32).
    public static func pbkdf2SHA256<P: Collection<UInt8>, S: Collection<UInt8>>(
        password: P, salt: S, iterations: Int, keyLength: Int = 32
    ) -> [UInt8] {
        precondition(iterations > 0 && keyLength > 0)
        _ = openSSLInitialized
        return withContiguousBytes(password) { p in
            withContiguousBytes(salt) { s in
                var out = [UInt8](repeating: 0, count: keyLength)
                let r = PKCS5_PBKDF2_HMAC(
                    p.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(p.count),
                    s.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(s.count),
                    Int32(iterations), EVP_sha256(), Int32(keyLength), &out)
                precondition(r == 1, "PKCS5_PBKDF2_HMAC failed")
                return out
            }
        }
    }

    /// `count` cryptographically secure random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        _ = openSSLInitialized
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 {
            let r = RAND_bytes(&out, Int32(count))
            precondition(r == 1, "RAND_bytes failed")
        }
        return out
    }

    /// Compares two byte strings in time independent of where they differ.
    public static func constantTimeEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        _ = openSSLInitialized
        return withContiguousBytes(a) { x in
            withContiguousBytes(b) { y in
                x.count == 0 || CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0
            }
        }
    }

    /// An incremental SHA-256 (for hashing a payload while it streams).
    public struct SHA256: ~Copyable {
        private let ctx: OpaquePointer

        public init() {
            _ = openSSLInitialized
            guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            precondition(EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1)
            self.ctx = ctx
        }

        deinit { EVP_MD_CTX_free(ctx) }

        public mutating func update<D: Collection<UInt8>>(_ data: D) {
            withContiguousBytes(data) { raw in
                if raw.count > 0 { precondition(EVP_DigestUpdate(ctx, raw.baseAddress, raw.count) == 1) }
            }
        }

        public mutating func update(_ raw: UnsafeRawBufferPointer) {
            if raw.count > 0 { precondition(EVP_DigestUpdate(ctx, raw.baseAddress, raw.count) == 1) }
        }

        public consuming func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            var len: UInt32 = 0
            precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1 && len == 32)
            return out
        }
    }

    /// An incremental digest chosen at run time (tus's `Upload-Checksum` names one per request;
    /// SHA-1 stays only because that protocol requires it).
    public struct Digest: ~Copyable {
        public enum Algorithm: String, Sendable, CaseIterable {
            case sha1, sha256

            public var length: Int { self == .sha1 ? 20 : 32 }
        }

        private let ctx: OpaquePointer
        public let algorithm: Algorithm

        public init(_ algorithm: Algorithm) {
            _ = openSSLInitialized
            guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            precondition(EVP_DigestInit_ex(ctx, algorithm == .sha1 ? EVP_sha1() : EVP_sha256(), nil) == 1)
            self.ctx = ctx
            self.algorithm = algorithm
        }

        deinit { EVP_MD_CTX_free(ctx) }

        public mutating func update<D: Collection<UInt8>>(_ data: D) {
            withContiguousBytes(data) { raw in
                if raw.count > 0 { precondition(EVP_DigestUpdate(ctx, raw.baseAddress, raw.count) == 1) }
            }
        }

        /// The digest; call once (the context cannot take more bytes afterwards).
        public mutating func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 64)
            var len: UInt32 = 0
            precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1 && Int(len) == algorithm.length)
            return Array(out[..<Int(len)])
        }
    }
}

/// Runs `body` over the bytes of `data`, copying only when the collection is not contiguous.
@inline(__always)
func withContiguousBytes<D: Collection<UInt8>, R>(_ data: D, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let r = try data.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return r
    }
    return try Array(data).withUnsafeBytes(body)
}
