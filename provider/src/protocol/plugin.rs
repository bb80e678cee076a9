//! The go-plugin side of Terraform's plugin protocol: check the magic
//! cookie, listen on loopback, speak TLS with Terraform's AutoMTLS, print
//! the handshake line, serve gRPC until Terraform says stop.
//!
//! AutoMTLS: Terraform passes its client certificate in `PLUGIN_CLIENT_CERT`
//! and expects ours, DER in unpadded base64, as the handshake's last field.
//! Its certificate is a self-signed CA certificate used as a client
//! certificate, which WebPKI path building rejects (`CaUsedAsEndEntity`), so
//! the client is verified by exact match instead — which is what pinning a
//! single known certificate means anyway.

use std::io::Write as _;
use std::sync::Arc;

use magma_protocol::tfplugin6::provider_server::{Provider, ProviderServer};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;

use super::client_signature;

/// go-plugin's magic cookie for Terraform providers.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its value.
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's core protocol version.
const CORE_PROTOCOL_VERSION: u8 = 1;
/// The Terraform plugin protocol major version we speak.
const APP_PROTOCOL_VERSION: u8 = 6;

/// Why the plugin could not serve.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Started by a person, not by Terraform.
    #[error(
        "This binary is a plugin. These are not meant to be executed directly. Please execute the program that consumes these plugins, which will load any plugins automatically (terraform-provider-bbws is loaded by `terraform init`/`plan`)."
    )]
    NotAPlugin,
    /// Terraform offers no protocol version we speak.
    #[error(
        "terraform offers plugin protocol versions {0:?}; terraform-provider-bbws speaks 6 (Terraform 1.0 and later)"
    )]
    ProtocolVersion(String),
    /// TLS setup failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// Socket or server failure.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// gRPC server failure.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Accepts exactly one client certificate: the one Terraform announced.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "client certificate is not the one Terraform announced".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms(dss.scheme))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms(dss.scheme))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = client_signature::P521_SHA512.supported_schemes();
        schemes.extend(self.algorithms.supported_schemes());
        schemes
    }
}

impl PinnedClientCert {
    /// ring's verifiers, and P-521 (Terraform's key) beside them.
    fn algorithms(&self, scheme: SignatureScheme) -> &WebPkiSupportedAlgorithms {
        if scheme == SignatureScheme::ECDSA_NISTP521_SHA512 {
            &client_signature::P521_SHA512
        } else {
            &self.algorithms
        }
    }
}

/// Our ephemeral server certificate: (DER for the handshake, TLS config).
fn tls_config(client_cert_pem: &str) -> Result<(Vec<u8>, rustls::ServerConfig), PluginError> {
    let tls = |e: &dyn std::fmt::Display| PluginError::Tls(e.to_string());
    let client = CertificateDer::from_pem_slice(client_cert_pem.as_bytes()).map_err(|e| tls(&e))?;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| tls(&e))?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| tls(&e))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    let cert = params.self_signed(&key).map_err(|e| tls(&e))?;
    let der = cert.der().to_vec();

    // ring, explicitly (no process-wide default is installed); the one
    // signature it cannot verify, Terraform's P-521, is `client_signature`'s.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedClientCert {
        expected: client.into_owned(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .map_err(|e| tls(&e))?;
    // grpc-go insists on ALPN h2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((der, config))
}

