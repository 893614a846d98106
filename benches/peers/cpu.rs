//! Process CPU time (user + system, every thread) and minor page faults,
//! read from `/proc/self/stat`: the cost of a case on both ends of a
//! loopback connection, whichever thread spent it.

use std::io;
use std::time::Duration;

/// Clock ticks per second of `/proc/self/stat`'s times (`USER_HZ`, 100 on
/// every Linux build in use).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time spent by this process since it started, and the minor page
/// faults it took.
fn process_usage() -> io::Result<(Duration, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields after its closing one. minflt is field 10; utime and
    // stime are fields 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("/proc/self/stat without a command name"))?;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let field = |n: usize| {
        fields
            .get(n - 4)
            .copied()
            .ok_or_else(|| io::Error::other(format!("/proc/self/stat without field {n}")))
    };
    let ticks = field(14)? + field(15)?;
    Ok((
        Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND),
        field(10)?,
    ))
}

/// CPU time and page faults from a starting point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuClock {
    cpu: Duration,
    faults: u64,
}

impl CpuClock {
    /// Starts counting now.
    pub(crate) fn start() -> io::Result<CpuClock> {
        let (cpu, faults) = process_usage()?;
        Ok(CpuClock { cpu, faults })
    }

    /// CPU time spent since [`start`](Self::start).
    pub(crate) fn elapsed(self) -> io::Result<Duration> {
        Ok(process_usage()?.0.saturating_sub(self.cpu))
    }

    /// CPU time spent and minor page faults taken since
    /// [`start`](Self::start).
    pub(crate) fn usage(self) -> io::Result<(Duration, u64)> {
        let (cpu, faults) = process_usage()?;
        Ok((
            cpu.saturating_sub(self.cpu),
            faults.saturating_sub(self.faults),
        ))
    }
}
