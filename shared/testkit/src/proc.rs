//! What the kernel says about a running process (Linux `/proc`): its peak memory and the CPU
//! time it has used, for the harnesses that measure (`soak`, `coldstart`).

use std::time::Duration;

/// Peak resident set size (`VmHWM`) in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Peak resident set size in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    peak_rss_kib(pid).map(|kib| kib as f64 / 1024.0)
}

/// CPU time (user and system) of the whole process, exited threads included, in the kernel's
/// clock ticks (10 ms).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may itself hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux ABI.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time of the process's threads that are still running, to the nanosecond (the first field
/// of each `/proc/<pid>/task/<tid>/schedstat`): finer than [`cpu_time`], but a thread that has
/// exited no longer counts. 0 for a process that is gone.
pub fn threads_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_peak_and_has_used_cpu() {
        let pid = std::process::id();
        // Some work, so that there is CPU time to see.
        let sum: u64 = (0..2_000_000u64).map(|n| n.wrapping_mul(n) % 7).sum();
        assert!(sum > 0);
        assert!(peak_rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(peak_rss_mib(pid).is_some_and(|mib| mib > 0.0));
        assert!(cpu_time(pid).is_some());
        assert!(threads_cpu_ns(pid) > 0);
    }

    #[test]
    fn a_process_that_is_not_there_has_no_figures() {
        // Above the largest pid Linux hands out (2^22).
        let pid = 1 << 23;
        assert_eq!(peak_rss_kib(pid), None);
        assert_eq!(cpu_time(pid), None);
        assert_eq!(threads_cpu_ns(pid), 0);
    }
}
