/// A DEFLATE compressor (RFC 1951: LZ77 with hash chains and lazy matching, dynamic Huffman
/// blocks) and the gzip wrapper (RFC 1952), for the web app's files at build time.
///
/// It lives in the build tool, not in vidd: the product links no zlib, and compressing once per
/// build costs nothing at run time. Its output is checked by decompressing it with gzip(1) in
/// the tests; it trades a little ratio for simplicity (no block splitting by cost, no stored
/// blocks: the embedder keeps a file uncompressed when gzip does not make it smaller).
enum Deflate {
    /// `input` as a gzip member: fixed header (no name, mtime 0, so builds are reproducible), the
    /// deflate stream, CRC-32 and size.
    static func gzip(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]  // ID, CM=deflate, FLG, MTIME, XFL=max, OS=Unix
        out += deflate(input)
        for value in [CRC32.checksum(input), UInt32(truncatingIfNeeded: input.count)] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        return out
    }

    /// A raw deflate stream.
    static func deflate(_ input: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        let tokens = LZ77.tokens(input)
        if tokens.isEmpty {
            // One final block with fixed codes holding only end-of-block (7 zero bits).
            writer.write(1, 1)
            writer.write(1, 2)
            writer.write(0, 7)
        } else {
            let blockSize = 1 << 15
            var start = 0
            while start < tokens.count {
                let end = min(tokens.count, start + blockSize)
                writeDynamicBlock(tokens[start..<end], final: end == tokens.count, into: &writer)
                start = end
            }
        }
        writer.flush()
        return writer.bytes
    }

    // MARK: Blocks

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                      2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// The order in which code-length code lengths are sent.
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Index of the largest base ≤ value.
    static func bucket(_ value: Int, _ bases: [Int]) -> Int {
        var i = bases.count - 1
        while bases[i] > value { i -= 1 }
        return i
    }

    static func writeDynamicBlock(_ tokens: ArraySlice<LZ77.Token>, final: Bool, into w: inout BitWriter) {
        var literalFrequencies = [Int](repeating: 0, count: 286)
        var distanceFrequencies = [Int](repeating: 0, count: 30)
        for t in tokens {
            if t.distance == 0 {
                literalFrequencies[Int(t.value)] += 1
            } else {
                literalFrequencies[257 + bucket(Int(t.value), lengthBase)] += 1
                distanceFrequencies[bucket(Int(t.distance), distanceBase)] += 1
            }
        }
        literalFrequencies[256] = 1
        let literalLengths = Huffman.lengths(literalFrequencies, limit: 15)
        let distanceLengths = Huffman.lengths(distanceFrequencies, limit: 15)
        let literalCodes = Huffman.canonicalCodes(literalLengths)
        let distanceCodes = Huffman.canonicalCodes(distanceLengths)

        let hlit = max(257, (literalLengths.lastIndex { $0 != 0 } ?? 0) + 1)
        let hdist = max(1, (distanceLengths.lastIndex { $0 != 0 } ?? 0) + 1)
        let runs = runLengthEncode(Array(literalLengths[..<hlit]) + Array(distanceLengths[..<hdist]))
        var codeLengthFrequencies = [Int](repeating: 0, count: 19)
        for r in runs { codeLengthFrequencies[r.symbol] += 1 }
        let codeLengthLengths = Huffman.lengths(codeLengthFrequencies, limit: 7)
        let codeLengthCodes = Huffman.canonicalCodes(codeLengthLengths)
        var hclen = 19
        while hclen > 4 && codeLengthLengths[codeLengthOrder[hclen - 1]] == 0 { hclen -= 1 }

        w.write(final ? 1 : 0, 1)
        w.write(2, 2)  // dynamic Huffman codes
        w.write(UInt32(hlit - 257), 5)
        w.write(UInt32(hdist - 1), 5)
        w.write(UInt32(hclen - 4), 4)
        for i in 0..<hclen { w.write(UInt32(codeLengthLengths[codeLengthOrder[i]]), 3) }
        for r in runs {
            w.writeCode(codeLengthCodes[r.symbol], codeLengthLengths[r.symbol])
            if r.extraBits > 0 { w.write(UInt32(r.extra), r.extraBits) }
        }
        for t in tokens {
            if t.distance == 0 {
                w.writeCode(literalCodes[Int(t.value)], literalLengths[Int(t.value)])
            } else {
                let length = Int(t.value), distance = Int(t.distance)
                let l = bucket(length, lengthBase)
                w.writeCode(literalCodes[257 + l], literalLengths[257 + l])
                if lengthExtra[l] > 0 { w.write(UInt32(length - lengthBase[l]), lengthExtra[l]) }
                let d = bucket(distance, distanceBase)
                w.writeCode(distanceCodes[d], distanceLengths[d])
                if distanceExtra[d] > 0 { w.write(UInt32(distance - distanceBase[d]), distanceExtra[d]) }
            }
        }
        w.writeCode(literalCodes[256], literalLengths[256])
    }

    struct Run: Equatable {
        var symbol: Int
        var extra: Int = 0
        var extraBits: Int = 0
    }

    /// Code lengths as the code-length alphabet: 0–15 literally, 16 = repeat the previous 3–6
    /// times, 17 = 3–10 zeros, 18 = 11–138 zeros.
    static func runLengthEncode(_ lengths: [Int]) -> [Run] {
        var runs: [Run] = []
        var i = 0
        while i < lengths.count {
            let value = lengths[i]
            var n = 1
            while i + n < lengths.count && lengths[i + n] == value { n += 1 }
            i += n
            if value == 0 {
                while n >= 11 { let k = min(n, 138); runs.append(Run(symbol: 18, extra: k - 11, extraBits: 7)); n -= k }
                if n >= 3 { runs.append(Run(symbol: 17, extra: n - 3, extraBits: 3)); n = 0 }
                runs += Array(repeating: Run(symbol: 0), count: n)
            } else {
                runs.append(Run(symbol: value))
                n -= 1
                while n >= 3 { let k = min(n, 6); runs.append(Run(symbol: 16, extra: k - 3, extraBits: 2)); n -= k }
                runs += Array(repeating: Run(symbol: value), count: n)
            }
        }
        return runs
    }
}

