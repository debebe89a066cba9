// The HTTP/1.1 client codec (request heads, the response parser, headers, errors) lives in its
// own target so that vidd's outgoing HTTP client (HTTPFetch) shares it. Re-exported so that
// S3Lite's public API — `HTTPResponseHead` in `S3Client.send`, `HTTPHeaders`, `HTTPMessageError`
// — is unchanged for programs that `import S3Lite` alone.
@_exported import HTTPClientCodec
