//! Where the agent downloads the instance image from (Ironic's
//! `[agent]image_download_source`).
//!
//! With `http` (the default) the conductor first has the image cache fetch,
//! verify and convert the image to raw — one download per image however many
//! nodes deploy it, a checksum error caught before any machine boots — and hands
//! the agent the cache's URL and the raw image's sha256. With `direct` the agent
//! downloads `image_source` itself, as Ironic's `swift` mode does for plain URLs.

use ferric_mesh::ServiceClient;
use ferric_model::Node;
use ferric_proto::v1::image_cache_service_client::ImageCacheServiceClient;
use ferric_proto::v1::{self, ensure_response};
use serde_json::Value;
use tracing::Instrument;

use super::power::status_error;
use crate::error::{DeployError, Result};

/// How images reach the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadSource {
    /// Through the image cache.
    Http,
    /// Straight from `image_source`.
    Direct,
}

impl DownloadSource {
    /// Parses `deploy.image_download_source`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "http" => Some(Self::Http),
            "direct" => Some(Self::Direct),
            _ => None,
        }
    }
}

/// The image the agent writes: where from and what it must hash to.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedImage {
    /// The URL the agent downloads.
    pub url: String,
    /// `raw` or `qcow2`, as the agent will receive it.
    pub disk_format: Option<String>,
    /// The hash algorithm of `hash` (`sha256`, `md5`, ...).
    pub hash_algo: Option<String>,
    /// The expected digest, hex, or a checksum file's URL.
    pub hash: Option<String>,
}

/// Image staging through the discovered image cache.
#[derive(Clone)]
pub struct Images {
    client: Option<ServiceClient>,
    source: DownloadSource,
}

impl Images {
    /// Staging through `client` in `source` mode; without a client every image
    /// goes direct.
    pub fn new(client: Option<ServiceClient>, source: DownloadSource) -> Self {
        Self { client, source }
    }

    /// Stages the node's instance image for the agent, pinned for the node until
    /// [`Images::release`].
    pub async fn stage(&self, node: &Node) -> Result<StagedImage> {
        let info = &node.instance_info;
        let text =
            |key: &str| info.get(key).and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty());
        let source = text("image_url").or_else(|| text("image_source")).ok_or_else(|| {
            DeployError::Driver(format!("Node {} has no instance_info/image_source to deploy", node.uuid))
        })?;
        let (hash_algo, hash) = match (text("image_os_hash_algo"), text("image_os_hash_value")) {
            (Some(algo), Some(value)) => (Some(algo), Some(value)),
            _ => (None, text("image_checksum")),
        };
        let direct = StagedImage {
            url: source.clone(),
            disk_format: text("image_disk_format"),
            hash_algo: hash_algo.clone(),
            hash: hash.clone(),
        };
        let (Some(client), DownloadSource::Http) = (self.client.clone(), self.source) else {
            return Ok(direct);
        };
        if !source.starts_with("http://") && !source.starts_with("https://") && !source.starts_with("file://")
        {
            return Ok(direct);
        }
        let request = v1::EnsureRequest {
            url: source.clone(),
            checksum: hash.unwrap_or_default(),
            checksum_algorithm: hash_algo.unwrap_or_default(),
            convert_to_raw: true,
            pin_holder: node.uuid.to_string(),
        };
        let span = tracing::info_span!("stage_image", node = %node.uuid);
        let cached = ensure(client, request).instrument(span).await.map_err(|error| {
            DeployError::Driver(format!("Failed to prepare image {source} for node {}: {error}", node.uuid))
        })?;
        Ok(StagedImage {
            url: cached.http_url,
            disk_format: Some("raw".into()),
            hash_algo: Some("sha256".into()),
            hash: Some(cached.sha256),
        })
    }

    /// Unpins whatever [`Images::stage`] pinned for the node; best effort, as an
    /// unpinned image is merely evictable.
    pub async fn release(&self, node: &Node) {
        let (Some(client), DownloadSource::Http) = (self.client.clone(), self.source) else { return };
        let Some(source) = ["image_url", "image_source"]
            .iter()
            .find_map(|k| node.instance_info.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        else {
            return;
        };
        let mut client = ImageCacheServiceClient::new(client);
        let image = Some(v1::ImageRef { kind: Some(v1::image_ref::Kind::Url(source.to_owned())) });
        let request = v1::UnpinRequest { image, holder: node.uuid.to_string() };
        if let Err(status) = client.unpin(request).await {
            tracing::debug!(node = %node.uuid, error = %status.message(), "image unpin failed");
        }
    }
}

/// Runs Ensure to its end, logging progress, and returns the cached image.
async fn ensure(client: ServiceClient, request: v1::EnsureRequest) -> Result<v1::CachedImage> {
    let mut client = ImageCacheServiceClient::new(client);
    let mut stream = client.ensure(request).await.map_err(status_error)?.into_inner();
    let mut last_logged = 0u64;
    while let Some(event) = stream.message().await.map_err(status_error)? {
        match event.event {
            Some(ensure_response::Event::Ready(image)) => return Ok(image),
            Some(ensure_response::Event::Progress(progress)) => {
                let done = progress.progress.map_or(0, |p| p.done);
                if done >= last_logged + 64 * 1024 * 1024 {
                    last_logged = done;
                    tracing::info!(phase = progress.phase, bytes = done, "image download progress");
                }
            }
            None => {}
        }
    }
    Err(DeployError::Driver("the image cache ended the download without an image".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use ferric_model::ProvisionState;

    #[tokio::test]
    async fn without_a_cache_the_agent_gets_the_source_and_its_hash() {
        let mut node = Node::new(uuid::Uuid::new_v4(), "ipmi", Utc::now(), ProvisionState::Deploying);
        node.instance_info.insert("image_source".into(), "http://origin/disk.img".into());
        node.instance_info.insert("image_checksum".into(), "abc".into());
        let staged = Images::new(None, DownloadSource::Http).stage(&node).await.unwrap();
        assert_eq!(staged.url, "http://origin/disk.img");
        assert_eq!((staged.hash_algo, staged.hash.as_deref()), (None, Some("abc")));
        node.instance_info.insert("image_os_hash_algo".into(), "sha512".into());
        node.instance_info.insert("image_os_hash_value".into(), "def".into());
        let staged = Images::new(None, DownloadSource::Direct).stage(&node).await.unwrap();
        assert_eq!((staged.hash_algo.as_deref(), staged.hash.as_deref()), (Some("sha512"), Some("def")));
        node.instance_info.clear();
        let error = Images::new(None, DownloadSource::Http).stage(&node).await.unwrap_err();
        assert!(error.to_string().contains("no instance_info/image_source"), "{error}");
    }
}