/// Huffman code lengths and canonical codes (RFC 1951 §3.2.2).
enum Huffman {
    /// Code lengths for `frequencies`, none longer than `limit`. At least two symbols get a code
    /// (a one-symbol code is incomplete, which inflaters refuse for the code-length alphabet).
    /// Over the limit, frequencies are halved and the tree rebuilt: all ones gives a balanced
    /// tree, so this ends.
    static func lengths(_ frequencies: [Int], limit: Int) -> [Int] {
        var f = frequencies
        var used = f.indices.filter { f[$0] > 0 }
        for i in f.indices where used.count < 2 && f[i] == 0 {
            f[i] = 1
            used.append(i)
        }
        while true {
            let lengths = treeDepths(f)
            if lengths.max()! <= limit { return lengths }
            f = f.map { $0 == 0 ? 0 : ($0 + 1) / 2 }
        }
    }

    /// Depth of each leaf in a Huffman tree (0 for unused symbols). Ties go to the lower index,
    /// so the result is deterministic.
    static func treeDepths(_ frequencies: [Int]) -> [Int] {
        var weight: [Int] = []
        var parent: [Int] = []
        var leafNode = [Int](repeating: -1, count: frequencies.count)
        var live: [Int] = []
        for (symbol, f) in frequencies.enumerated() where f > 0 {
            leafNode[symbol] = weight.count
            live.append(weight.count)
            weight.append(f)
            parent.append(-1)
        }
        while live.count > 1 {
            var a = 0, b = 1
            if weight[live[b]] < weight[live[a]] { swap(&a, &b) }
            for i in 2..<live.count {
                if weight[live[i]] < weight[live[a]] { b = a; a = i } else if weight[live[i]] < weight[live[b]] { b = i }
            }
            let node = weight.count
            weight.append(weight[live[a]] + weight[live[b]])
            parent.append(-1)
            parent[live[a]] = node
            parent[live[b]] = node
            let (hi, lo) = (max(a, b), min(a, b))
            live.remove(at: hi)
            live[lo] = node
        }
        return leafNode.map { node in
            guard node >= 0 else { return 0 }
            var depth = 0, n = node
            while parent[n] >= 0 { depth += 1; n = parent[n] }
            return depth
        }
    }

