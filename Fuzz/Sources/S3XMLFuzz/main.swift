// libFuzzer entry point for S3Lite's XML reader (S3 response bodies: listings, errors, multipart).
// Build and run: scripts/fuzz.sh S3XMLFuzz SECONDS (docs/s3lite.md, "Fuzzing").
//
// Besides "does not crash", on every input that parses:
// - parsing is deterministic (the same bytes give the same tree);
// - no element is deeper than XMLParser.maxDepth;
// - a tree whose names are plain XML names survives serialization: parse(serialized()) is the
//   same tree (text, attributes and children, entities and CDATA decoded once and escaped again).
import S3Lite

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let first: XMLElement
    do {
        first = try XMLParser.parse(bytes)
    } catch {
        _ = error.description
        return 0
    }
    guard let again = try? XMLParser.parse(bytes), again == first else { fatalError("parsing is not deterministic") }
    precondition(depth(first) <= XMLParser.maxDepth, "deeper than maxDepth")
    if hasPlainNames(first) {
        let text = first.serialized()
        let reparsed: XMLElement
        do {
            reparsed = try XMLParser.parse(Array(text.utf8))
        } catch {
            fatalError("serialized tree does not parse: \(error)\n\(text)")
        }
        precondition(reparsed == first, "serialize/parse round trip changed the tree:\n\(text)")
    }
    // What the client reads from a parsed document.
    for name in ["Code", "Message", "Key", "UploadId", "ETag", "IsTruncated", "NextContinuationToken"] {
        _ = first.string(name)
        _ = first.children(name).count
    }
    return 0
}

func depth(_ e: XMLElement) -> Int { 1 + (e.children.map(depth).max() ?? 0) }

/// Element and attribute names of the form [A-Za-z_][A-Za-z0-9._-]*: what serialized() can write
/// back as they are (the reader accepts odder names, which it need not be able to re-create).
func hasPlainNames(_ e: XMLElement) -> Bool {
    func plain(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 95 }
    }
    func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
    return plain(e.name) && e.attributes.keys.allSatisfy(plain) && e.children.allSatisfy(hasPlainNames)
}
