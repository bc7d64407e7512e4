//! Downloading listing photos named by listings handed in (`markhound match`,
//! `serve --fetch-images`) from code that is not async (rayon threads, the service's
//! blocking pool). There is one HTTP fetcher in markhound, [`super::fetch::Fetcher`]
//! (async, reqwest with rustls): this is its blocking front, running it on a small
//! runtime of its own, so photos get the same guards as crawled pages: connect, read
//! and total timeouts, a body cap (a plain body past it is refused, a compressed one
//! that inflates past it too), a redirect limit checked hop by hop, and the address
//! guard. A listing can name any URL, including one that points back into the
//! network markhound runs in (`http://169.254.169.254/...`,
//! `http://localhost:8080/admin`): unless allowed, addresses that are not public are
//! refused, literal ones in the URL and in each redirect, and resolved ones in the
//! DNS resolver.

use std::time::Duration;

use thiserror::Error;
use url::Url;

use super::fetch::{FetchConfig, Fetcher};

/// Limits applied to every download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Longest wait for the connection to open.
    pub connect_timeout: Duration,
    /// Longest time for the whole request, redirects and body included.
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
    /// The runtime the downloads run on could not be started.
    #[error("cannot start the photo downloader")]
    Runtime(#[source] std::io::Error),
    /// The address is not an http or https URL.
    #[error("{url}: not an http(s) URL")]
    NotHttp {
        /// The address.
        url: String,
    },
    /// The request failed: refused address, unreachable host, timeout, too many
    /// redirects, a body that cannot be decoded.
    #[error("{url}: request failed")]
    Request {
        /// The address.
        url: String,
        /// What the fetcher reported.
        #[source]
        source: super::fetch::FetchError,
    },
    /// The server answered with an error status.
    #[error("{url}: the server answered {status}")]
    Status {
        /// The address.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body is larger than [`FetchOptions::max_bytes`].
    #[error("{url}: the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The address.
        url: String,
        /// The limit.
        limit: u64,
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
#[derive(Debug)]
pub struct ImageFetcher {
    fetcher: Fetcher,
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    max_bytes: u64,
}

impl Drop for ImageFetcher {
    fn drop(&mut self) {
        // May be dropped inside another runtime (the service's): never block here.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl ImageFetcher {
    /// A fetcher with these limits, naming itself markhound to servers.
    pub fn new(options: &FetchOptions) -> Result<ImageFetcher, FetchError> {
        let mut config = FetchConfig::new(None);
        config.user_agent = format!(
            "markhound/{} (trademark scanner; listing photo check)",
            env!("CARGO_PKG_VERSION")
        );
        config.connect_timeout = options.connect_timeout;
        config.read_timeout = options.timeout;
        config.total_timeout = options.timeout;
        config.max_body = usize::try_from(options.max_bytes).unwrap_or(usize::MAX);
        config.max_redirects = options.max_redirects;
        config.allow_private = options.allow_private;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("markhound-photos")
            .enable_all()
            .build()
            .map_err(FetchError::Runtime)?;
        Ok(ImageFetcher {
            fetcher: Fetcher::new(config).map_err(FetchError::Client)?,
            runtime: Some(runtime),
            max_bytes: options.max_bytes,
        })
    }

    /// The body of `url`, at most [`FetchOptions::max_bytes`] long. Blocks the
    /// calling thread (never call it from async code).
    pub fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let not_http = || FetchError::NotHttp { url: url.into() };
        if !is_url(url) {
            return Err(not_http());
        }
        let parsed = Url::parse(url.trim()).map_err(|_| not_http())?;
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        let page = runtime
            .block_on(self.fetcher.get(&parsed))
            .map_err(|source| FetchError::Request {
                url: url.into(),
                source,
            })?;
        if !(200..300).contains(&page.status) {
            return Err(FetchError::Status {
                url: url.into(),
                status: page.status,
            });
        }
        if page.truncated {
            return Err(FetchError::TooLarge {
                url: url.into(),
                limit: self.max_bytes,
            });
        }
        Ok(page.body)
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
        assert!(
            matches!(
                err,
                FetchError::Request {
                    source: super::super::fetch::FetchError::TooManyRedirects { .. },
                    ..
                }
            ),
            "{err}"
        );
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
        for url in [
            format!("{base}/a"),
            format!("http://localhost:{port}/a"),
            format!("{hop}/hop"),
            "http://[::1]:9/a".to_owned(),
        ] {
            let err = strict.fetch(&url).unwrap_err();
            let text = chain(&err);
            assert!(
                text.contains("private, loopback or link-local")
                    || text.contains("is not a public address"),
                "{url}: {text}"
            );
        }
    }
}
