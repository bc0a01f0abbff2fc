import BatonModel
import Foundation
import Testing

@Suite("output made safe to store")
struct OutputLimitsTests {
    @Test("a NUL byte and invalid UTF-8 become U+FFFD and are counted; valid text is kept as it is")
    func cleanLine() {
        #expect(OutputLimits.line(Array("café ✓".utf8)) == .init(text: "café ✓", nulBytes: 0, invalidUTF8: false))
        #expect(OutputLimits.line([0x61, 0x00, 0x62]) == .init(text: "a\u{FFFD}b", nulBytes: 1, invalidUTF8: false))
        let broken = OutputLimits.line([0x61, 0xFF, 0xFE, 0x62, 0x0D])
        #expect(broken.invalidUTF8 && broken.text.hasPrefix("a\u{FFFD}") && broken.text.hasSuffix("b"), "a CR before the newline goes too")
    }

    @Test("lines are split at newlines, across chunks; a line over the limit keeps its start and says how much went")
    func splitter() {
        var splitter = LineSplitter(limit: 100)
        #expect(splitter.feed(Array("one\ntw".utf8)).map(\.line.text) == ["one"])
        #expect(splitter.feed(Array("o\n".utf8)).map(\.line.text) == ["two"])
        let long = splitter.feed(Array(repeating: UInt8(ascii: "x"), count: 1000) + [0x0A])
        #expect(long.count == 1)
        #expect(long[0].droppedBytes == 1000 - 36)
        #expect(long[0].line.text == String(repeating: "x", count: 36) + " [line cut: 964 more bytes]")
        #expect(long[0].line.text.utf8.count <= 100)
        #expect(splitter.feed(Array("tail".utf8)).isEmpty)
        #expect(splitter.finish()?.line.text == "tail")
        #expect(splitter.finish() == nil)
    }

    @Test("a cut never ends inside a character")
    func cutOnCharacter() {
        var splitter = LineSplitter(limit: 70)
        let pieces = splitter.feed(Array(String(repeating: "é", count: 100).utf8) + [0x0A])
        #expect(pieces[0].line.invalidUTF8 == false)
        #expect(pieces[0].line.text.hasPrefix("ééé"))
        #expect(OutputLimits.cut("aé", bytes: 2) == "a [cut: 2 more bytes]")
    }

    @Test("a result loses its NULs, its output lines are cut, and an oversized one keeps message and reason")
    func result() {
        let small: JSONValue = ["message": "a\u{0}b", "output": ["x\u{0}"]]
        #expect(OutputLimits.result(small) == ["message": "a\u{FFFD}b", "output": ["x\u{FFFD}"]])
        let line = String(repeating: "y", count: 5000)
        let cut = OutputLimits.result(["message": "m", "output": .array([.string(line)])])
        #expect(cut["output"]?.arrayValue?.first?.stringValue?.hasSuffix("[cut: \(5000 - OutputLimits.resultLineBytes) more bytes]") == true)
        let huge = OutputLimits.result(["message": .string(String(repeating: "z", count: 100_000)), "reason": "timeout", "body": .string(String(repeating: "b", count: 100_000))])
        #expect(huge.jsonText.utf8.count < OutputLimits.resultBytes)
        #expect(huge["reason"] == "timeout" && huge["truncated"] == true && huge["body"] == nil)
    }
}

@Suite("JSON text")
struct JSONTextTests {
    @Test("jsonText writes what JSONEncoder (sorted keys, slashes unescaped) writes")
    func sameAsEncoder() throws {
        let values: [JSONValue] = [
            .null, true, false, 0, -3, 42, .number(1.5), .number(-0.25), .number(1e20), 123456789012, .number(0.1), .number(3.14159),
            "plain", "quote \" back \\ slash / tab \t newline \n cr \r", "\u{1}\u{1F}\u{8}\u{C}", "café ✓ 𝄞", "",
            [], [1, "a", .null, [true]], [:],
            ["b": 1, "a": ["z": "y", "c": [1, 2]], "m": "n/o", "\u{0}k": "\u{0}"],
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for value in values {
            let expected = String(decoding: try encoder.encode(value), as: UTF8.self)
            #expect(value.jsonText == expected, "\(value)")
            #expect(try JSONValue.parse(value.jsonText) == value)
        }
    }

    @Test("parse reads what JSONDecoder reads, and refuses what is not JSON")
    func parse() throws {
        let valid = [#" {"a" : [1, 2.5e3, -0.5, true, false, null, "x\u00e9\ud83d\ude00\n\"\/"] } "#, "1", #""s""#, "[]", "{}", "-0", "1E2", #"{"a":{"b":{"c":[]}}}"#]
        for text in valid {
            let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(try JSONValue.parse(text) == decoded, "\(text)")
        }
        let invalid = ["", "{", "[1,]", "01", "1.", "1e", #""\x""#, #""\ud83d""#, #""\udc00""#, "tru", #"{"a" 1}"#, "[1] 2", "\"a\u{1}\"", "1e400",
                       String(repeating: "[", count: 600) + String(repeating: "]", count: 600)]
        for text in invalid {
            #expect(throws: (any Error).self, "\(text.prefix(20))") { try JSONValue.parse(text) }
        }
    }
}