    static func canonicalCodes(_ lengths: [Int]) -> [UInt32] {
        let maxLength = lengths.max() ?? 0
        var count = [Int](repeating: 0, count: maxLength + 1)
        for l in lengths where l > 0 { count[l] += 1 }
        var next = [UInt32](repeating: 0, count: maxLength + 2)
        var code: UInt32 = 0
        if maxLength > 0 {
            for bits in 1...maxLength {
                code = (code + UInt32(count[bits - 1])) << 1
                next[bits] = code
            }
        }
        return lengths.map { l in
            guard l > 0 else { return 0 }
            defer { next[l] += 1 }
            return next[l]
        }
    }
}

/// LZ77 over a 32 KiB window: hash chains of 3-byte prefixes, with one step of lazy matching
/// (a match is put off by a literal when the next position has a longer one).
enum LZ77 {
    /// A literal (`distance` 0, `value` the byte) or a match (`value` the length 3–258).
    struct Token: Equatable {
        var value: UInt16
        var distance: UInt16
    }

    static let window = 32768
    static let maxChain = 256
    static let maxMatch = 258

    static func tokens(_ input: [UInt8]) -> [Token] {
        let n = input.count
        var tokens: [Token] = []
        tokens.reserveCapacity(n / 3)
        var head = [Int32](repeating: -1, count: 1 << 15)
        var previous = [Int32](repeating: -1, count: n)

        func hash(_ i: Int) -> Int {
            ((Int(input[i]) << 10) ^ (Int(input[i + 1]) << 5) ^ Int(input[i + 2])) & 0x7fff
        }
        func insert(_ i: Int) {
            guard i + 2 < n else { return }
            let h = hash(i)
            previous[i] = head[h]
            head[h] = Int32(i)
        }
        /// The longest earlier match at `i` (length, distance), looking only at positions inserted so far.
        func longestMatch(_ i: Int) -> (length: Int, distance: Int) {
            guard i + 2 < n else { return (0, 0) }
            let limit = min(maxMatch, n - i)
            var best = (length: 0, distance: 0)
            var candidate = Int(head[hash(i)])
            var chain = 0
            while candidate >= 0 && i - candidate <= window && chain < maxChain {
                if input[candidate + best.length] == input[i + best.length] || best.length == 0 {
                    var length = 0
                    while length < limit && input[candidate + length] == input[i + length] { length += 1 }
                    if length > best.length {
                        best = (length, i - candidate)
                        if length == limit { break }
                    }
                }
                candidate = Int(previous[candidate])
                chain += 1
            }
            return best.length >= 3 ? best : (0, 0)
        }

        var i = 0
        while i < n {
            let match = longestMatch(i)
            insert(i)
            if match.length >= 3 {
                if match.length < 32, i + 1 < n, longestMatch(i + 1).length > match.length {
                    tokens.append(Token(value: UInt16(input[i]), distance: 0))
                    i += 1
                    continue
                }
                tokens.append(Token(value: UInt16(match.length), distance: UInt16(match.distance)))
                for k in (i + 1)..<(i + match.length) { insert(k) }
                i += match.length
            } else {
                tokens.append(Token(value: UInt16(input[i]), distance: 0))
                i += 1
            }
        }
        return tokens
    }
}

/// Bits packed least-significant first, as DEFLATE sends everything but Huffman codes.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var accumulator: UInt64 = 0
    private var count = 0

    mutating func write(_ value: UInt32, _ bits: Int) {
        accumulator |= UInt64(value) << UInt64(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: accumulator))
            accumulator >>= 8
            count -= 8
        }
    }

    /// A Huffman code goes most-significant bit first: reversed into the LSB-first stream.
    mutating func writeCode(_ code: UInt32, _ length: Int) {
        var reversed: UInt32 = 0
        for b in 0..<length where code & (1 << UInt32(b)) != 0 { reversed |= 1 << UInt32(length - 1 - b) }
        write(reversed, length)
    }

    mutating func flush() {
        if count > 0 { bytes.append(UInt8(truncatingIfNeeded: accumulator)) }
        accumulator = 0
        count = 0
    }
}

/// CRC-32 (ISO-HDLC, the one gzip uses).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
