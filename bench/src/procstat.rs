//! CPU time and peak memory of another process, from `/proc` (Linux): how much work a gateway
//! did for the requests of a measured window, not only how fast it answered.

use anyhow::Context;

/// Clock ticks per second of `utime`/`stime` in `/proc/PID/stat`: `USER_HZ`, which Linux fixes
/// at 100 for user space on every architecture this harness runs on.
const USER_HZ: f64 = 100.0;

/// CPU time used by a process (all its threads) so far, in milliseconds.
pub fn cpu_ms(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may contain spaces: count from after it.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 after the name.
    let ticks = |i: usize| -> anyhow::Result<f64> {
        let field = fields.get(i).context("short /proc/PID/stat")?;
        Ok(field.parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) * 1000.0 / USER_HZ)
}

/// The peak resident set size of a process so far (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/PID/status")?;
    line.split_whitespace()
        .nth(1)
        .context("malformed VmHWM")?
        .parse()
        .context("malformed VmHWM")
}

/// The 1-minute load average of the machine.
pub fn load_average() -> anyhow::Result<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").context("reading /proc/loadavg")?;
    text.split_whitespace()
        .next()
        .context("empty /proc/loadavg")?
        .parse()
        .context("malformed /proc/loadavg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_ms(pid).is_ok_and(|ms| ms >= 0.0));
        assert!(peak_rss_kib(pid).is_ok_and(|kib| kib > 0));
        assert!(load_average().is_ok_and(|l| l >= 0.0));
    }
}
