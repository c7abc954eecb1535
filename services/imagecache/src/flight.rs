//! Single flight: however many callers ask for one image at once, one task
//! fetches it and every caller watches the same progress.
//!
//! A flight is a `tokio::sync::watch` channel in a map keyed by what was asked
//! (source, conversion, expected digest). Joining subscribes to it; the task
//! that owns the [`FlightHandle`] publishes progress (throttled) and the outcome,
//! and leaves the map only after committing to the store, so a caller that finds
//! no flight finds the image in the store instead (the caller re-checks the
//! store under the map lock). A flight survives its callers going away: the
//! download finishes and is cached for the next deploy.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::ImageCacheError;
use crate::store::Record;

/// Where a flight is, as in the contract's `EnsurePhase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a download slot.
    Queued,
    /// Receiving bytes.
    Downloading,
    /// Checking digests and the image's format.
    Verifying,
    /// qemu-img converting to raw.
    Converting,
}

/// What watchers of a flight see.
#[derive(Debug, Clone)]
pub enum FlightState {
    /// In progress: phase, units done, total (0 when unknown).
    Working {
        /// The current phase.
        phase: Phase,
        /// Bytes done in this phase.
        done: u64,
        /// Bytes in total; 0 when unknown.
        total: u64,
    },
    /// Committed and ready to serve.
    Ready(Record),
    /// Failed; shared by every watcher.
    Failed(Arc<ImageCacheError>),
}

impl FlightState {
    /// Whether nothing more will follow.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Working { .. })
    }
}

/// What a flight is keyed by.
pub type FlightKey = String;

#[derive(Debug)]
struct Entry {
    rx: watch::Receiver<FlightState>,
    /// Holders asking to pin the image as it is committed.
    pins: Arc<Mutex<BTreeSet<String>>>,
}

type Map = Arc<Mutex<HashMap<FlightKey, Entry>>>;

/// The flights in progress.
#[derive(Debug, Default, Clone)]
pub struct Flights {
    map: Map,
}

