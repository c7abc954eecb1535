//! Call policy: deadlines on every call, and bounded retries for idempotent ones.
//!
//! Deadlines travel as `grpc-timeout` so the server can give up too, and are
//! enforced locally as well, because a call can also hang before reaching any
//! server (no instance registered yet, connection attempts). Only UNAVAILABLE is
//! retried: it means the request was not processed (no connection, instance going
//! away), so repeating an idempotent call is safe; anything else is the server's
//! answer and is returned as is.

use std::future::Future;
use std::time::Duration;

use http::HeaderValue;
use tonic::{Code, Status};

/// How often and how patiently an idempotent call is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// Pause before the second attempt; doubles after each failure.
    pub initial_backoff: Duration,
    /// Upper bound of one pause.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The pause after `failures` failed attempts: exponential, with jitter so that
    /// many callers that failed together do not retry together.
    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        let ceiling = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        // Between half and all of the ceiling.
        ceiling.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// Whether a failed call may be repeated: the request was not processed.
pub fn is_retryable(status: &Status) -> bool {
    status.code() == Code::Unavailable
}

/// Runs `call` until it succeeds, fails with a non-retryable status, or
/// `policy.max_attempts` are used up; returns the last outcome. Only for
/// idempotent calls.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let mut failures = 0;
    loop {
        match call().await {
            Err(status) if is_retryable(&status) && failures + 1 < policy.max_attempts => {
                failures += 1;
                let pause = policy.backoff(failures);
                tracing::debug!(
                    attempt = failures,
                    ?pause,
                    message = status.message(),
                    "retrying unavailable call"
                );
                tokio::time::sleep(pause).await;
            }
            outcome => return outcome,
        }
    }
}

/// Largest value `grpc-timeout` can carry (8 digits).
const MAX_TIMEOUT_VALUE: u128 = 99_999_999;

/// Encodes a deadline as a `grpc-timeout` value, in the finest unit that fits.
pub(crate) fn encode_grpc_timeout(timeout: Duration) -> HeaderValue {
    let units = [
        (timeout.as_millis(), 'm'),
        (u128::from(timeout.as_secs()), 'S'),
        (u128::from(timeout.as_secs() / 3600), 'H'),
    ];
    let (value, unit) =
        units.into_iter().find(|(v, _)| *v <= MAX_TIMEOUT_VALUE).unwrap_or((MAX_TIMEOUT_VALUE, 'H'));
    // Digits and an ASCII letter are always a valid header value.
    HeaderValue::from_str(&format!("{value}{unit}")).unwrap_or(HeaderValue::from_static("99999999H"))
}

/// Decodes a `grpc-timeout` value; `None` when malformed.
pub(crate) fn decode_grpc_timeout(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn grpc_timeout_round_trips() {
        let cases = [
            (Duration::from_millis(1500), "1500m"),
            (Duration::from_secs(30), "30000m"),
            (Duration::from_secs(200_000), "200000S"),
        ];
        for (timeout, text) in cases {
            let encoded = encode_grpc_timeout(timeout);
            assert_eq!(encoded.to_str().ok(), Some(text));
            assert_eq!(decode_grpc_timeout(&encoded), Some(timeout));
        }
        for bad in ["", "m", "12x", "123456789m", "-1S"] {
            let value = HeaderValue::from_str(bad).unwrap_or(HeaderValue::from_static(""));
            assert_eq!(decode_grpc_timeout(&value), None, "{bad:?}");
        }
        assert_eq!(decode_grpc_timeout(&HeaderValue::from_static("2H")), Some(Duration::from_secs(7200)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert!(policy.backoff(1) <= Duration::from_millis(50));
        assert!(policy.backoff(3) >= Duration::from_millis(100));
        assert!(policy.backoff(30) <= Duration::from_secs(1));
    }

    async fn count_calls(policy: &RetryPolicy, codes: &[Code]) -> (Result<u32, Status>, u32) {
        let calls = AtomicU32::new(0);
        let outcome = retry(policy, || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let code = codes.get(n as usize).copied().unwrap_or(Code::Ok);
            async move { if code == Code::Ok { Ok(n) } else { Err(Status::new(code, "test")) } }
        })
        .await;
        (outcome, calls.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_only_unavailable_and_only_so_often() {
        let policy = RetryPolicy::default();
        // (codes returned by successive attempts, expected attempts, expected success)
        let cases: [(&[Code], u32, bool); 4] = [
            (&[], 1, true),
            (&[Code::Unavailable, Code::Unavailable], 3, true),
            (&[Code::NotFound], 1, false),
            (&[Code::Unavailable; 10], 4, false),
        ];
        for (codes, attempts, ok) in cases {
            let (outcome, calls) = count_calls(&policy, codes).await;
            assert_eq!((calls, outcome.is_ok()), (attempts, ok), "{codes:?}");
        }
    }
}
