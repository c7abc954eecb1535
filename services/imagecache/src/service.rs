//! `ferric.v1.ImageCacheService` over [`ImageCache`]: request validation, the
//! record → `CachedImage` mapping, and Ensure's progress stream. Errors become
//! statuses only through `From<ImageCacheError> for Status`.

use std::pin::Pin;
use std::sync::Arc;

use ferric_proto::v1::image_cache_service_server::ImageCacheService;
use ferric_proto::v1::{
    CachedImage, EnsurePhase, EnsureProgress, EnsureRequest, EnsureResponse, EvictRequest, EvictResponse,
    ImageRef, ListRequest, ListResponse, PinRequest, PinResponse, Progress, StatRequest, StatResponse,
    UnpinRequest, UnpinResponse, ensure_response, image_ref,
};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::cache::{EnsureSpec, ImageCache, url_key};
use crate::error::ImageCacheError;
use crate::fetch::SourceUrl;
use crate::flight::{FlightState, Phase};
use crate::store::{ImageKey, Record};
use crate::verify::ChecksumSpec;

/// Page size when the caller gives none, and the most one page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// The gRPC face of the cache.
#[derive(Debug, Clone)]
pub struct ImageCacheGrpc {
    cache: Arc<ImageCache>,
}

impl ImageCacheGrpc {
    /// Serves `cache`.
    pub fn new(cache: Arc<ImageCache>) -> Self {
        Self { cache }
    }
}

fn timestamp(ms: u64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

/// A record as the contract describes it.
pub fn cached_image(cache: &ImageCache, record: &Record) -> CachedImage {
    CachedImage {
        id: record.id.clone(),
        source_url: record.latest_source().map(|s| s.shown_url.clone()).unwrap_or_default(),
        local_path: cache.store().image_path(&record.id).display().to_string(),
        http_url: cache.http_url(&record.id),
        size_bytes: record.size,
        virtual_size_bytes: record.virtual_size,
        disk_format: record.disk_format.clone(),
        sha256: record.id.clone(),
        created_at: Some(timestamp(record.created_ms)),
        last_used_at: Some(timestamp(record.last_used_ms)),
        pinned_by: record.pinned_by.iter().cloned().collect(),
    }
}

fn phase(phase: Phase) -> EnsurePhase {
    match phase {
        Phase::Queued => EnsurePhase::Queued,
        Phase::Downloading => EnsurePhase::Downloading,
        Phase::Verifying => EnsurePhase::Verifying,
        Phase::Converting => EnsurePhase::Converting,
    }
}

fn image_key(image: Option<ImageRef>) -> Result<ImageKey, ImageCacheError> {
    match image.and_then(|i| i.kind) {
        Some(image_ref::Kind::Id(id)) if !id.is_empty() => Ok(ImageKey::Id(id)),
        Some(image_ref::Kind::Url(url)) if !url.is_empty() => {
            let source = SourceUrl::parse(&url)?;
            Ok(ImageKey::Url { key: url_key(&source), shown: source.shown().to_owned() })
        }
        _ => Err(ImageCacheError::InvalidRequest("image: give an id or a url".into())),
    }
}

fn holder(holder: &str) -> Result<&str, ImageCacheError> {
    match holder.trim() {
        "" => Err(ImageCacheError::InvalidRequest("holder must not be empty".into())),
        h => Ok(h),
    }
}

/// Ensure's stream of progress events and the final image.
pub type EnsureStream = Pin<Box<dyn Stream<Item = Result<EnsureResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ImageCacheService for ImageCacheGrpc {
    type EnsureStream = EnsureStream;

    async fn ensure(&self, request: Request<EnsureRequest>) -> Result<Response<EnsureStream>, Status> {
        let request = request.into_inner();
        let source = SourceUrl::parse(&request.url)?;
        let span = tracing::info_span!("ensure", url = %source.shown(), convert = request.convert_to_raw);
        let spec = EnsureSpec {
            source,
            checksum: ChecksumSpec::parse(&request.checksum, &request.checksum_algorithm)?,
            convert_to_raw: request.convert_to_raw,
            pin: Some(request.pin_holder.trim().to_owned()).filter(|h| !h.is_empty()),
        };
        let mut rx = self.cache.ensure(spec).instrument(span.clone()).await?;
        let cache = self.cache.clone();
        let (tx, out) = mpsc::channel(8);
        tokio::spawn(
            async move {
                loop {
                    let state = rx.borrow_and_update().clone();
                    let event = match &state {
                        FlightState::Working { phase: p, done, total } => {
                            Ok(ensure_response::Event::Progress(EnsureProgress {
                                phase: phase(*p).into(),
                                progress: Some(Progress {
                                    done: *done,
                                    total: *total,
                                    message: String::new(),
                                }),
                            }))
                        }
                        FlightState::Ready(record) => {
                            tracing::info!(id = %record.id, "image ready for caller");
                            Ok(ensure_response::Event::Ready(cached_image(&cache, record)))
                        }
                        FlightState::Failed(error) => {
                            tracing::info!(error = %error, "ensure failed");
                            Err(Status::from(&**error))
                        }
                    };
                    let message = event.map(|e| EnsureResponse { event: Some(e) });
                    if tx.send(message).await.is_err() {
                        tracing::debug!("caller went away; the download goes on for the cache");
                        return;
                    }
                    if state.is_final() {
                        return;
                    }
                    if rx.changed().await.is_err() && !rx.borrow().is_final() {
                        let _ =
                            tx.send(Err(Status::internal("image download ended without an outcome"))).await;
                        return;
                    }
                }
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(out))))
    }

    async fn stat(&self, request: Request<StatRequest>) -> Result<Response<StatResponse>, Status> {
        let key = image_key(request.into_inner().image)?;
        let record = self.cache.get(&key)?;
        Ok(Response::new(StatResponse { image: Some(cached_image(&self.cache, &record)) }))
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let request = request.into_inner();
        let size = match request.page_size {
            0 => DEFAULT_PAGE,
            n => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
        };
        let mut records = self.cache.store().list(&request.page_token, size + 1);
        let next_page_token = if records.len() > size {
            records.truncate(size);
            records.last().map(|r| r.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListResponse {
            images: records.iter().map(|r| cached_image(&self.cache, r)).collect(),
            next_page_token,
        }))
    }

    async fn evict(&self, request: Request<EvictRequest>) -> Result<Response<EvictResponse>, Status> {
        let request = request.into_inner();
        let key = image_key(request.image)?;
        let evicted = self.cache.blocking_store(move |store| store.evict(&key, request.force)).await?;
        Ok(Response::new(EvictResponse { evicted }))
    }

    async fn pin(&self, request: Request<PinRequest>) -> Result<Response<PinResponse>, Status> {
        let request = request.into_inner();
        let key = image_key(request.image)?;
        let holder = holder(&request.holder)?.to_owned();
        let pinned_by = self.cache.blocking_store(move |store| store.set_pin(&key, &holder, true)).await?;
        Ok(Response::new(PinResponse { pinned_by }))
    }

    async fn unpin(&self, request: Request<UnpinRequest>) -> Result<Response<UnpinResponse>, Status> {
        let request = request.into_inner();
        let key = image_key(request.image)?;
        let holder = holder(&request.holder)?.to_owned();
        let pinned_by = self.cache.blocking_store(move |store| store.set_pin(&key, &holder, false)).await?;
        Ok(Response::new(UnpinResponse { pinned_by }))
    }
}
