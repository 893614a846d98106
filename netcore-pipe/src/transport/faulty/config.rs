//! What damage a [`Faulty`](super::Faulty) link does.

/// The faults a [`Faulty`](super::Faulty) link injects into the bytes its
/// writer sends.
///
/// Rates are probabilities per byte, from `0.0` (never) to `1.0` (every
/// byte). Start from [`FaultConfig::clean`] and add faults with the builder
/// methods:
///
/// ```
/// use netcore_pipe::transport::FaultConfig;
///
/// let config = FaultConfig::clean(42).flip_rate(0.001).drop_rate(0.0001).cut_after(1 << 20);
/// assert_eq!(config.seed, 42);
/// assert_eq!(config.cut_after, Some(1 << 20));
/// assert!(!config.is_clean());
/// assert!(FaultConfig::clean(7).is_clean());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct FaultConfig {
    /// Seed of the random generator: the same seed and the same bytes written
    /// give the same damage, however the bytes are cut into writes.
    pub seed: u64,
    /// Probability that a byte is lost.
    pub drop_rate: f64,
    /// Probability that a byte (not lost) has one random bit flipped.
    pub flip_rate: f64,
    /// Probability that a random byte is inserted after a byte (not lost).
    pub insert_rate: f64,
    /// Cut the link once this many bytes have been delivered; `None` never
    /// cuts. See [`Faulty`](super::Faulty) for what a cut does.
    pub cut_after: Option<u64>,
}

impl FaultConfig {
    /// No faults and no cut: the link is transparent.
    pub const fn clean(seed: u64) -> Self {
        Self {
            seed,
            drop_rate: 0.0,
            flip_rate: 0.0,
            insert_rate: 0.0,
            cut_after: None,
        }
    }

    /// Sets the probability that a byte is lost.
    ///
    /// # Panics
    ///
    /// Panics if `rate` is not within `0.0..=1.0`.
    #[must_use]
    pub fn drop_rate(self, rate: f64) -> Self {
        check_rate("drop_rate", rate);
        Self {
            drop_rate: rate,
            ..self
        }
    }

    /// Sets the probability that a byte has one bit flipped.
    ///
    /// # Panics
    ///
    /// Panics if `rate` is not within `0.0..=1.0`.
    #[must_use]
    pub fn flip_rate(self, rate: f64) -> Self {
        check_rate("flip_rate", rate);
        Self {
            flip_rate: rate,
            ..self
        }
    }

    /// Sets the probability that a random byte is inserted after a byte.
    ///
    /// # Panics
    ///
    /// Panics if `rate` is not within `0.0..=1.0`.
    #[must_use]
    pub fn insert_rate(self, rate: f64) -> Self {
        check_rate("insert_rate", rate);
        Self {
            insert_rate: rate,
            ..self
        }
    }

    /// Cuts the link once `bytes` bytes have been delivered.
    #[must_use]
    pub const fn cut_after(self, bytes: u64) -> Self {
        Self {
            cut_after: Some(bytes),
            ..self
        }
    }

    /// Whether the bytes are damaged at all (some rate above zero).
    pub fn damages(&self) -> bool {
        self.drop_rate > 0.0 || self.flip_rate > 0.0 || self.insert_rate > 0.0
    }

    /// Whether the link is transparent: no damage and no cut.
    pub fn is_clean(&self) -> bool {
        !self.damages() && self.cut_after.is_none()
    }

    /// Panics if a rate is out of range (fields can be set directly).
    pub(super) fn validate(&self) {
        check_rate("drop_rate", self.drop_rate);
        check_rate("flip_rate", self.flip_rate);
        check_rate("insert_rate", self.insert_rate);
    }
}

impl Default for FaultConfig {
    /// [`FaultConfig::clean`] with seed 0.
    fn default() -> Self {
        Self::clean(0)
    }
}

/// Panics unless `rate` is a probability.
fn check_rate(name: &str, rate: f64) {
    assert!(
        (0.0..=1.0).contains(&rate),
        "FaultConfig::{name} must be within 0.0..=1.0, got {rate}"
    );
}