/// Serves `provider` as a Terraform plugin until Terraform shuts it down.
pub async fn serve<P: Provider>(provider: P) -> Result<(), PluginError> {
    if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        return Err(PluginError::NotAPlugin);
    }
    if let Ok(versions) = std::env::var("PLUGIN_PROTOCOL_VERSIONS")
        && !versions.split(',').any(|v| v.trim() == "6")
    {
        return Err(PluginError::ProtocolVersion(versions));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = Arc::new(Notify::new());
    let router = tonic::transport::Server::builder()
        .add_service(ProviderServer::new(provider).max_decoding_message_size(256 << 20))
        .add_service(controller::GrpcControllerServer::new(shutdown.clone()));
    let stop = {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                () = shutdown.notified() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    };

    match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !pem.trim().is_empty() => {
            let (der, config) = tls_config(&pem)?;
            handshake(&addr, &base64_raw(&der))?;
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            // Accept TLS per connection concurrently, so one slow handshake
            // never blocks the next.
            let (tx, rx) = tokio::sync::mpsc::channel(16);
            tokio::spawn(async move {
                let mut incoming = std::pin::pin!(incoming(listener));
                while let Some(conn) = incoming.next().await {
                    let Ok(tcp) = conn else { continue };
                    let (acceptor, tx) = (acceptor.clone(), tx.clone());
                    tokio::spawn(async move {
                        match acceptor.accept(tcp).await {
                            Ok(tls) => {
                                let _ = tx.send(Ok::<_, std::io::Error>(tls)).await;
                            }
                            Err(e) => tracing::warn!("TLS handshake with terraform failed: {e}"),
                        }
                    });
                }
            });
            router
                .serve_with_incoming_shutdown(tokio_stream::wrappers::ReceiverStream::new(rx), stop)
                .await?;
        }
        _ => {
            handshake(&addr, "")?;
            router.serve_with_incoming_shutdown(incoming(listener), stop).await?;
        }
    }
    Ok(())
}

/// Terraform's connections, set to send replies as soon as they are
/// written. With Nagle's algorithm on, the tail of a reply waits for the
/// ACK of its head, which Terraform's side delays by 40 ms: every RPC of a
/// plan paid that.
fn incoming(listener: TcpListener) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY on terraform's connection: {e}");
            }
        })
    })
}

fn handshake(addr: &std::net::SocketAddr, cert: &str) -> Result<(), PluginError> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}"
    )?;
    out.flush()?;
    Ok(())
}

