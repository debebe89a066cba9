import Testing
@testable import S3Lite

@Suite struct PartSizingTests {
    static let mib = 1024 * 1024

    @Test(arguments: [
        (Int64(0), 8 * mib), (Int64(200 * mib), 8 * mib), (Int64(80_000) * Int64(mib), 8 * mib),
        (Int64(80_001) * Int64(mib), 9 * mib), (Int64(1024) * 1024 * Int64(mib), 105 * mib),
        (PartSizing.maximumObjectSize, 525 * mib),
    ])
    func partSizeKeepsUnderTenThousandParts(size: Int64, expected: Int) throws {
        let part = try PartSizing.partSize(objectSize: size, preferred: 8 * Self.mib)
        #expect(part == expected)
        #expect(part >= PartSizing.minimumPartSize)
        #expect(part % Self.mib == 0)
        #expect(PartSizing.partCount(objectSize: size, partSize: part) <= PartSizing.maximumPartCount)
    }

    @Test func preferredBelowMinimumIsRaised() throws {
        #expect(try PartSizing.partSize(objectSize: 100, preferred: 1024) == PartSizing.minimumPartSize)
    }

    @Test func tooLargeIsRefused() {
        #expect(throws: S3ClientError.self) { try PartSizing.partSize(objectSize: PartSizing.maximumObjectSize + 1, preferred: 0) }
    }

    @Test func partCounts() {
        #expect(PartSizing.partCount(objectSize: 0, partSize: 5) == 1)
        #expect(PartSizing.partCount(objectSize: 10, partSize: 5) == 2)
        #expect(PartSizing.partCount(objectSize: 11, partSize: 5) == 3)
    }
}
