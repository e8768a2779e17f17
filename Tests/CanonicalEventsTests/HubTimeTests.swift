@testable import CanonicalEvents
import Foundation
import Testing

@Suite("Hub time")
struct HubTimeTests {
    @Test("a moment is written as ISO8601DateFormatter writes it, across leap days, centuries, before 1970 and far out")
    func writesAsFoundation() {
        let formatter = ISO8601DateFormatter()
        var moments: [Int] = [0, -1, 59, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800, 253_402_300_799,
                              Int(Date().timeIntervalSince1970)]
        var state: UInt64 = 20261129
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            moments.append(Int(state >> 20) % 12_000_000_000 - 2_500_000_000)  // 1890 to 2350
        }
        for seconds in moments {
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(HubTime.text(date) == formatter.string(from: date), "\(seconds)")
        }
        // A fraction of a second is cut off, as the formatter does.
        #expect(HubTime.text(Date(timeIntervalSince1970: 1_795_950_000.999)) == formatter.string(from: Date(timeIntervalSince1970: 1_795_950_000.999)))
        #expect(HubTime.text(Date(timeIntervalSince1970: -0.5)) == formatter.string(from: Date(timeIntervalSince1970: -0.5)))
        // Far outside years 1 to 9999 (or not a number of seconds at all): as the formatter has it, never a trap.
        for seconds in [1e20, -1e20, 253_402_300_800, -62_135_596_801, Double.infinity] {
            #expect(HubTime.text(Date(timeIntervalSince1970: seconds)) == formatter.string(from: Date(timeIntervalSince1970: seconds)))
        }
    }
}
