// libFuzzer entry point for S3Lite's SigV4 canonicalisation: path and query encoding, canonical
// query and headers, header signing and presigned URLs, from arbitrary method, path, query and
// header inputs. Build and run: scripts/fuzz.sh SigV4Fuzz SECONDS (docs/s3lite.md, "Fuzzing").
//
// Input: byte 0 = number of query items (low 3 bits) and flags, byte 1 = number of headers (low
// 3 bits), then NUL-separated fields: method, path, query names and values, header names and
// values (missing fields are empty; bytes are read as UTF-8, invalid sequences repaired).
//
// Properties checked on every input:
// - a path not starting with "/" is refused (SigV4Error.invalidPath), then a header the signer
//   sets itself (SigV4Error.reservedHeader, the first such, in any ASCII case); every other
//   input signs;
// - signing is deterministic;
// - the target is encodePath(path), then "?" and the canonical query when there is one; both use
//   only unreserved characters, "/" (path) and upper-case %XX, and decode back to the input;
// - the canonical query is sorted by encoded name then value, and decodes to the input items;
// - the signature does not depend on the order of query items, on the order of headers with
//   different names, on the case of header names, or on white space around header values;
// - SignedHeaders is sorted, unique, lower-case, has host, x-amz-content-sha256 and x-amz-date
//   and none of the headers proxies may change;
// - a presigned target is the encoded path, a sorted query with the X-Amz-* parameters and a
//   64-hex-digit X-Amz-Signature last.
import S3Lite

let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret/+="),
                         region: "us-east-1")
let tokenSigner = SigV4Signer(credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret",
                                                         sessionToken: "token+/="), region: "eu-west-3")
