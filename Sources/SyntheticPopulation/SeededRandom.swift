/// SplitMix64: small, fast and the same on every platform, so a seed gives the same region everywhere.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// Picks by weight (the weights need not sum to one).
    mutating func weighted<T>(_ items: [(T, Double)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var r = unit() * total
        for (item, weight) in items {
            r -= weight
            if r < 0 { return item }
        }
        return items[items.count - 1].0
    }

    /// A Pareto-distributed count ≥ 0: most draws are small, a few are large (healthcare use is like that).
    mutating func heavyTail(alpha: Double, cap: Int) -> Int {
        min(cap, Int(min(pow(1 - unit(), -1 / alpha), Double(cap + 1))) - 1)
    }
}

import Foundation
