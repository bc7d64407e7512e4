//! Downloading listing photos over http(s) with reqwest's blocking client (rustls
//! TLS). Photos come from strangers' servers: every download has connect and total
//! timeouts, a cap on the body size (checked against `Content-Length` and again
//! while reading, since the header can lie or be absent) and a limit on redirects.
//!
//! A listing can name any URL, including one that points back into the network
//! markhound runs in (`http://169.254.169.254/...`, `http://localhost:8080/admin`).
//! Unless allowed, addresses that are not public are refused (the same guard as the
//! crawler's, [`super::address`]): literal ones in the URL and in each redirect, and
//! resolved ones at connection time, in the DNS resolver.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use super::address::{is_public, literal_ip, GuardedResolver, PrivateAddress};

/// Limits applied to every download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Longest wait for the connection to open.
    pub connect_timeout: Duration,
    /// Longest time for the whole request, body included.
    pub timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Most redirects followed.
    pub max_redirects: usize,
    /// Whether addresses that are not public may be fetched (tests and local
    /// servers).
    pub allow_private: bool,
}

impl Default for FetchOptions {
    /// 10 s to connect, 30 s in all, 16 MiB, 5 redirects, public addresses only.
    fn default() -> FetchOptions {
        FetchOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_bytes: 16 << 20,
            max_redirects: 5,
            allow_private: false,
        }
    }
}

