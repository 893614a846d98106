//! The per-byte fault injector of a [`Faulty`](super::Faulty) writer.

use super::{FaultConfig, FaultStats};

/// Damages bytes according to a [`FaultConfig`], with its own seeded random
/// generator.
///
/// The generator is consulted a fixed way for each input byte, so the damage
/// depends only on the seed and the byte stream, not on how it is cut into
/// writes.
#[derive(Debug)]
pub(super) struct Damager {
    rng: fastrand::Rng,
    drop_rate: f64,
    flip_rate: f64,
    insert_rate: f64,
    stats: FaultStats,
}

impl Damager {
    pub(super) fn new(config: &FaultConfig, stats: FaultStats) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(config.seed),
            drop_rate: config.drop_rate,
            flip_rate: config.flip_rate,
            insert_rate: config.insert_rate,
            stats,
        }
    }

    /// Appends the damaged form of `input` to `out`, stopping once `out` holds
    /// `limit` bytes (the rest of `input` is then neither damaged nor counted).
    pub(super) fn damage(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) {
        let (mut dropped, mut flipped, mut inserted) = (0, 0, 0);
        for &byte in input {
            if out.len() >= limit {
                break;
            }
            if self.happens(self.drop_rate) {
                dropped += 1;
                continue;
            }
            let mut byte = byte;
            if self.happens(self.flip_rate) {
                byte ^= 1 << self.rng.u32(0..8);
                flipped += 1;
            }
            out.push(byte);
            if self.happens(self.insert_rate) && out.len() < limit {
                out.push(self.rng.u8(..));
                inserted += 1;
            }
        }
        self.stats.add_faults(dropped, flipped, inserted);
    }

    /// Draws whether a fault of probability `rate` happens; draws nothing
    /// when `rate` is zero.
    fn happens(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.f64() < rate
    }
}
