//! The site probe of a health report: `GET` a tenant's URL and read the
//! status line. Deliberately tiny (HTTP/1.1, one request, no redirects, a
//! short timeout): it answers "does the site respond", nothing more, and
//! keeps an HTTP client stack out of the crate.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ports::{PortError, PortErrorKind, PortResult, SiteProbe};

/// The real probe, over TLS with the system's root certificates (the ones
/// the AWS clients trust).
#[derive(Debug, Clone)]
pub struct HttpsProbe {
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl Default for HttpsProbe {
    fn default() -> Self {
        HttpsProbe {
            timeout: Duration::from_secs(3),
        }
    }
}

fn failed(code: &str, message: String) -> PortError {
    PortError::new(PortErrorKind::Transient, code, message)
}

/// `(tls, host, port, path)` of an `http(s)://host[:port]/path` URL.
fn split_url(url: &str) -> Option<(bool, String, u16, String)> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    Some((tls, host.to_owned(), port, path))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, host: &str, path: &str) -> std::io::Result<String> {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bbws-health\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    Ok(String::from_utf8_lossy(&read_status_line(&mut stream).await?).into_owned())
}

/// The longest status line read; a server sending more without a CRLF is
/// not answering HTTP.
const STATUS_LINE_MAX: usize = 1024;

/// Reads up to the first CRLF (or the end of the stream, or
/// [`STATUS_LINE_MAX`] bytes): a single read may return only part of the
/// status line, e.g. when TLS splits it across records.
async fn read_status_line<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 64];
    while line.len() < STATUS_LINE_MAX {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        line.extend_from_slice(&chunk[..n]);
        if let Some(end) = line.windows(2).position(|w| w == b"\r\n") {
            line.truncate(end);
            break;
        }
    }
    Ok(line)
}

/// The TLS client configuration, built once per process: the system's
/// roots are parsed on the first HTTPS probe, not at every one.
fn client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(format!(
                    "no root certificates found on this system ({:?})",
                    native.errors
                ));
            }
            let config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

#[async_trait]
impl SiteProbe for HttpsProbe {
    async fn status(&self, url: &str) -> PortResult<u16> {
        let (tls, host, port, path) =
            split_url(url).ok_or_else(|| failed("InvalidUrl", format!("GET {url}: not an http(s) URL")))?;
        let work = async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| failed("ConnectFailed", format!("GET {url}: {e}")))?;
            let head = if tls {
                let config = client_config().map_err(|e| failed("TlsConfig", e))?;
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| failed("InvalidUrl", format!("GET {url}: {e}")))?;
                let stream = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| failed("TlsFailed", format!("GET {url}: {e}")))?;
                exchange(stream, &host, &path).await
            } else {
                exchange(tcp, &host, &path).await
            }
            .map_err(|e| failed("ReadFailed", format!("GET {url}: {e}")))?;
            // "HTTP/1.1 200 OK"
            head.split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u16>().ok())
                .filter(|_| head.starts_with("HTTP/"))
                .ok_or_else(|| failed("NotHttp", format!("GET {url}: the answer is not HTTP")))
        };
        tokio::time::timeout(self.timeout, work).await.unwrap_or_else(|_| {
            Err(failed(
                "Timeout",
                format!("GET {url}: no answer within {}s", self.timeout.as_secs()),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("https://acme.wpdev.example.io"),
            Some((true, "acme.wpdev.example.io".into(), 443, "/".into()))
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080/health"),
            Some((false, "127.0.0.1".into(), 8080, "/health".into()))
        );
        assert_eq!(split_url("ftp://x"), None);
        assert_eq!(split_url("https://a b/"), None);
    }

    /// A stream that hands out its chunks one read at a time, as TLS
    /// records or TCP segments may.
    struct Chunks(std::collections::VecDeque<&'static [u8]>);

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if let Some(chunk) = self.0.pop_front() {
                buf.put_slice(chunk);
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_status_line_split_across_reads_is_read_whole() {
        let mut stream = Chunks([&b"HT"[..], b"TP/1.1 2", b"00 OK\r\nServer: x\r\n\r\n"].into());
        let line = read_status_line(&mut stream).await.expect("read");
        assert_eq!(line, b"HTTP/1.1 200 OK");
        let mut short = Chunks([&b"HTTP/1.1 204"[..]].into());
        assert_eq!(read_status_line(&mut short).await.expect("read"), b"HTTP/1.1 204");
    }

    #[tokio::test]
    async fn a_local_http_server_answers_with_its_status() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
            }
        });
        let status = HttpsProbe::default().status(&format!("http://{addr}/")).await;
        assert_eq!(status.expect("answer"), 503);
        let refused = HttpsProbe::default().status("http://127.0.0.1:1/").await;
        assert!(refused.is_err());
    }
}
