//! Time arithmetic that never panics, for deadlines and back-offs built from numbers a server or
//! a caller chose (`Retry-After`, retry settings, `wait(Duration::MAX)`).
//!
//! `Instant + Duration`, `Duration * n` and `Duration::from_secs_f64(x)` panic on overflow, on
//! NaN or on a negative number. In the SDK's crates clippy refuses them (`clippy.toml` at the
//! workspace root, `clippy::arithmetic_side_effects` and `clippy::unchecked_time_subtraction`
//! at each crate's root); these helpers, or the standard `checked_*` and `saturating_*` methods,
//! are what to write instead.
//!
//! The rules: a duration too long to add to an instant ends at [`FAR_FUTURE`] from it (about
//! 30 years: a deadline that never comes, as tokio's own timers do); a number of seconds that is
//! NaN or not positive is [`Duration::ZERO`]; one too large for a `Duration` is
//! [`Duration::MAX`] (callers cap their back-offs below that).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use kusto_data::time_math::{Later, secs_f64};
//!
//! let now = Instant::now();
//! assert!(now.later(Duration::MAX) > now);
//! assert_eq!(secs_f64(f64::NAN), Duration::ZERO);
//! assert_eq!(secs_f64(-3.0), Duration::ZERO);
//! assert_eq!(secs_f64(1e300), Duration::MAX);
//! assert_eq!(secs_f64(1.5), Duration::from_millis(1500));
//! ```

use std::time::{Duration, Instant};

/// The farthest a deadline is put: 30 years of 365 days (an instant that never comes).
pub const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// An instant (the standard one or tokio's) moved forward without overflow.
pub trait Later: Sized + Copy {
    /// `self + duration` when it fits; `None` when it does not.
    fn checked_later(self, duration: Duration) -> Option<Self>;

    /// `self + duration`, at most [`FAR_FUTURE`] from `self` (never a panic; `self` itself only
    /// on a clock that cannot go a day further, which no supported platform has).
    fn later(self, duration: Duration) -> Self {
        self.checked_later(duration.min(FAR_FUTURE))
            .or_else(|| self.checked_later(Duration::from_secs(86_400)))
            .unwrap_or(self)
    }
}

impl Later for Instant {
    fn checked_later(self, duration: Duration) -> Option<Self> {
        self.checked_add(duration)
    }
}

impl Later for tokio::time::Instant {
    fn checked_later(self, duration: Duration) -> Option<Self> {
        self.checked_add(duration)
    }
}

/// The deadline `duration` from now ([`tokio::time::Instant`], which follows tokio's paused
/// clock in tests), at most [`FAR_FUTURE`] away.
pub fn deadline_after(duration: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now().later(duration)
}

/// A number of seconds as a `Duration`: zero for NaN, a negative number or zero,
/// [`Duration::MAX`] for one too large (where `Duration::from_secs_f64` panics).
pub fn secs_f64(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(if seconds > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

/// `duration × factor` through `f64` (as `Duration::mul_f64`), with [`secs_f64`]'s rules
/// instead of a panic: zero for a NaN or negative factor, [`Duration::MAX`] past it.
pub fn mul_f64(duration: Duration, factor: f64) -> Duration {
    secs_f64(duration.as_secs_f64() * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_never_overflow() {
        let now = Instant::now();
        for d in [
            Duration::ZERO,
            Duration::from_secs(5),
            FAR_FUTURE,
            Duration::MAX,
        ] {
            let later = now.later(d);
            assert_eq!(later.saturating_duration_since(now), d.min(FAR_FUTURE));
            assert!(now.checked_later(d).is_some() || d > FAR_FUTURE);
        }
        assert_eq!(now.checked_later(Duration::MAX), None);
        let tokio_now = tokio::time::Instant::now();
        assert_eq!(
            tokio_now.later(Duration::MAX).duration_since(tokio_now),
            FAR_FUTURE
        );
        assert!(deadline_after(Duration::MAX) > tokio_now);
    }

    #[test]
    fn seconds_are_clamped() {
        assert_eq!(secs_f64(f64::NAN), Duration::ZERO);
        assert_eq!(secs_f64(-0.0), Duration::ZERO);
        assert_eq!(secs_f64(f64::NEG_INFINITY), Duration::ZERO);
        assert_eq!(secs_f64(f64::INFINITY), Duration::MAX);
        assert_eq!(
            secs_f64(99_999_999_999.0),
            Duration::from_secs(99_999_999_999)
        );
        assert_eq!(secs_f64(2.25), Duration::from_millis(2250));
        assert_eq!(mul_f64(Duration::MAX, 2.0), Duration::MAX);
        assert_eq!(mul_f64(Duration::from_secs(4), 0.5), Duration::from_secs(2));
        assert_eq!(mul_f64(Duration::from_secs(4), f64::NAN), Duration::ZERO);
        assert_eq!(mul_f64(Duration::from_secs(4), -1.0), Duration::ZERO);
    }
}
