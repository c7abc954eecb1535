//! A short memory of completed file transfers (TFTP and HTTP), so operators and
//! tests can see what a machine actually fetched without scraping logs.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// How many completed transfers are remembered.
const CAPACITY: usize = 1024;

/// One completed transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `tftp` or `http`.
    pub protocol: &'static str,
    /// The name as requested.
    pub path: String,
    /// Payload bytes sent.
    pub bytes: u64,
    /// The client's address.
    pub client: IpAddr,
}

/// The last [`CAPACITY`] completed transfers. Cheap to clone.
#[derive(Clone, Default)]
pub struct ServedLog(Arc<Mutex<VecDeque<Served>>>);

impl ServedLog {
    /// Remembers a completed transfer.
    pub fn record(&self, served: Served) {
        let mut log = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if log.len() == CAPACITY {
            log.pop_front();
        }
        log.push_back(served);
    }

    /// The remembered transfers, oldest first.
    pub fn snapshot(&self) -> Vec<Served> {
        match self.0.lock() {
            Ok(guard) => guard.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }
}
