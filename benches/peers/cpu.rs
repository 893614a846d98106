//! Process CPU time (user + system, every thread), read from
//! `/proc/self/stat`: the cost of a case on both ends of a loopback
//! connection, whichever thread spent it.

use std::io;
use std::time::Duration;

/// Clock ticks per second of `/proc/self/stat`'s times (`USER_HZ`, 100 on
/// every Linux build in use).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time spent by this process since it started.
fn process_cpu() -> io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields after its closing one. utime and stime are fields 14, 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("/proc/self/stat without a command name"))?;
    let mut fields = after.split_whitespace().skip(11);
    let mut next = || -> io::Result<u64> {
        fields
            .next()
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| io::Error::other("/proc/self/stat without utime/stime"))
    };
    let ticks = next()? + next()?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// CPU time from a starting point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuClock(Duration);

impl CpuClock {
    /// Starts counting now.
    pub(crate) fn start() -> io::Result<CpuClock> {
        process_cpu().map(CpuClock)
    }

    /// CPU time spent since [`start`](Self::start).
    pub(crate) fn elapsed(self) -> io::Result<Duration> {
        Ok(process_cpu()?.saturating_sub(self.0))
    }
}