let date = SigningDate(year: 2013, month: 5, day: 24)
let unsignedNames: Set<String> = ["connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                                  "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let queryCount = Int(bytes[0] & 7), headerCount = Int(bytes[1] & 7)
    let useToken = bytes[0] & 8 != 0
    let payload: PayloadHash = bytes[0] & 16 != 0 ? .unsigned : (bytes[0] & 32 != 0 ? .streaming : .empty)
    var fields = bytes[2...].split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    func field() -> String { fields.isEmpty ? "" : fields.removeFirst() }
    let method = field(), path = field()
    let query = (0..<queryCount).map { _ in QueryItem(field(), field()) }
    let headers = (0..<headerCount).map { _ in (name: field(), value: field()) }
    let request = SignableRequest(method: method, host: "bucket.s3.amazonaws.com", path: path, query: query, headers: headers)
    let s = useToken ? tokenSigner : signer

    let signed: SignedRequest
    do {
        signed = try s.sign(request, payload: payload, date: date)
    } catch SigV4Error.invalidPath(let p) {
        precondition(!path.hasPrefix("/") && p == path, "refused a valid path")
        return 0
    } catch SigV4Error.reservedHeader(let name) {
        precondition(path.hasPrefix("/"), "a bad path must be refused first")
        let first = headers.first { SigV4Signer.reservedHeaderNames.contains(asciiLowercased($0.name)) }
        precondition(first?.name == name, "refused a header the signer does not set")
        return 0
    } catch {
        fatalError("unexpected error \(error)")
    }
    precondition(path.hasPrefix("/"), "signed a path without a leading /")
    let again = try! s.sign(request, payload: payload, date: date)
    precondition(again.signature == signed.signature && again.target == signed.target, "signing is not deterministic")

    // The target: encoded path, then the canonical query.
    let (encodedPath, canonicalQuery) = split(signed.target)
    precondition(encodedPath == URIEncoding.encodePath(path), "target path is not encodePath(path)")
    checkEncoded(encodedPath, slashAllowed: true)
    precondition(URIEncoding.decode(encodedPath) == path, "encoded path does not decode back")
    precondition(canonicalQuery.isEmpty == query.isEmpty, "query present/absent mismatch")
    checkCanonicalQuery(canonicalQuery, decodesTo: query)

    // Canonicalisation makes the signature independent of order, name case and padding.
    let header = authorization(signed)
    var variant = request
    variant.query = query.reversed()
    variant.headers = reorderedKeepingRepeats(headers).map { (name: flipCase($0.name), value: " \t" + $0.value + "  ") }
    let variantSigned = try! s.sign(variant, payload: payload, date: date)
    precondition(variantSigned.signature == signed.signature, "signature depends on order, case or padding")

    // Authorization: credential scope, SignedHeaders, signature. (SignedHeaders is read back only
    // when every name is an HTTP token: ',' or ';' in a name would make the list ambiguous, and
    // such a request could not be sent anyway.)
    precondition(header.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/"), "credential scope")
    precondition(header.hasSuffix(", Signature=" + signed.signature), "signature not last")
    precondition(isHex64(signed.signature), "signature is not 64 hex digits")
    if headers.allSatisfy({ isToken($0.name) }) {
        let signedNames = header.split(separator: ",").first { $0.hasPrefix(" SignedHeaders=") }!.dropFirst(15).split(separator: ";").map(String.init)
        precondition(signedNames == signedNames.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, "SignedHeaders not sorted")
        precondition(Set(signedNames).count == signedNames.count, "SignedHeaders repeats a name")
        precondition(signedNames.allSatisfy { !$0.utf8.contains { $0 >= 65 && $0 <= 90 } }, "SignedHeaders not lower-case")
        precondition(["host", "x-amz-content-sha256", "x-amz-date"].allSatisfy(signedNames.contains), "required header not signed")
        precondition(signedNames.allSatisfy { !unsignedNames.contains($0) }, "signed a header proxies may change")
    }

    // Presigned URL.
    let presigned = try! s.presign(request, expiresInSeconds: 1 + Int(bytes[1] >> 3) * 1000, date: date)
    let (presignedPath, presignedQuery) = split(presigned)
    precondition(presignedPath == encodedPath, "presigned path differs")
    let marker = "&X-Amz-Signature="
    precondition(presignedQuery.utf8.count > marker.utf8.count + 64, "presigned query too short")
    let tail = String(presignedQuery.utf8.suffix(marker.utf8.count + 64))!
    precondition(tail.hasPrefix(marker) && isHex64(String(tail.dropFirst(marker.count))), "X-Amz-Signature not last, or not 64 hex digits")
    let signedPart = String(presignedQuery.utf8.dropLast(marker.utf8.count + 64))!
    var expected = query
    expected += [QueryItem("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), QueryItem("X-Amz-Date", date.timestamp)]
    checkCanonicalQuery(signedPart, decodesTo: expected, allowingExtra: true)
    return 0
}

func asciiLowercased(_ s: String) -> String {
    String(decoding: s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
}

func split(_ target: String) -> (path: String, query: String) {
    guard let q = target.firstIndex(of: "?") else { return (target, "") }
    return (String(target[..<q]), String(target[target.index(after: q)...]))
}

/// An HTTP header name (RFC 9110 token).
func isToken(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { b in
        (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || "!#$%&'*+-.^_`|~".utf8.contains(b)
    }
}

func isHex64(_ s: String) -> Bool {
    s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
}

/// Only unreserved bytes, "/" where allowed, and %XX with upper-case hex.
func checkEncoded(_ s: String, slashAllowed: Bool) {
    let u = Array(s.utf8)
    var i = 0
    while i < u.count {
        let b = u[i]
        if b == UInt8(ascii: "%") {
            precondition(i + 2 < u.count, "truncated escape in \(s)")
            for h in u[(i + 1)...(i + 2)] { precondition((h >= 48 && h <= 57) || (h >= 65 && h <= 70), "escape not upper-case hex in \(s)") }
            i += 3
            continue
        }
        let unreserved = (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || "-_.~".utf8.contains(b)
        precondition(unreserved || (slashAllowed && b == UInt8(ascii: "/")), "byte \(b) left unencoded in \(s)")
        i += 1
    }
}

/// name=value pairs joined by &, encoded, sorted by (name, value) bytes, decoding to `items`
/// (as a multiset; with `allowingExtra`, `items` need only be among them).
func checkCanonicalQuery(_ query: String, decodesTo items: [QueryItem], allowingExtra: Bool = false) {
    if query.isEmpty { precondition(items.isEmpty, "query lost"); return }
    var pairs: [(name: [UInt8], value: [UInt8])] = []
    var decoded: [QueryItem] = []
    for part in query.split(separator: "&", omittingEmptySubsequences: false) {
        let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        precondition(kv.count == 2, "query item without =: \(part)")
        checkEncoded(String(kv[0]), slashAllowed: false)
        checkEncoded(String(kv[1]), slashAllowed: false)
        pairs.append((Array(kv[0].utf8), Array(kv[1].utf8)))
        guard let n = URIEncoding.decode(kv[0]), let v = URIEncoding.decode(kv[1]) else { fatalError("query does not decode: \(part)") }
        decoded.append(QueryItem(n, v))
    }
    for (a, b) in zip(pairs, pairs.dropFirst()) {
        let inOrder = a.name == b.name ? !b.value.lexicographicallyPrecedes(a.value) : a.name.lexicographicallyPrecedes(b.name)
        precondition(inOrder, "canonical query not sorted: \(query)")
    }
    let key = { (q: QueryItem) in URIEncoding.encode(q.name) + "=" + URIEncoding.encode(q.value) }
    var remaining = decoded.map(key)
    for item in items {
        guard let i = remaining.firstIndex(of: key(item)) else { fatalError("query item \(item) lost in \(query)") }
        remaining.remove(at: i)
    }
    precondition(allowingExtra || remaining.isEmpty, "query gained items: \(remaining)")
}

func authorization(_ signed: SignedRequest) -> String {
    signed.headers.first { $0.name == "authorization" }!.value
}

/// Headers in another order, keeping headers of the same (case-insensitive) name in their order:
/// their values are joined in the order given, so that order is meaningful.
func reorderedKeepingRepeats(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
    var groups: [(key: String, items: [(name: String, value: String)])] = []
    for h in headers {
        let key = String(decoding: h.name.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
        if let i = groups.firstIndex(where: { $0.key == key }) { groups[i].items.append(h) } else { groups.append((key, [h])) }
    }
    return groups.reversed().flatMap(\.items)
}

/// ASCII letters with their case swapped.
func flipCase(_ s: String) -> String {
    String(decoding: s.utf8.map { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) ? $0 ^ 0x20 : $0 }, as: UTF8.self)
}