fn base64_raw(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// go-plugin's `plugin.GRPCController`: Terraform calls `Shutdown` when it
/// is done with the provider; without it, Terraform waits and kills.
/// Written by hand (two empty messages) rather than from a copied .proto.
pub mod controller {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use tokio::sync::Notify;
    use tonic::codegen::{BoxFuture, Service, StdError, http};

    /// `plugin.Empty`.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Empty {}

    /// The controller service.
    #[derive(Clone)]
    pub struct GrpcControllerServer {
        shutdown: Arc<Notify>,
    }

    impl GrpcControllerServer {
        /// Notifies `shutdown` when Terraform asks the plugin to stop.
        pub fn new(shutdown: Arc<Notify>) -> Self {
            GrpcControllerServer { shutdown }
        }
    }

    impl tonic::server::NamedService for GrpcControllerServer {
        const NAME: &'static str = "plugin.GRPCController";
    }

    struct Shutdown(Arc<Notify>);

    impl tonic::server::UnaryService<Empty> for Shutdown {
        type Response = Empty;
        type Future = BoxFuture<tonic::Response<Empty>, tonic::Status>;
        fn call(&mut self, _: tonic::Request<Empty>) -> Self::Future {
            let n = self.0.clone();
            Box::pin(async move {
                n.notify_one();
                Ok(tonic::Response::new(Empty {}))
            })
        }
    }

    impl<B> Service<http::Request<B>> for GrpcControllerServer
    where
        B: tonic::codegen::Body + Send + 'static,
        B::Error: Into<StdError> + Send + 'static,
    {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<Self::Response, Self::Error>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<B>) -> Self::Future {
            if req.uri().path() == "/plugin.GRPCController/Shutdown" {
                let svc = Shutdown(self.shutdown.clone());
                Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                    Ok(grpc.unary(svc, req).await)
                })
            } else {
                Box::pin(async move { Ok(tonic::Status::unimplemented("").into_http()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn terraforms_connections_send_without_delay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let client = tokio::spawn(tokio::net::TcpStream::connect(addr));
        let mut accepted = std::pin::pin!(incoming(listener));
        let tcp = accepted.next().await.expect("a connection").expect("accepted");
        assert!(tcp.nodelay().expect("socket option"), "Nagle's algorithm is still on");
        drop(client.await);
    }

    /// Terraform's side of AutoMTLS: the P-521 key that signs the
    /// handshake, as go-plugin's client does.
    #[derive(Clone)]
    struct TerraformKey(p521::ecdsa::SigningKey);

    impl std::fmt::Debug for TerraformKey {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("TerraformKey")
        }
    }

    impl rustls::sign::SigningKey for TerraformKey {
        fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
            offered
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
                .then(|| Box::new(self.clone()) as Box<dyn rustls::sign::Signer>)
        }

        fn algorithm(&self) -> rustls::SignatureAlgorithm {
            rustls::SignatureAlgorithm::ECDSA
        }
    }

    impl rustls::sign::Signer for TerraformKey {
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
            use p521::ecdsa::signature::Signer as _;
            let signature: p521::ecdsa::Signature = self.0.sign(message);
            Ok(signature.to_der().as_bytes().to_vec())
        }

        fn scheme(&self) -> SignatureScheme {
            SignatureScheme::ECDSA_NISTP521_SHA512
        }
    }

    #[derive(Debug)]
    struct Resolver(Arc<rustls::sign::CertifiedKey>);

    impl rustls::client::ResolvesClientCert for Resolver {
        fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }

        fn has_certs(&self) -> bool {
            true
        }
    }

    /// The server is what is under test; the client takes it on trust.
    #[derive(Debug)]
    struct TrustingClient;

    impl rustls::client::danger::ServerCertVerifier for TrustingClient {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    const TERRAFORM_CERT: &str = include_str!("../../testdata/terraform-client-p521.pem");

    fn terraform_key() -> p521::ecdsa::SigningKey {
        let hex = include_str!("../../testdata/terraform-client-p521.key.hex").trim();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        p521::ecdsa::SigningKey::from_slice(&bytes).expect("a P-521 scalar")
    }

    /// A TLS handshake between our server, expecting `announced`, and a
    /// client presenting Terraform's certificate and signing with `key`.
    async fn handshake_with(announced: &str, key: p521::ecdsa::SigningKey) -> Result<(), String> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (_, server) = tls_config(announced).map_err(|e| e.to_string())?;
        let cert = CertificateDer::from_pem_slice(TERRAFORM_CERT.as_bytes()).expect("fixture certificate");
        let certified = rustls::sign::CertifiedKey::new(vec![cert], Arc::new(TerraformKey(key)));
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(TrustingClient))
            .with_client_cert_resolver(Arc::new(Resolver(Arc::new(certified))));
        let (client_io, server_io) = tokio::io::duplex(64 << 10);
        let serve = async {
            let mut tls = tokio_rustls::TlsAcceptor::from(Arc::new(server))
                .accept(server_io)
                .await
                .map_err(|e| format!("server: {e}"))?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte)
                .await
                .map_err(|e| format!("server read: {e}"))?;
            tls.write_all(&byte).await.map_err(|e| format!("server write: {e}"))?;
            tls.flush().await.map_err(|e| format!("server flush: {e}"))?;
            Ok::<_, String>(())
        };
        let connect = async {
            let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
            let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
                .connect(name, client_io)
                .await
                .map_err(|e| format!("client: {e}"))?;
            tls.write_all(b"x").await.map_err(|e| format!("client write: {e}"))?;
            tls.flush().await.map_err(|e| format!("client flush: {e}"))?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte)
                .await
                .map_err(|e| format!("client read: {e}"))?;
            Ok::<_, String>(())
        };
        let (served, connected) = tokio::join!(serve, connect);
        served.and(connected)
    }

    #[tokio::test]
    async fn terraforms_p521_client_completes_the_handshake() {
        handshake_with(TERRAFORM_CERT, terraform_key())
            .await
            .expect("handshake");
    }

    #[tokio::test]
    async fn a_client_without_terraforms_key_is_refused() {
        let mut scalar = [7u8; 66];
        scalar[0] = 0;
        let other = p521::ecdsa::SigningKey::from_slice(&scalar).expect("a P-521 scalar");
        let e = handshake_with(TERRAFORM_CERT, other)
            .await
            .expect_err("a signature by another key");
        assert!(e.contains("BadSignature"), "{e}");
    }

    #[tokio::test]
    async fn a_certificate_terraform_did_not_announce_is_refused() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let other = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate")
            .pem();
        let e = handshake_with(&other, terraform_key())
            .await
            .expect_err("Terraform's certificate is not the announced one");
        assert!(e.contains("not the one Terraform announced"), "{e}");
    }
}
