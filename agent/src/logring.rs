//! The agent's own recent log, kept in memory so `log.collect_system_logs` can
//! return it (a ramdisk has no journal to read back). Install [`layer`] in the
//! tracing subscriber; without it the ring stays empty.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// Lines kept; older ones are dropped.
const CAPACITY: usize = 5000;

static RING: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// A layer that copies every event into the ring.
pub struct RingLayer;

/// The layer to add to the subscriber.
pub fn layer() -> RingLayer {
    RingLayer
}

/// The lines in the ring, oldest first.
pub fn snapshot() -> Vec<String> {
    RING.lock().map(|r| r.iter().cloned().collect()).unwrap_or_default()
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RingLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Line(format!(
            "{} {} {}:",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            meta.level(),
            meta.target()
        ));
        event.record(&mut line);
        if let Ok(mut ring) = RING.lock() {
            if ring.len() >= CAPACITY {
                ring.pop_front();
            }
            ring.push_back(line.0);
        }
    }
}
