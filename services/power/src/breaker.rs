//! Per-BMC circuit breaker: after repeated "no answer" failures a BMC's calls fail
//! fast for a cool-down, so one dead rack does not tie up workers and in-flight
//! slots for a full retry budget per call. One call is let through after the
//! cool-down (half-open); its success closes the breaker.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::PowerError;

/// Breaker thresholds.
#[derive(Debug, Clone, Copy)]
pub struct BreakerOptions {
    /// Consecutive unreachable failures that open the breaker.
    pub threshold: u32,
    /// How long calls fail fast once open.
    pub cooldown: Duration,
}

impl Default for BreakerOptions {
    fn default() -> Self {
        Self { threshold: 5, cooldown: Duration::from_secs(30) }
    }
}

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    open_until: Option<Instant>,
}

/// The breakers of all BMCs, keyed by address.
#[derive(Debug, Default)]
pub struct Breakers {
    options: BreakerOptions,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Breakers {
    /// Breakers with `options`.
    pub fn new(options: BreakerOptions) -> Self {
        Self { options, entries: Mutex::default() }
    }

    /// Fails fast when `address`'s breaker is open; lets one call through after
    /// the cool-down.
    pub fn check(&self, address: &str) -> Result<(), PowerError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = entries.get_mut(address) else { return Ok(()) };
        match entry.open_until {
            Some(until) if Instant::now() < until => Err(PowerError::CircuitOpen {
                address: address.to_owned(),
                failures: entry.failures,
                cooldown: self.options.cooldown,
            }),
            Some(_) => {
                // Half-open: this call probes; a failure re-opens at once.
                entry.open_until = None;
                entry.failures = self.options.threshold.saturating_sub(1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a call's outcome.
    pub fn record(&self, address: &str, outcome: Result<(), &PowerError>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Err(e) if e.is_unreachable() => {
                let entry = entries.entry(address.to_owned()).or_default();
                entry.failures += 1;
                if entry.failures >= self.options.threshold {
                    entry.open_until = Some(Instant::now() + self.options.cooldown);
                }
            }
            // Any answer, even an error, proves the BMC is there.
            _ => {
                entries.remove(address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable() -> PowerError {
        PowerError::Unreachable { address: "a".into(), waited: Duration::ZERO, detail: String::new() }
    }

    #[test]
    fn opens_after_threshold_and_half_opens_after_cooldown() {
        let b = Breakers::new(BreakerOptions { threshold: 2, cooldown: Duration::from_millis(30) });
        let e = unreachable();
        b.record("a", Err(&e));
        assert!(b.check("a").is_ok());
        b.record("a", Err(&e));
        assert!(matches!(b.check("a"), Err(PowerError::CircuitOpen { .. })));
        assert!(b.check("other").is_ok());
        let until = Instant::now() + Duration::from_secs(2);
        while b.check("a").is_err() {
            assert!(Instant::now() < until, "breaker never half-opened");
            std::thread::sleep(Duration::from_millis(5));
        }
        // The probe failed: open again at once.
        b.record("a", Err(&e));
        assert!(b.check("a").is_err());
    }

    #[test]
    fn any_answer_closes() {
        let b = Breakers::new(BreakerOptions { threshold: 1, cooldown: Duration::from_secs(60) });
        b.record("a", Err(&PowerError::BadCredentials { address: "a".into(), detail: String::new() }));
        assert!(b.check("a").is_ok());
        b.record("a", Err(&unreachable()));
        assert!(b.check("a").is_err());
    }
}
