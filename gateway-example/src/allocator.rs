//! The allocator's settings: how long mimalloc keeps freed memory before it gives it back.
//!
//! mimalloc returns ("purges") freed pages to the operating system 10 ms after they empty, by
//! default. A gateway answering one request after another frees most of an answer's memory at
//! its end and needs as much again for the next one: each purged page comes back through a
//! page fault that zeroes it (a 2 MiB transparent huge page at a time where the kernel uses
//! them). On the 4 MB `large` benchmark answer that was a sixth of the gateway's CPU (perf:
//! `asm_exc_page_fault`, `clear_page_erms`), tens of thousands of faults in six seconds; with a
//! delay of one second, next to none. The memory a burst leaves free still goes back, a second later.
//!
//! The environment keeps the last word: `MIMALLOC_PURGE_DELAY` (milliseconds; `0` purges at
//! once, `-1` never), when set, is left as mimalloc read it.

/// The purge delay the gateway sets, in milliseconds, unless `MIMALLOC_PURGE_DELAY` is set.
pub const PURGE_DELAY_MS: i64 = 1000;

/// mimalloc's option number for the purge delay (`mi_option_purge_delay` in `mimalloc.h` of
/// the 2.x line this workspace builds; `libmimalloc-sys` names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the purge delay to [`PURGE_DELAY_MS`] unless the environment chose one; returns the
/// delay in effect. Call it first thing in `main`, before any thread is spawned (mimalloc reads
/// the option each time it schedules a purge, so memory freed later follows it).
///
/// ```
/// let delay = gateway_example::allocator::configure();
/// assert!(delay == gateway_example::allocator::PURGE_DELAY_MS
///     || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some());
/// ```
pub fn configure() -> i64 {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        set_purge_delay(PURGE_DELAY_MS);
    }
    purge_delay()
}

/// The purge delay mimalloc uses, in milliseconds.
pub fn purge_delay() -> i64 {
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_get` reads one entry of mimalloc's static option table (initialising
    // it from the environment on first use); it takes a plain integer, dereferences nothing
    // of ours and may be called from any thread at any time. The option number is in range:
    // `mi_option_purge_delay` is 15 in the 2.x header, below `_mi_option_last`.
    let value = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
    // `c_long` is `i64` here, `i32` on other platforms.
    #[allow(clippy::useless_conversion)]
    i64::from(value)
}

fn set_purge_delay(milliseconds: i64) {
    let value = std::os::raw::c_long::try_from(milliseconds).unwrap_or(std::os::raw::c_long::MAX);
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` stores one integer into mimalloc's static option table; it
    // dereferences nothing of ours, and mimalloc documents it for use at run time, before or
    // after allocations. `main` calls it before any other thread exists, so no purge reads the
    // word while it is written (in this library's tests mimalloc is not the global allocator,
    // so no other thread reads it either). The option number is in range (see `purge_delay`).
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, value)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_set_unless_the_environment_chose_one() {
        // The test process does not set the variable (CI's environment does not either).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            assert_eq!(configure(), purge_delay());
            return;
        }
        assert_eq!(configure(), PURGE_DELAY_MS);
        assert_eq!(purge_delay(), PURGE_DELAY_MS);
        set_purge_delay(10);
        assert_eq!(purge_delay(), 10);
        assert_eq!(configure(), PURGE_DELAY_MS);
    }
}