/// Why a photo could not be downloaded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The HTTP client could not be set up (no usable TLS backend).
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The address is not an http or https URL.
    #[error("{url}: not an http(s) URL")]
    NotHttp {
        /// The address.
        url: String,
    },
    /// The URL names an address that is not public.
    #[error("{url}: {source}")]
    Private {
        /// The address.
        url: String,
        /// Which address.
        source: PrivateAddress,
    },
    /// The request failed: unreachable host, timeout, TLS, too many redirects.
    #[error("{url}: request failed")]
    Request {
        /// The address.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{url}: the server answered {status}")]
    Status {
        /// The address.
        url: String,
        /// The status.
        status: reqwest::StatusCode,
    },
    /// The body is larger than [`FetchOptions::max_bytes`].
    #[error("{url}: the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The address.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The body could not be read to the end.
    #[error("{url}: reading the body failed")]
    Read {
        /// The address.
        url: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Whether `s` is an http or https URL (as opposed to a local path).
pub fn is_url(s: &str) -> bool {
    let s = s.trim_start();
    let lower = |n: usize| s.get(..n).map(str::to_ascii_lowercase);
    lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
}

/// Downloads photos. Build once and share between threads: it keeps connections
/// open between requests to the same host.
#[derive(Debug, Clone)]
pub struct ImageFetcher {
    client: reqwest::blocking::Client,
    max_bytes: u64,
    allow_private: bool,
}

impl ImageFetcher {
    /// A fetcher with these limits, naming itself `markhound/VERSION` to servers.
    pub fn new(options: &FetchOptions) -> Result<ImageFetcher, FetchError> {
        let (max_redirects, allow_private) = (options.max_redirects, options.allow_private);
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                return attempt.error(format!("more than {max_redirects} redirects"));
            }
            match literal_ip(attempt.url()) {
                Some(ip) if !allow_private && !is_public(ip) => attempt.error(PrivateAddress(ip)),
                _ => attempt.follow(),
            }
        });
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!(
                "markhound/",
                env!("CARGO_PKG_VERSION"),
                " (trademark scanner; listing photo check)"
            ))
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .redirect(redirects);
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder.build().map_err(FetchError::Client)?;
        Ok(ImageFetcher {
            client,
            max_bytes: options.max_bytes,
            allow_private,
        })
    }

    /// The body of `url`, at most [`FetchOptions::max_bytes`] long.
    pub fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        if !is_url(url) {
            return Err(FetchError::NotHttp { url: url.into() });
        }
        let request = |source| FetchError::Request {
            url: url.into(),
            source,
        };
        let parsed =
            reqwest::Url::parse(url.trim()).map_err(|_| FetchError::NotHttp { url: url.into() })?;
        if let Some(ip) = literal_ip(&parsed) {
            if !self.allow_private && !is_public(ip) {
                return Err(FetchError::Private {
                    url: url.into(),
                    source: PrivateAddress(ip),
                });
            }
        }
        let response = self.client.get(parsed).send().map_err(request)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.into(),
                status,
            });
        }
        let too_large = || FetchError::TooLarge {
            url: url.into(),
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        response
            .take(self.max_bytes + 1)
            .read_to_end(&mut body)
            .map_err(|source| FetchError::Read {
                url: url.into(),
                source,
            })?;
        if body.len() as u64 > self.max_bytes {
            return Err(too_large());
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// Serves canned answers on 127.0.0.1 by request path, one connection at a
    /// time, until the test ends. Returns the base URL.
    fn serve(routes: Vec<(&'static str, Vec<u8>)>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/");
                let answer = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, a)| a.clone())
                    .unwrap_or_else(|| {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    });
                let _ = stream.write_all(&answer);
            }
        });
        base
    }

    fn ok(body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn redirect(to: &str) -> Vec<u8> {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .into_bytes()
    }

    #[test]
    fn recognises_urls() {
        assert!(is_url("http://example.com/a.jpg"));
        assert!(is_url("HTTPS://example.com/a.jpg"));
        assert!(!is_url("photos/a.jpg"));
        assert!(!is_url("ftp://example.com/a.jpg"));
        assert!(!is_url("http:"));
    }

    #[test]
    fn fetches_bodies_within_the_limits() {
        let chunked_big = {
            // No Content-Length: the cap must hold while reading.
            let mut a = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            a.extend(std::iter::repeat_n(b'x', 5000));
            a
        };
        let base = serve(vec![
            ("/a", ok(b"hello")),
            ("/big", ok(&[0u8; 5000])),
            ("/stream", chunked_big),
            ("/hop", redirect("/a")),
            ("/loop1", redirect("/loop2")),
            ("/loop2", redirect("/loop1")),
        ]);
        let fetcher = ImageFetcher::new(&FetchOptions {
            max_bytes: 1000,
            allow_private: true,
            ..FetchOptions::default()
        })
        .unwrap();
        assert_eq!(fetcher.fetch(&format!("{base}/a")).unwrap(), b"hello");
        assert_eq!(fetcher.fetch(&format!("{base}/hop")).unwrap(), b"hello");
        for path in ["/big", "/stream"] {
            let err = fetcher.fetch(&format!("{base}{path}")).unwrap_err();
            assert!(matches!(err, FetchError::TooLarge { .. }), "{path}: {err}");
        }
        let err = fetcher.fetch(&format!("{base}/missing")).unwrap_err();
        assert!(err.to_string().contains("404"), "{err}");
        let err = fetcher.fetch(&format!("{base}/loop1")).unwrap_err();
        assert!(matches!(err, FetchError::Request { .. }), "{err}");
        let err = fetcher.fetch("file:///etc/passwd").unwrap_err();
        assert!(matches!(err, FetchError::NotHttp { .. }), "{err}");
    }

    #[test]
    fn an_unreachable_host_is_an_error() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let fetcher = ImageFetcher::new(&FetchOptions {
            allow_private: true,
            ..FetchOptions::default()
        })
        .unwrap();
        let err = fetcher
            .fetch(&format!("http://127.0.0.1:{port}/a.jpg"))
            .unwrap_err();
        assert!(err.to_string().contains("request failed"), "{err}");
    }

    #[test]
    fn addresses_that_are_not_public_are_refused_unless_allowed() {
        let base = serve(vec![("/a", ok(b"hello"))]);
        let port = base.rsplit(':').next().unwrap().to_owned();
        let hop = serve(vec![("/hop", redirect(&format!("{base}/a")))]);
        let strict = ImageFetcher::new(&FetchOptions::default()).unwrap();
        let chain = |err: &FetchError| {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        };
        // A literal address, a name that resolves to one, and a redirect to one.
        let err = strict.fetch(&format!("{base}/a")).unwrap_err();
        assert!(matches!(err, FetchError::Private { .. }), "{err}");
        for url in [format!("http://localhost:{port}/a"), format!("{hop}/hop")] {
            let err = strict.fetch(&url).unwrap_err();
            assert!(
                chain(&err).contains("is not a public address"),
                "{url}: {}",
                chain(&err)
            );
        }
        let err = strict.fetch("http://[::1]:9/a").unwrap_err();
        assert!(matches!(err, FetchError::Private { .. }), "{err}");
    }
}
