//! A process's memory as Linux reports it in `/proc/<pid>/status`.
//! Included by path by the bench targets that use it.

use std::io;

/// `VmRSS` and `VmHWM` (the peak RSS) of process `pid` (`"self"` for this
/// one), in bytes; 0 for a field this kernel does not report.
pub(crate) fn rss_and_peak(pid: &str) -> io::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}