/// Joining or starting a flight.
#[derive(Debug)]
pub enum Joined {
    /// Another caller's flight: watch it.
    Existing(watch::Receiver<FlightState>),
    /// A new flight: the caller must run it with the handle.
    Started(watch::Receiver<FlightState>, FlightHandle),
    /// The store had it after all (committed while we looked).
    Cached(Record),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Flights {
    /// Joins the flight for `key`, or, if none, re-checks the store with
    /// `recheck` and otherwise starts one. `pin` is recorded for the commit.
    pub fn join(
        &self,
        key: &str,
        pin: Option<&str>,
        recheck: impl FnOnce() -> Result<Option<Record>, ImageCacheError>,
    ) -> Result<Joined, ImageCacheError> {
        let mut map = lock(&self.map);
        if let Some(entry) = map.get(key) {
            if let Some(holder) = pin {
                lock(&entry.pins).insert(holder.to_owned());
            }
            return Ok(Joined::Existing(entry.rx.clone()));
        }
        if let Some(record) = recheck()? {
            return Ok(Joined::Cached(record));
        }
        let (tx, rx) = watch::channel(FlightState::Working { phase: Phase::Queued, done: 0, total: 0 });
        let pins = Arc::new(Mutex::new(pin.map(str::to_owned).into_iter().collect()));
        map.insert(key.to_owned(), Entry { rx: rx.clone(), pins: pins.clone() });
        let handle = FlightHandle {
            publisher: Arc::new(Publisher { tx, last: Mutex::new((Phase::Queued, Instant::now())) }),
            key: key.to_owned(),
            map: self.map.clone(),
            pins,
            done: false,
        };
        Ok(Joined::Started(rx, handle))
    }

    /// How many flights are in progress.
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// Whether no flight is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The publishing side of one flight, owned by the task doing the work.
#[derive(Debug)]
pub struct FlightHandle {
    publisher: Arc<Publisher>,
    key: FlightKey,
    map: Map,
    pins: Arc<Mutex<BTreeSet<String>>>,
    done: bool,
}

/// Publishes progress; shared with blocking threads that report it.
#[derive(Debug)]
struct Publisher {
    tx: watch::Sender<FlightState>,
    last: Mutex<(Phase, Instant)>,
}

/// A progress callback for one phase, callable from any thread.
pub type Reporter = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// Watchers need no more than this many progress updates per second; a 1 GiB
/// download delivers tens of thousands of chunks.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

impl Publisher {
    fn progress(&self, phase: Phase, done: u64, total: Option<u64>) {
        let total = total.unwrap_or(0);
        let now = Instant::now();
        {
            let mut last = lock(&self.last);
            let due = last.0 != phase
                || now.duration_since(last.1) >= PUBLISH_EVERY
                || (total > 0 && done == total);
            if !due {
                return;
            }
            if last.0 != phase {
                tracing::info!(?phase, total, "image flight phase");
            }
            *last = (phase, now);
        }
        tracing::trace!(?phase, done, total, "image flight progress");
        self.tx.send_replace(FlightState::Working { phase, done, total });
    }
}

impl FlightHandle {
    /// Publishes progress; a phase change always goes out, bytes at most every
    /// 100 ms (and at the end of a phase).
    pub fn progress(&self, phase: Phase, done: u64, total: Option<u64>) {
        self.publisher.progress(phase, done, total);
    }

    /// A callback reporting progress of `phase`, for code on other threads.
    pub fn reporter(&self, phase: Phase) -> Reporter {
        let publisher = self.publisher.clone();
        Arc::new(move |done, total| publisher.progress(phase, done, total))
    }

    /// Holders that asked to pin while the flight ran.
    pub fn pins(&self) -> Vec<String> {
        lock(&self.pins).iter().cloned().collect()
    }

    /// Publishes the outcome and leaves the map; call after committing.
    pub fn finish(mut self, outcome: Result<Record, ImageCacheError>) {
        self.publish(match outcome {
            Ok(record) => FlightState::Ready(record),
            Err(e) => FlightState::Failed(Arc::new(e)),
        });
    }

    fn publish(&mut self, state: FlightState) {
        // Leave the map first: a caller arriving now re-checks the store, where a
        // successful flight already committed.
        lock(&self.map).remove(&self.key);
        self.publisher.tx.send_replace(state);
        self.done = true;
    }
}

impl Drop for FlightHandle {
    fn drop(&mut self) {
        if !self.done {
            // The task was cancelled (shutdown) or panicked: never leave watchers
            // waiting on a flight nobody runs.
            self.publish(FlightState::Failed(Arc::new(ImageCacheError::Internal(
                "image download was interrupted".into(),
            ))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_caller_joins_and_both_see_the_outcome() {
        let flights = Flights::default();
        let Ok(Joined::Started(mut first, handle)) = flights.join("k", Some("a"), || Ok(None)) else {
            panic!("expected a new flight");
        };
        let Ok(Joined::Existing(second)) = flights.join("k", Some("b"), || panic!("no recheck while flying"))
        else {
            panic!("expected to join");
        };
        assert_eq!(handle.pins(), ["a", "b"]);
        handle.progress(Phase::Downloading, 5, Some(10));
        assert!(matches!(
            *second.borrow(),
            FlightState::Working { phase: Phase::Downloading, done: 5, total: 10 }
        ));
        handle.finish(Err(ImageCacheError::NotCached("x".into())));
        assert!(first.borrow_and_update().is_final());
        assert!(second.borrow().is_final());
        assert!(flights.is_empty());
    }

    #[test]
    fn a_dropped_handle_fails_the_flight() {
        let flights = Flights::default();
        let Ok(Joined::Started(rx, handle)) = flights.join("k", None, || Ok(None)) else {
            panic!("expected a new flight");
        };
        drop(handle);
        assert!(matches!(&*rx.borrow(), FlightState::Failed(_)));
        assert!(flights.is_empty());
    }
}
