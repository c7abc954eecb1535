//! Mutual TLS between mesh peers: a client with a certificate from the mesh CA
//! gets through; one without a client certificate, or speaking plain HTTP/2, does
//! not.

use std::path::Path;

use ferric_mesh::{ClientOptions, MeshError, RetryPolicy, ServiceClient, ServiceKind, TlsFiles, register};
use ferric_proto::v1::ValidateCredentialsRequest;
use ferric_proto::v1::power_service_client::PowerServiceClient;
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use tonic::transport::{Certificate, ClientTlsConfig};

use crate::common::{Instance, TTL, store};

/// A CA and two leaf certificates (server for 127.0.0.1, client), as PEM files.
struct Pki {
    _dir: tempfile::TempDir,
    ca: std::path::PathBuf,
    server: TlsFiles,
    client: TlsFiles,
}

fn write(dir: &Path, name: &str, pem: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write pem");
    path
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, prefix: &str| {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).expect("leaf cert");
        (
            write(dir.path(), &format!("{prefix}.pem"), &cert.pem()),
            write(dir.path(), &format!("{prefix}.key"), &key.serialize_pem()),
        )
    };
    let (server_cert, server_key) =
        leaf(vec!["127.0.0.1".into()], ExtendedKeyUsagePurpose::ServerAuth, "server");
    let (client_cert, client_key) =
        leaf(vec!["power-client".into()], ExtendedKeyUsagePurpose::ClientAuth, "client");
    let ca = write(dir.path(), "ca.pem", &ca_cert.pem());
    Pki {
        server: TlsFiles { cert: server_cert, key: server_key, ca: Some(ca.clone()) },
        client: TlsFiles { cert: client_cert, key: client_key, ca: Some(ca.clone()) },
        ca,
        _dir: dir,
    }
}

fn no_retries() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::default() },
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn mutual_tls_admits_only_certified_clients() {
    let pki = pki();
    let instance = Instance::start("power-tls", Some(pki.server.clone())).await;
    let address = format!("https://{}", instance.addr);

    // Discovered through the store, with the mesh's client identity.
    let store = store();
    let _registration = register(store.clone(), ServiceKind::Power, "power-tls", address.clone(), TTL)
        .await
        .expect("register");
    let options = no_retries().with_tls_files(Some(&pki.client)).await.expect("client tls");
    let client = ServiceClient::discover(store, ServiceKind::Power, options).await.expect("discover");
    assert_eq!(client.instance_count(), Some(1));
    let answer =
        PowerServiceClient::new(client).validate_credentials(ValidateCredentialsRequest::default()).await;
    assert_eq!(answer.map(|r| r.into_inner().detail).ok().as_deref(), Some("power-tls"));

    // Trusting the CA but presenting no certificate: the server refuses.
    let ca = std::fs::read(&pki.ca).expect("read ca");
    let anonymous = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    let client =
        ServiceClient::static_endpoints(&[address], ClientOptions { tls: Some(anonymous), ..no_retries() })
            .expect("endpoint");
    let refused =
        PowerServiceClient::new(client).validate_credentials(ValidateCredentialsRequest::default()).await;
    assert!(refused.is_err(), "server accepted a client without a certificate");

    // Plain HTTP/2 to a TLS port fails too.
    let plain =
        ServiceClient::static_endpoints(&[instance.addr.to_string()], no_retries()).expect("endpoint");
    assert!(
        PowerServiceClient::new(plain)
            .validate_credentials(ValidateCredentialsRequest::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn tls_instances_are_skipped_by_clients_without_tls() {
    let store = store();
    let _registration =
        register(store.clone(), ServiceKind::Power, "power-tls-only", "https://127.0.0.1:9", TTL)
            .await
            .expect("register");
    let client = ServiceClient::discover(store, ServiceKind::Power, no_retries()).await.expect("discover");
    assert_eq!(client.instance_count(), Some(0));
}

#[tokio::test]
async fn missing_certificate_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: dir.path().join("nope.key"), ca: None };
    let client = ClientOptions::default().with_tls_files(Some(&missing)).await.err();
    assert!(
        matches!(client, Some(MeshError::TlsFile { ref path, .. }) if path == &missing.cert),
        "{client:?}"
    );

    // A server configured with them fails to start, with the same error.
    let mut instance = Instance::start("power-bad-tls", Some(missing.clone())).await;
    let ended = instance.stop().await;
    assert!(matches!(ended, Some(Err(MeshError::TlsFile { .. }))), "{ended:?}");
}
