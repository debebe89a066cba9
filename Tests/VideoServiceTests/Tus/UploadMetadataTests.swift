import Testing
@testable import VideoAPI
@testable import VideoCore

@Suite struct UploadMetadataTests {
    /// (header, expected pairs as key → decoded text or nil for a key alone)
    static let valid: [(String, [(String, String?)])] = [
        ("", []),
        ("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential", [("filename", "world_domination_plan.pdf"), ("is_confidential", nil)]),
        ("filename Y2xpcC5tcDQ=, title SG9saWRheSDwn4+W", [("filename", "clip.mp4"), ("title", "Holiday 🏖")]),
        ("empty ,b ", [("empty", nil), ("b", nil)]),  // a key with an empty value: the space may go too
        ("a YQ==,b Yg==,c", [("a", "a"), ("b", "b"), ("c", nil)]),
    ]

    @Test(arguments: valid.indices)
    func parses(_ i: Int) throws {
        let (header, expected) = Self.valid[i]
        let m = try UploadMetadata(header: header)
        #expect(m.pairs.map(\.key) == expected.map(\.0))
        for (key, text) in expected {
            if let text { #expect(m.text(key) == text, "\(key)") } else { #expect(m.pairs.first { $0.key == key }?.value == nil) }
        }
        #expect(m.header == header.trimmingBlanks())
    }

    static let invalid: [(String, String)] = [
        ("a YQ==,a Yg==", "appears twice"),
        ("a YQ==,,b Yg==", "is empty"),
        ("a YQ==,", "is empty"),
        ("a notbase64!", "not valid base64"),
        ("a YQ", "not valid base64"),
        ("a YQ== Yg==", "contains a space"),
        ("k\u{e9}y YQ==", "printable ASCII"),
        (String(repeating: "k", count: 5000), "longer than"),
    ]

    @Test(arguments: invalid.indices)
    func refuses(_ i: Int) {
        let (header, reason) = Self.invalid[i]
        #expect {
            try UploadMetadata(header: header)
        } throws: { error in
            (error as? UploadMetadata.Invalid)?.reason.contains(reason) == true
        }
    }

    @Test func namesTitleAndType() throws {
        let m = try UploadMetadata(header: UploadMetadata.encode([("name", "a.mov"), ("title", "  T  "), ("type", "video/quicktime")]))
        #expect(m.filename == "a.mov" && m.title == "T" && m.fileType == "video/quicktime")
        let n = try UploadMetadata(header: UploadMetadata.encode([("filename", "b.mp4"), ("name", "a.mov"), ("title", "   ")]))
        #expect(n.filename == "b.mp4" && n.title == nil, "filename wins over name; a blank title is none")
        let binary = try UploadMetadata(header: "filename /w==")  // 0xff: not UTF-8
        #expect(binary.filename == nil)
    }
}
