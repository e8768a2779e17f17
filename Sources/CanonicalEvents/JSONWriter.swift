/// Compact JSON, written straight into bytes. Members are written in the order given: a caller
/// writing canonical JSON by hand (sorted keys, as `JSONValue.encoded()` writes) gives them sorted.
/// Records written for every event (decision records) use it to skip building a `JSONValue` first.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next element is the first of its array or object (no comma before it).
    private var first = true
    /// Whether a key was just written (its value takes no comma either).
    private var afterKey = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Empties the writer and keeps its buffer: one writer writes many values in a row, each copied
    /// out at its exact size (`copiedBytes`), instead of each allocating and growing a buffer of its own.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        (first, afterKey) = (true, false)
    }

    /// What was written, in an array of its own of the exact size; the buffer stays the writer's.
    public var copiedBytes: [UInt8] { bytes.withUnsafeBufferPointer { Array($0) } }

    public mutating func beginObject() { element(); bytes.append(UInt8(ascii: "{")); first = true }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); first = false }
    public mutating func beginArray() { element(); bytes.append(UInt8(ascii: "[")); first = true }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); first = false }

    /// A member name from the data (`@_disfavoredOverload`: a name spelled out in the code is a
    /// `StaticString`, below).
    @_disfavoredOverload
    public mutating func key(_ name: String) {
        element()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// A member name spelled out in the code: copied as it is, not searched for characters to
    /// escape (the names of records written for every decision were a third of writing them).
    /// Such a name has none; a name that had one would be caught by the assertion in testing.
    public mutating func key(_ name: StaticString) {
        element()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { utf8 in
            assert(!Self.needsEscaping(utf8), "a member name in the code needs escaping")
            bytes.append(contentsOf: utf8)
        }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ text: String) { element(); writeString(text) }
    public mutating func null() { element(); append("null") }
    /// A value already encoded as JSON (for example `JSONValue.encodedBytes()`), copied as it is.
    public mutating func raw(_ encoded: [UInt8]) { element(); bytes += encoded }
    public mutating func bool(_ value: Bool) { element(); append(value ? "true" : "false") }

    /// Integral values without a fraction, as JSON Schema's `integer` reads them.
    public mutating func number(_ value: Double) {
        element()
        if value.rounded() == value, abs(value) < 9.0e15 {
            writeInteger(Int64(value))
        } else {
            bytes += Array("\(value)".utf8)
        }
    }

    /// A member whose value is a string, or no member at all when there is no value.
    public mutating func member(_ name: StaticString, _ text: String?) {
        guard let text else { return }
        key(name)
        string(text)
    }

    @_disfavoredOverload
    public mutating func member(_ name: String, _ text: String?) {
        guard let text else { return }
        key(name)
        string(text)
    }

    /// A member whose value is a boolean, or no member at all when there is no value.
    public mutating func member(_ name: StaticString, _ flag: Bool?) {
        guard let flag else { return }
        key(name)
        bool(flag)
    }

    /// A member whose value is an array of strings, or no member at all when there is none.
    public mutating func member(_ name: StaticString, _ texts: [String]?) {
        guard let texts else { return }
        key(name)
        strings(texts)
    }

    @_disfavoredOverload
    public mutating func member(_ name: String, _ texts: [String]?) {
        guard let texts else { return }
        key(name)
        strings(texts)
    }

    private mutating func strings(_ texts: [String]) {
        beginArray()
        for text in texts { string(text) }
        endArray()
    }

    private mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Decimal digits, written straight into the buffer (not through a `String` and an `Array` of it).
    private mutating func writeInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    private mutating func element() {
        if afterKey {
            afterKey = false
        } else {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
        }
    }

    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escaping: copy them whole. `withUTF8` also reaches the bytes of small
        // strings (kept inline), which most keys and codes are.
        var text = text
        text.withUTF8 { utf8 in
            guard Self.needsEscaping(utf8) else {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether any byte is a control character, `"` or `\`, tested eight bytes at a time (the
    /// writer's strings are mostly ids and codes with nothing to escape, and testing them byte by
    /// byte was most of the time of writing them). For a word `x` of eight bytes and `n` ≤ 0x80,
    /// `(x - n·0x01…01) & ~x & 0x80…80` is nonzero exactly when some byte of `x` is below `n`;
    /// `x` XOR a repeated byte has a zero byte (one below 1) exactly where `x` holds that byte.
    static func needsEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        var offset = 0
        while offset + 8 <= utf8.count {
            let word = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let control = (word &- ones &* 0x20) & ~word & high
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            if control | ((quote &- ones) & ~quote & high) | ((backslash &- ones) & ~backslash & high) != 0 { return true }
            offset += 8
        }
        while offset < utf8.count {
            let byte = base[offset]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            offset += 1
        }
        return false
    }
}
