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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
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

    // aws-lc-rs, explicitly: Terraform's client certificate is ECDSA P-521,
    // which ring cannot verify (and with ring also linked there is no single
    // process-wide default provider to rely on).
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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
}
