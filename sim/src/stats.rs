//! Samples and percentiles for the report.

use std::sync::Mutex;
use std::time::Duration;

/// Durations collected from many tasks, in milliseconds.
#[derive(Debug, Default)]
pub struct Samples {
    values: Mutex<Vec<f64>>,
}

impl Samples {
    /// Adds one duration.
    pub fn record(&self, duration: Duration) {
        self.lock().push(duration.as_secs_f64() * 1000.0);
    }

    /// Adds one value in milliseconds.
    pub fn record_ms(&self, ms: f64) {
        self.lock().push(ms);
    }

    /// Count, p50, p95 and max (milliseconds), or `None` with no samples.
    pub fn summary(&self) -> Option<Summary> {
        summarize(&self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<f64>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A distribution in brief.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Median, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// Largest, ms.
    pub max: f64,
}

/// Nearest-rank percentiles of `values`.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    };
    Some(Summary { count: sorted.len(), p50: rank(0.50), p95: rank(0.95), max: sorted[sorted.len() - 1] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let summary = summarize(&values).unwrap();
        assert_eq!((summary.p50, summary.p95, summary.max, summary.count), (50.0, 95.0, 100.0, 100));
        assert_eq!(summarize(&[7.0]).unwrap().p95, 7.0);
        assert!(summarize(&[]).is_none());
    }
}
