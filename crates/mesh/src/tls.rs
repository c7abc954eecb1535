//! TLS between services, from the `[tls]` files: server identity, and with a CA
//! also client verification (mutual TLS), so only holders of a certificate from
//! the mesh's CA can call a service.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::MeshError;

/// PEM files of one process's TLS identity, as configured in `[tls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate (chain) this process presents, as server and as client.
    pub cert: PathBuf,
    /// Private key of `cert`.
    pub key: PathBuf,
    /// CA that peers' certificates must chain to. With it the server requires
    /// client certificates (mutual TLS) and clients verify servers against it.
    pub ca: Option<PathBuf>,
}

impl TlsFiles {
    /// The server side: present `cert`, and require a client certificate from `ca`
    /// when one is configured.
    pub async fn server_config(&self) -> Result<ServerTlsConfig, MeshError> {
        let identity = Identity::from_pem(read(&self.cert).await?, read(&self.key).await?);
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca).await?));
        }
        Ok(config)
    }

    /// The client side: trust `ca` and present `cert` (needed by mutual-TLS
    /// servers). Without a CA there is nothing to verify servers against, so only
    /// the identity is set and the handshake will fail for self-signed servers.
    pub async fn client_config(&self) -> Result<ClientTlsConfig, MeshError> {
        let identity = Identity::from_pem(read(&self.cert).await?, read(&self.key).await?);
        let mut config = ClientTlsConfig::new().identity(identity);
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(Certificate::from_pem(read(ca).await?));
        }
        Ok(config)
    }
}

async fn read(path: &Path) -> Result<Vec<u8>, MeshError> {
    tokio::fs::read(path).await.map_err(|source| MeshError::TlsFile { path: path.to_owned(), source })
}
