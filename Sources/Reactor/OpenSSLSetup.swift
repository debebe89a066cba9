import COpenSSL

/// Initialises OpenSSL once, before any other OpenSSL call, without its atexit() cleanup.
///
/// By default OpenSSL frees its global state from an atexit handler. The event loop thread (and
/// any thread still finishing a TLS read) outlives `main`, so that cleanup can pull state out from
/// under it while the process exits; OpenSSL documents OPENSSL_INIT_NO_ATEXIT for exactly this.
let openSSLInitialized: Bool = {
    OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1
}()
