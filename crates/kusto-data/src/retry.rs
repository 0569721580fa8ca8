//! The one retry configuration of the SDK: exponential backoff with jitter, a maximum number of
//! attempts, an overall deadline, and the service's `Retry-After` honoured.
//!
//! [`RetryPolicy`] is used by the query client for queries and read-only management commands,
//! and by every layer of `kusto-ingest` (storage requests, queue messages, managed streaming,
//! status reads). Which errors are worth another attempt is decided by [`Error::is_transient`];
//! whether a *request* may be sent twice is decided by the caller (a query may, an `.append`
//! command may not unless the caller opts in).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// Exponential backoff with jitter, bounded by attempts and by an overall deadline.
///
/// The delay before retry `n` (1-based) is drawn uniformly from `[d/2, d]` where
/// `d = min(max_backoff, initial_backoff * multiplier^(n-1))`: the jitter spreads out clients that
/// failed together, and the lower bound keeps them from retrying at once. When the service sent
/// `Retry-After`, the delay is at least that long. No retry starts if it could not begin before
/// the deadline; the last error is returned instead.
///
/// ```
/// use std::time::Duration;
/// use kusto_data::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_deadline(Some(Duration::from_secs(60)));
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    /// Four attempts, 1 s initial backoff doubling up to 30 s, two minutes overall. A throttled
    /// or briefly unavailable cluster usually recovers within seconds; beyond two minutes a
    /// caller is better served by the error than by a longer wait.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            multiplier: 2.0,
            deadline: Some(Duration::from_secs(120)),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Total number of attempts, the first one included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff between two attempts (before `Retry-After` is applied).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The factor by which the backoff grows after each retry (at least 1).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The time after which no new attempt is started, counted from the first attempt; `None`
    /// for no overall limit.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Total number of attempts, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The overall deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The backoff ceiling before retry number `retry` (1-based), before jitter.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(64) as i32;
        let factor = self.multiplier.powi(exponent);
        let seconds = self.initial_backoff.as_secs_f64() * factor;
        if seconds.is_finite() && seconds < self.max_backoff.as_secs_f64() {
            // Below `max_backoff`, so within the range of `Duration`.
            Duration::try_from_secs_f64(seconds).unwrap_or(self.max_backoff)
        } else {
            self.max_backoff
        }
    }

    /// The delay before retry number `retry` (1-based): jittered backoff, at least the service's
    /// `Retry-After` when one was given.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let factor = 0.5 + rand::random::<f64>() * 0.5;
        let jittered = Duration::try_from_secs_f64(ceiling.as_secs_f64() * factor)
            .unwrap_or(ceiling)
            .min(ceiling);
        match retry_after {
            Some(after) => jittered.max(after),
            None => jittered,
        }
    }

    /// Runs `operation` until it succeeds, fails with an error for which `should_retry` is false,
    /// runs out of attempts, or would pass the deadline. The closure gets the 1-based attempt
    /// number. A `Retry-After` the service sent with an error is honoured.
    pub async fn run<T, F, Fut>(
        &self,
        operation: F,
        should_retry: impl Fn(&Error) -> bool,
    ) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.run_with(operation, should_retry, |error: &Error| {
            error.as_service_error().and_then(|e| e.retry_after)
        })
        .await
    }

    /// [`run`](Self::run) for any error type: `should_retry` tells whether an error is worth
    /// another attempt, `retry_after` the wait the service asked for with it (if any). This is
    /// how the other layers of the SDK (storage requests of `kusto-ingest`, for instance) retry
    /// with the same policy.
    pub async fn run_with<T, E, F, Fut>(
        &self,
        mut operation: F,
        should_retry: impl Fn(&E) -> bool,
        retry_after: impl Fn(&E) -> Option<Duration>,
    ) -> std::result::Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
    {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let error = match operation(attempt).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if attempt >= self.max_attempts || !should_retry(&error) {
                return Err(error);
            }
            let delay = self.delay(attempt, retry_after(&error));
            if !self.allows(started.elapsed(), delay) {
                tracing::debug!(attempt, ?delay, "retry would pass the deadline; giving up");
                return Err(error);
            }
            tracing::debug!(attempt, ?delay, error = %error, "transient failure; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// True when an attempt that starts after `delay`, `elapsed` after the first one, is
    /// within the deadline.
    pub fn allows(&self, elapsed: Duration, delay: Duration) -> bool {
        self.deadline
            .is_none_or(|deadline| elapsed.saturating_add(delay) < deadline)
    }

    /// Reads a `Retry-After` header value: a number of seconds (the form Kusto and Azure
    /// Storage send) or an HTTP date (the time left until then; zero for a date in the past).
    /// Capped at one day; `None` for anything else.
    pub fn parse_retry_after(value: &str) -> Option<Duration> {
        let value = value.trim();
        let seconds = match value.parse::<f64>() {
            Ok(seconds) => seconds,
            Err(_) => {
                let at = time::OffsetDateTime::parse(
                    value,
                    &time::format_description::well_known::Rfc2822,
                )
                .ok()?;
                #[allow(
                    clippy::arithmetic_side_effects,
                    reason = "two OffsetDateTimes differ by far less than time::Duration's range"
                )]
                let left = at - time::OffsetDateTime::now_utc();
                left.as_seconds_f64().max(0.0)
            }
        };
        (seconds.is_finite() && seconds >= 0.0)
            .then(|| crate::time_math::secs_f64(seconds.min(86_400.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServiceError;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(4))
    }

    fn throttled(after: Option<Duration>) -> Error {
        let mut error = ServiceError::new(429, "https://x/v2/rest/query");
        error.retry_after = after;
        error.into()
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(1), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_secs(2));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_secs(4));
        assert_eq!(policy.backoff_ceiling(30), Duration::from_secs(30));
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(30));
        for retry in 1..10 {
            let delay = policy.delay(retry, None);
            let ceiling = policy.backoff_ceiling(retry);
            assert!(
                delay <= ceiling && delay >= ceiling / 2,
                "{delay:?} vs {ceiling:?}"
            );
        }
        let after = Duration::from_secs(45);
        assert!(policy.delay(1, Some(after)) >= after);
    }

    #[test]
    fn extreme_settings_never_panic() {
        let huge = RetryPolicy::default()
            .with_initial_backoff(Duration::MAX)
            .with_max_backoff(Duration::MAX)
            .with_multiplier(f64::MAX);
        for retry in [1, 2, 64, u32::MAX] {
            assert_eq!(huge.backoff_ceiling(retry), Duration::MAX);
            assert!(huge.delay(retry, Some(Duration::MAX)) >= Duration::MAX / 2);
        }
        let zero = RetryPolicy::default()
            .with_initial_backoff(Duration::ZERO)
            .with_max_backoff(Duration::ZERO)
            .with_multiplier(f64::NAN);
        assert_eq!(zero.delay(3, None), Duration::ZERO);
        // A ceiling above the maximum is the maximum.
        let capped = RetryPolicy::default()
            .with_initial_backoff(Duration::from_secs(100))
            .with_max_backoff(Duration::from_secs(3));
        assert_eq!(capped.backoff_ceiling(1), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_delay_with_a_deadline_gives_up_at_once() {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::MAX)
            .with_max_backoff(Duration::MAX)
            .with_deadline(Some(Duration::from_secs(60)));
        let times = attempt_times(policy, || throttled(None)).await;
        assert_eq!(times, [0.0]);
    }

    #[tokio::test]
    async fn retries_transient_errors_until_success() {
        let calls = AtomicU32::new(0);
        let result = fast()
            .run(
                |attempt| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if attempt < 3 {
                            Err(throttled(None))
                        } else {
                            Ok(attempt)
                        }
                    }
                },
                Error::is_transient,
            )
            .await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stops_at_max_attempts_and_on_permanent_errors() {
        let calls = AtomicU32::new(0);
        let result: Result<()> = fast()
            .with_max_attempts(2)
            .run(
                |_| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Err(throttled(None)) }
                },
                Error::is_transient,
            )
            .await;
        assert!(
            result
                .unwrap_err()
                .as_service_error()
                .unwrap()
                .is_throttled()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let calls = AtomicU32::new(0);
        let result: Result<()> = fast()
            .run(
                |_| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Err(Error::InvalidArgument("bad".into())) }
                },
                Error::is_transient,
            )
            .await;
        assert!(matches!(result, Err(Error::InvalidArgument(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// Runs `policy` over an operation that always fails with `error()`; returns the (virtual)
    /// start time of every attempt, in seconds since the first.
    async fn attempt_times(policy: RetryPolicy, error: fn() -> Error) -> Vec<f64> {
        let start = Instant::now();
        let times = std::sync::Mutex::new(Vec::new());
        let result: Result<()> = policy
            .run(
                |_| {
                    times.lock().unwrap().push(start.elapsed().as_secs_f64());
                    async move { Err(error()) }
                },
                Error::is_transient,
            )
            .await;
        assert!(result.is_err());
        times.into_inner().unwrap()
    }

    // The clock is tokio's paused test clock: sleeps complete instantly in real time and advance
    // virtual time exactly, so the schedule is checked without waiting and without timing.
    #[tokio::test(start_paused = true)]
    async fn retry_after_sets_the_delay_and_the_deadline_stops_new_attempts() {
        // Backoff of a millisecond, Retry-After of 5 s: every retry waits exactly 5 s. With a
        // 12 s deadline the attempts start at 0, 5 and 10 s; a fourth would start at 15 s.
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(1))
            .with_max_attempts(10)
            .with_deadline(Some(Duration::from_secs(12)));
        let times = attempt_times(policy, || throttled(Some(Duration::from_secs(5)))).await;
        assert_eq!(times, [0.0, 5.0, 10.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_is_exponential_with_jitter_and_bounded_by_attempts() {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::from_secs(1))
            .with_max_backoff(Duration::from_secs(6))
            .with_max_attempts(5)
            .with_deadline(None);
        let times = attempt_times(policy, || throttled(None)).await;
        assert_eq!(times.len(), 5, "{times:?}");
        let waits: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        // Ceilings 1, 2, 4, 6 (capped) s; each wait is drawn from [ceiling/2, ceiling].
        for (wait, ceiling) in waits.iter().zip([1.0, 2.0, 4.0, 6.0]) {
            assert!(
                *wait >= ceiling / 2.0 - 1e-6 && *wait <= ceiling + 1e-6,
                "{waits:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_deadline_a_long_retry_after_is_waited_for() {
        let policy = RetryPolicy::default()
            .with_max_attempts(2)
            .with_deadline(None);
        let times = attempt_times(policy, || throttled(Some(Duration::from_secs(600)))).await;
        assert_eq!(times, [0.0, 600.0]);
    }

    #[tokio::test]
    async fn retry_after_beyond_the_deadline_ends_the_loop() {
        let calls = AtomicU32::new(0);
        let result: Result<()> = fast()
            .with_deadline(Some(Duration::from_secs(5)))
            .run(
                |_| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Err(throttled(Some(Duration::from_secs(3600)))) }
                },
                Error::is_transient,
            )
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "must not wait an hour");
    }
}
