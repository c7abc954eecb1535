//! Translation between the store contract and `etcd-client`: requests one way,
//! records, events and errors the other. Kept apart from the calls themselves so
//! the mapping can be read (and checked against etcd's documentation) in one place.

use etcd_client as ec;

use crate::{
    CompareOp, CompareTarget, EventKind, KeyValue, LeaseId, Op, Result, StoreError, Txn, WatchEvent,
};

/// The contract's transaction as etcd's.
pub(super) fn txn(txn: &Txn) -> ec::Txn {
    let compares: Vec<ec::Compare> = txn
        .compares
        .iter()
        .map(|c| {
            let op = match c.op {
                CompareOp::Equal => ec::CompareOp::Equal,
                CompareOp::NotEqual => ec::CompareOp::NotEqual,
                CompareOp::Greater => ec::CompareOp::Greater,
                CompareOp::Less => ec::CompareOp::Less,
            };
            match &c.target {
                CompareTarget::ModRevision(r) => ec::Compare::mod_revision(c.key.as_str(), op, *r),
                CompareTarget::CreateRevision(r) => ec::Compare::create_revision(c.key.as_str(), op, *r),
                CompareTarget::Value(v) => ec::Compare::value(c.key.as_str(), op, v.clone()),
            }
        })
        .collect();
    let ops: Vec<ec::TxnOp> = txn
        .ops
        .iter()
        .map(|op| match op {
            Op::Put { key, value, lease } => ec::TxnOp::put(
                key.as_str(),
                value.clone(),
                lease.map(|LeaseId(id)| ec::PutOptions::new().with_lease(id)),
            ),
            Op::Delete { key } => ec::TxnOp::delete(key.as_str(), None),
            Op::DeleteRange { start, end } => {
                ec::TxnOp::delete(start.as_str(), Some(ec::DeleteOptions::new().with_range(end.as_str())))
            }
        })
        .collect();
    ec::Txn::new().when(compares).and_then(ops)
}

/// An etcd record as the contract's; keys must be UTF-8 (every Ferric key is).
pub(super) fn kv(kv: &ec::KeyValue) -> Result<KeyValue> {
    let key = std::str::from_utf8(kv.key()).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        reason: format!("key is not UTF-8: {e}"),
    })?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
        lease: (kv.lease() != 0).then_some(LeaseId(kv.lease())),
    })
}

/// An etcd watch event as the contract's: deletions carry the key and the
/// deletion's revision only.
pub(super) fn event(event: &ec::Event) -> Result<Option<WatchEvent>> {
    let Some(record) = event.kv() else { return Ok(None) };
    let mut record = kv(record)?;
    let kind = match event.event_type() {
        ec::EventType::Put => EventKind::Put,
        ec::EventType::Delete => {
            record.value.clear();
            record.create_revision = 0;
            record.version = 0;
            record.lease = None;
            EventKind::Delete
        }
    };
    Ok(Some(WatchEvent { kind, kv: record }))
}

/// Whether the call failed connecting to the member it was sent to (refused, or
/// no answer within the connect timeout): the request never left.
pub(super) fn is_connect_failure(err: &ec::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = match err {
        ec::Error::GRpcStatus(status) => Some(status),
        ec::Error::TransportError(e) => Some(e),
        _ => None,
    };
    while let Some(err) = source {
        let refused = err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        // tonic's connect failure, whichever way it is wrapped.
        if refused || err.to_string() == "tcp connect error" {
            return true;
        }
        source = err.source();
    }
    false
}

/// Whether the call failed in transport — could not connect, or the connection
/// broke (a member died mid-call) — rather than being answered by etcd.
pub(super) fn is_transport_failure(err: &ec::Error) -> bool {
    match err {
        ec::Error::TransportError(_) | ec::Error::IoError(_) => true,
        ec::Error::GRpcStatus(status) => {
            is_connect_failure(err)
                || (matches!(i32::from(status.code()), grpc::UNKNOWN | grpc::UNAVAILABLE)
                    && status.message() == "transport error")
        }
        _ => false,
    }
}

/// Maps a client error to the store's, naming the endpoints when the cluster
/// cannot be reached so the operator knows where to look.
pub(super) fn error(err: ec::Error, endpoints: &str) -> StoreError {
    match err {
        ec::Error::GRpcStatus(status) => {
            let message = status.message().to_owned();
            let code: i32 = status.code().into();
            match code {
                grpc::INVALID_ARGUMENT => StoreError::InvalidArgument(message),
                grpc::DEADLINE_EXCEEDED => StoreError::Timeout,
                grpc::CANCELLED | grpc::UNKNOWN | grpc::ABORTED | grpc::UNAVAILABLE => {
                    StoreError::Unavailable(format!("etcd at {endpoints}: {message}"))
                }
                grpc::RESOURCE_EXHAUSTED => StoreError::Unavailable(format!(
                    "etcd at {endpoints} is overloaded or out of space: {message}"
                )),
                _ => StoreError::Internal(format!("etcd at {endpoints}: {:?}: {message}", status.code())),
            }
        }
        ec::Error::TransportError(e) => {
            StoreError::Unavailable(format!("etcd at {endpoints} unreachable: {e}"))
        }
        ec::Error::IoError(e) => StoreError::Unavailable(format!("etcd at {endpoints} unreachable: {e}")),
        ec::Error::InvalidUri(e) => StoreError::InvalidArgument(format!("etcd endpoint: {e}")),
        ec::Error::InvalidArgs(e) => StoreError::InvalidArgument(e),
        ec::Error::WatchError(e) => StoreError::Unavailable(format!("etcd at {endpoints}: watch: {e}")),
        other => StoreError::Internal(format!("etcd at {endpoints}: {other}")),
    }
}

/// Whether an etcd error says the lease does not exist (any more).
pub(super) fn is_lease_not_found(err: &ec::Error) -> bool {
    match err {
        ec::Error::GRpcStatus(status) => status.message().contains("lease not found"),
        ec::Error::LeaseKeepAliveError(message) => message.contains("lease not found"),
        _ => false,
    }
}

/// The gRPC status codes we tell apart (numbers from the gRPC spec), so this crate
/// needs no direct dependency on tonic.
mod grpc {
    pub(super) const CANCELLED: i32 = 1;
    pub(super) const UNKNOWN: i32 = 2;
    pub(super) const INVALID_ARGUMENT: i32 = 3;
    pub(super) const DEADLINE_EXCEEDED: i32 = 4;
    pub(super) const RESOURCE_EXHAUSTED: i32 = 8;
    pub(super) const ABORTED: i32 = 10;
    pub(super) const UNAVAILABLE: i32 = 14;
}
