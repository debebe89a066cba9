import Testing
@testable import VideoCore

/// The held part buffer as vectors: chunk sizes in, steps out. Bytes are numbered by their upload
/// offset (mod 256), so a step's bytes show exactly which range it carries.
@Suite struct AppendPlanTests {
    /// A compact spelling of a step: P(offset,tail,count,last), W(offset,count), T(offset,count).
    static func describe(_ step: AppendPlan.Step) -> String {
        switch step {
        case .part(let o, let t, let b, let last): "P(\(o),\(t),\(b.count)\(last ? ",last" : ""))"
        case .write(let o, let b): "W(\(o),\(b.count))"
        case .keepTail(let o, let b): "T(\(o),\(b.count))"
        }
    }

    static func bytes(from offset: Int64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: offset + Int64($0)) }
    }

    struct Vector: Sendable, CustomStringConvertible {
        var layout: AppendPlan.Layout
        var offset: Int64
        var tail: Int64
        var length: Int64?
        var chunks: [Int]
        var steps: [String]
        var description: String { "\(layout) @\(offset) tail \(tail) chunks \(chunks)" }
    }

    static let vectors: [Vector] = [
        // One body making whole parts, the last one short and final.
        Vector(layout: .parts(size: 10), offset: 0, tail: 0, length: 25, chunks: [4, 4, 4, 4, 4, 5], steps: ["P(0,0,10)", "P(10,0,10)", "P(20,0,5,last)"]),
        // A chunk spanning two part boundaries is cut exactly.
        Vector(layout: .parts(size: 10), offset: 0, tail: 0, length: 100, chunks: [23], steps: ["P(0,0,10)", "P(10,0,10)", "T(20,3)"]),
        // Short of a part: the rest waits as the tail.
        Vector(layout: .parts(size: 10), offset: 0, tail: 0, length: nil, chunks: [3, 2], steps: ["T(0,5)"]),
        // The tail (3 bytes in PostgreSQL) opens the next part.
        Vector(layout: .parts(size: 10), offset: 3, tail: 3, length: nil, chunks: [7], steps: ["P(0,3,7)"]),
        Vector(layout: .parts(size: 10), offset: 3, tail: 3, length: nil, chunks: [5], steps: ["T(3,5)"]),
        Vector(layout: .parts(size: 10), offset: 13, tail: 3, length: 30, chunks: [17], steps: ["P(10,3,7)", "P(20,0,10,last)"]),
        // The last bytes complete the upload with a short final part that includes the tail.
        Vector(layout: .parts(size: 10), offset: 23, tail: 3, length: 25, chunks: [2], steps: ["P(20,3,2,last)"]),
        // An empty body that completes a deferred upload: the tail alone is the final part.
        Vector(layout: .parts(size: 10), offset: 23, tail: 3, length: 23, chunks: [], steps: ["P(20,3,0,last)"]),
        // Exactly at a part boundary, nothing is left over.
        Vector(layout: .parts(size: 10), offset: 0, tail: 0, length: 20, chunks: [10, 10], steps: ["P(0,0,10)", "P(10,0,10,last)"]),
        // In place: writes once a flush's worth gathered, and the rest at the end.
        Vector(layout: .inPlace(flushSize: 8), offset: 5, tail: 0, length: nil, chunks: [3, 3, 3, 1], steps: ["W(5,9)", "W(14,1)"]),
        Vector(layout: .inPlace(flushSize: 8), offset: 0, tail: 0, length: 4, chunks: [4], steps: ["W(0,4)"]),
        Vector(layout: .inPlace(flushSize: 8), offset: 0, tail: 0, length: nil, chunks: [], steps: []),
    ]

    @Test(arguments: vectors)
    func steps(_ v: Vector) throws {
        var plan = AppendPlan(layout: v.layout, offset: v.offset, tailBytes: v.tail, length: v.length)
        var steps: [AppendPlan.Step] = []
        var next = v.offset
        for n in v.chunks {
            steps += try plan.receive(Self.bytes(from: next, count: n))
            next += Int64(n)
        }
        steps += plan.finish()
        #expect(steps.map(Self.describe) == v.steps)
        // Every step carries the bytes of its own range, in order.
        for step in steps {
            switch step {
            case .part(let o, let t, let b, _): #expect(b == Self.bytes(from: o + t, count: b.count))
            case .write(let o, let b), .keepTail(let o, let b): #expect(b == Self.bytes(from: o, count: b.count))
            }
        }
        #expect(plan.nextOffset == next && plan.pendingCount == 0)
    }

    @Test func neverHoldsMoreThanOnePart() throws {
        var plan = AppendPlan(layout: .parts(size: 1000), offset: 0, tailBytes: 0, length: nil)
        var sizes: [Int] = []
        for n in [1, 999, 1001, 64 * 1024, 7, 3000] {
            sizes += try plan.receive([UInt8](repeating: 1, count: n)).compactMap {
                if case .part(_, _, let b, _) = $0 { b.count } else { nil }
            }
            #expect(plan.pendingCount < 1000)
        }
        #expect(sizes.allSatisfy { $0 == 1000 })
    }

    @Test func bytesPastTheLengthAreRefused() throws {
        var plan = AppendPlan(layout: .parts(size: 10), offset: 0, tailBytes: 0, length: 12)
        _ = try plan.receive([UInt8](repeating: 0, count: 11))
        #expect(throws: AppendPlan.Overflow(length: 12)) { try plan.receive([0, 0]) }
        var inPlace = AppendPlan(layout: .inPlace(flushSize: 4), offset: 10, tailBytes: 0, length: 12)
        #expect(throws: AppendPlan.Overflow(length: 12)) { try inPlace.receive([0, 0, 0]) }
        // A deferred length is still bounded by the largest upload allowed.
        var deferred = AppendPlan(layout: .parts(size: 10), offset: 0, tailBytes: 0, length: nil, maximum: 15)
        _ = try deferred.receive([UInt8](repeating: 0, count: 15))
        #expect(throws: AppendPlan.Overflow(length: 15)) { try deferred.receive([0]) }
    }

    /// The very storage comes back (compared by address, not by capacity: the allocator may round
    /// a fresh buffer's capacity either way, and a test that compared capacities failed once).
    @Test func aSentPartsBufferIsReused() throws {
        var plan = AppendPlan(layout: .parts(size: 4096), offset: 0, tailBytes: 0, length: nil)
        var steps = try plan.receive([UInt8](repeating: 7, count: 4096))
        try #require(steps.count == 1)
        // Taken out of `steps` and handed back with `consume`: the plan's is the only reference,
        // as in the handler, so the buffer is reused rather than copied.
        guard case .part(_, _, let sent, _) = steps.removeFirst() else { Issue.record("no part"); return }
        let address = sent.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        plan.recycle(consume sent)
        _ = try plan.receive([1])
        let rest = plan.finish()
        guard case .keepTail(_, let kept) = rest.first else { Issue.record("no tail"); return }
        #expect(kept == [1])
        #expect(kept.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == address, "the next part filled the returned buffer")
    }
}
