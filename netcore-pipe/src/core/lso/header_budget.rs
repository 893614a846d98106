//! [`HeaderBudget`]: header bytes of open incoming messages beyond each
//! connection's own, shared by the connections made from one configuration.

use std::fmt;

use super::WindowBudget;
use super::window_budget::Reservation;

/// Header bytes (encoded blocks) of open incoming messages that
/// connections may hold beyond their own `CoreConfig::header_budget`,
/// shared by every connection whose [`CoreConfig`](super::CoreConfig) is a
/// clone of one another (a server's connections, or a client's pool).
///
/// An OPEN whose headers fit in what is left of its connection's own
/// budget takes them from there; one that does not takes them from this
/// budget, and is refused (a receiver CANCEL with code `REFUSED`, the
/// connection goes on) when neither has room. Its bytes go back when the
/// message has arrived and been read, or fails, or the connection ends. So
/// the open headers of all connections stay under `connections ×
/// header_budget + this budget`, hostile peers included, while one busy
/// connection can still have many messages open.
///
/// ```
/// use netcore_pipe::core::{CoreConfig, HeaderBudget};
///
/// let config = CoreConfig::default().with_shared_header_budget(HeaderBudget::new(16 << 20));
/// assert_eq!(config.clone().shared_header_budget.total(), 16 << 20);
/// ```
#[derive(Clone)]
pub struct HeaderBudget {
    bytes: WindowBudget,
}

impl HeaderBudget {
    /// The default: 16 MiB (1024 blocks of the largest default size,
    /// 16 KiB; a hundred thousand typical ones), so that one connection
    /// cannot hold much more than it could alone before there was a shared
    /// budget, and 1024 together little more than 16 MiB beyond their own.
    pub const DEFAULT_TOTAL: u64 = 16 << 20;

    /// A budget of `total` bytes.
    pub fn new(total: u64) -> HeaderBudget {
        HeaderBudget {
            bytes: WindowBudget::new(total),
        }
    }

    /// Its size.
    pub fn total(&self) -> u64 {
        self.bytes.total()
    }

    /// Bytes taken by open messages' headers now.
    pub fn in_use(&self) -> u64 {
        self.bytes.in_use()
    }

    /// A connection's share, empty to start with.
    pub(crate) fn reservation(&self) -> Reservation {
        Reservation::new(self.bytes.clone())
    }
}

impl Default for HeaderBudget {
    fn default() -> Self {
        HeaderBudget::new(HeaderBudget::DEFAULT_TOTAL)
    }
}

impl fmt::Debug for HeaderBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderBudget")
            .field("total", &self.total())
            .field("in_use", &self.in_use())
            .finish()
    }
}
