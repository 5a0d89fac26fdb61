//! FNV-1a, 64 bits: enough to tell two traces apart, and no dependency. Shared by
//! `tests/trace_pins.rs` and `benches/market.rs`, which pin and check trace bytes by it.

/// The hash of no bytes.
pub const START: u64 = 0xcbf2_9ce4_8422_2325;

/// `h` (the hash of what came before) extended by `bytes`.
pub fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
