import Testing
@testable import S3Lite

@Suite struct XMLParserTests {
    @Test func s3ErrorDocument() throws {
        let doc = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match &amp; &lt;so&gt; &#233;&#x1F3AC;</Message>
        <Resource>/b/k</Resource><RequestId>4442587FB7D0A2F9</RequestId><!-- c --></Error>
        """
        let e = S3Error.decode(status: 403, body: Array(doc.utf8), headers: ["x-amz-request-id": "other"], operation: "PutObject", bucket: "b", key: "k")
        #expect(e.code == "SignatureDoesNotMatch")
        #expect(e.message == "The request signature we calculated does not match & <so> é🎬")
        #expect(e.resource == "/b/k")
        #expect(e.requestID == "4442587FB7D0A2F9")
        #expect(e.description.contains("SignatureDoesNotMatch (HTTP 403)"))
    }

    @Test func bodilessErrorFallsBackToStatus() {
        let e = S3Error.decode(status: 404, body: [], headers: ["x-amz-request-id": "R1"], operation: "HeadObject", bucket: "b", key: "k")
        #expect(e.code == "NotFound")
        #expect(e.requestID == "R1")
    }

    @Test func namespacesCDATAAndSelfClosing() throws {
        let xml = try XMLParser.parse(Array("<a:Root xmlns:a='x'><a:Item n=\"1\"/><Item><![CDATA[<raw>&]]></Item>\n</a:Root>".utf8))
        #expect(xml.name == "Root")
        #expect(xml.children("Item").count == 2)
        #expect(xml.children[0].attributes["n"] == "1")
        #expect(xml.children[1].text == "<raw>&")
    }

    @Test(arguments: ["", "<a>", "<a></b>", "<a/><b/>", "text", "<!DOCTYPE x [<!ENTITY e 'x'>]><a/>", "<a>&bogus;</a>", "<a x=1/>"])
    func malformedIsRejected(_ text: String) {
        #expect(throws: XMLParser.Error.self) { try XMLParser.parse(Array(text.utf8)) }
    }

    @Test func depthIsBounded() {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: XMLParser.Error.self) { try XMLParser.parse(Array(deep.utf8)) }
    }

    @Test func serializationEscapes() throws {
        let e = XMLElement(name: "Delete", children: [XMLElement(name: "Key", text: "a&b<c>\"'")])
        #expect(e.serialized() == "<Delete><Key>a&amp;b&lt;c&gt;&quot;&apos;</Key></Delete>")
        #expect(try XMLParser.parse(Array(e.serialized().utf8)).string("Key") == "a&b<c>\"'")
    }

    @Test func listPageDecodes() throws {
        let doc = """
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated>
        <NextContinuationToken>tok</NextContinuationToken><Contents><Key>a b</Key><Size>12</Size><ETag>&quot;e&quot;</ETag></Contents>
        <CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>
        """
        let page = try ListObjectsPage.decode(try XMLParser.parse(Array(doc.utf8)), bucket: "b")
        #expect(page.objects == [ObjectSummary(key: "a b", size: 12, etag: "\"e\"", lastModified: nil, storageClass: nil)])
        #expect(page.commonPrefixes == ["p/"])
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "tok")
    }
}
