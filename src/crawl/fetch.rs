//! HTTP fetching with the guards a crawler of hostile sites needs, for pages and
//! photos alike: connect and read timeouts and a total deadline per request (a
//! server that drips a byte now and then cannot hold a request longer), a body-size
//! cap (a plain body is cut at the cap; a gzip, deflate or
//! brotli body that inflates past it is refused, see [`super::decode`]), redirects
//! followed by hand up to a limit,
//! and the SSRF guard: unless private addresses are allowed, every request and every
//! redirect is refused when its host is, or resolves to, a private, loopback,
//! link-local, unique-local or cloud-metadata address. Names are checked by a custom
//! DNS resolver, so the address checked is the address connected to.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use url::Url;

use super::address::{is_forbidden, is_local_name, GuardedResolver};
use super::decode::Decoder;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The User-Agent header.
    pub user_agent: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Timeout for each read of the body (and for the headers).
    pub read_timeout: Duration,
    /// The longest one request may take in all, redirects and body included.
    pub total_timeout: Duration,
    /// The largest body kept, after decoding: a longer plain body is cut, a
    /// compressed body that inflates past it is refused.
    pub max_body: usize,
    /// The most redirects followed for one request.
    pub max_redirects: usize,
    /// Allow private, loopback and link-local addresses (tests, the demo).
    pub allow_private: bool,
    /// `host:port` pairs allowed even when private (one staging server), while
    /// every other private address stays refused.
    pub allow_hosts: Vec<String>,
    /// An HTTP(S) proxy every request goes through (`--proxy`). The proxy then
    /// resolves names, so refusing private addresses becomes its job. Without it
    /// the `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` variables are ignored: a
    /// proxy taken from the environment would silently bypass the address guard.
    pub proxy: Option<String>,
}

impl FetchConfig {
    /// The defaults, with a User-Agent naming markhound and `contact` if given.
    pub fn new(contact: Option<&str>) -> FetchConfig {
        let version = env!("CARGO_PKG_VERSION");
        let user_agent = match contact {
            Some(c) => {
                format!("markhound/{version} (trademark-infringement scanner; contact: {c})")
            }
            None => format!("markhound/{version} (trademark-infringement scanner)"),
        };
        FetchConfig {
            user_agent,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(20),
            total_timeout: Duration::from_secs(60),
            max_body: 5 << 20,
            max_redirects: 5,
            allow_private: false,
            allow_hosts: Vec::new(),
            proxy: None,
        }
    }
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The SSRF guard refused the address.
    #[error("refused {url}: {host} is a private, loopback or link-local address (use --allow-private for your own servers)")]
    Refused {
        /// The URL.
        url: String,
        /// The offending host or address.
        host: String,
    },
    /// More redirects than allowed, or a loop.
    #[error("too many redirects from {url} (limit {limit})")]
    TooManyRedirects {
        /// The first URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// A redirect without a usable `Location`.
    #[error("bad redirect from {url}: {reason}")]
    BadRedirect {
        /// The redirecting URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The body could not be decoded, or inflates past the cap.
    #[error("cannot read the body of {url}")]
    Decode {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: super::decode::DecodeError,
    },
    /// A redirect leads outside the pages the caller may fetch (a crawl's `allow`
    /// patterns, or its start hosts).
    #[error("{url} redirects to {to}, outside the pages this crawl may fetch")]
    OutOfScope {
        /// The redirecting URL.
        url: String,
        /// Where it redirects.
        to: String,
    },
    /// The request took longer than [`FetchConfig::total_timeout`].
    #[error("{url}: no complete answer within {} s", limit.as_secs_f64())]
    Deadline {
        /// The URL.
        url: String,
        /// The deadline.
        limit: Duration,
    },
    /// A network or protocol error.
    #[error("cannot fetch {url}")]
    Http {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
}

impl FetchError {
    /// True for errors worth retrying (timeouts and connection failures).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Http { source, .. } => source.is_timeout() || source.is_connect(),
            _ => false,
        }
    }
}

/// A fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL after redirects.
    pub final_url: Url,
    /// The HTTP status.
    pub status: u16,
    /// `Retry-After`, raw.
    pub retry_after: Option<String>,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The decoded body, at most `max_body` bytes.
    pub body: Vec<u8>,
    /// The body was longer than `max_body` and was cut.
    pub truncated: bool,
}

/// Fetches pages under a [`FetchConfig`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: Arc<FetchConfig>,
}

impl Fetcher {
    /// A fetcher; fails only when the TLS backend cannot start.
    pub fn new(config: FetchConfig) -> Result<Fetcher, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(&config.user_agent)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Decoded by hand, under the cap (see `decode`), even when another part
            // of the program enables reqwest's own decoders.
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .default_headers(
                [(
                    reqwest::header::ACCEPT_ENCODING,
                    reqwest::header::HeaderValue::from_static("gzip, br, deflate"),
                )]
                .into_iter()
                .collect(),
            );
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        builder = match &config.proxy {
            Some(proxy) => {
                tracing::warn!(
                    "fetching through the proxy {proxy}: it resolves host names, so \
                     refusing private and loopback addresses is its job"
                );
                builder.proxy(reqwest::Proxy::all(proxy.as_str())?)
            }
            None => builder.no_proxy(),
        };
        Ok(Fetcher {
            client: builder.build()?,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Refuses `url` when its host is a forbidden address literal (names are
    /// checked when resolved).
    pub fn check(&self, url: &Url) -> Result<(), FetchError> {
        if self.config.allow_private {
            return Ok(());
        }
        if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
            let pair = format!("{host}:{port}");
            if self.config.allow_hosts.contains(&pair) {
                return Ok(());
            }
        }
        let refused = |host: String| FetchError::Refused {
            url: url.to_string(),
            host,
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) if is_forbidden(IpAddr::V4(ip)) => {
                Err(refused(ip.to_string()))
            }
            Some(url::Host::Ipv6(ip)) if is_forbidden(IpAddr::V6(ip)) => {
                Err(refused(ip.to_string()))
            }
            Some(url::Host::Domain(d)) if is_local_name(d) => Err(refused(d.to_owned())),
            _ => Ok(()),
        }
    }

    /// GETs `url`, following redirects by hand and checking every hop, within the
    /// total deadline.
    pub async fn get(&self, url: &Url) -> Result<Page, FetchError> {
        self.get_in_scope(url, &|_| true).await
    }

    /// [`Fetcher::get`], following a redirect only to a URL `in_scope` accepts.
    pub async fn get_in_scope(
        &self,
        url: &Url,
        in_scope: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<Page, FetchError> {
        let limit = self.config.total_timeout;
        tokio::time::timeout(limit, self.get_within(url, in_scope))
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Deadline {
                    url: url.to_string(),
                    limit,
                })
            })
    }

    async fn get_within(
        &self,
        url: &Url,
        in_scope: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<Page, FetchError> {
        let mut current = url.clone();
        let mut seen = vec![current.clone()];
        loop {
            self.check(&current)?;
            let http = |source| FetchError::Http {
                url: current.to_string(),
                source,
            };
            let mut resp = self
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(http)?;
            let status = resp.status();
            if status.is_redirection() {
                let location =
                    header(resp.headers(), LOCATION).ok_or_else(|| FetchError::BadRedirect {
                        url: current.to_string(),
                        reason: "no Location header".into(),
                    })?;
                let next = current
                    .join(&location)
                    .map_err(|e| FetchError::BadRedirect {
                        url: current.to_string(),
                        reason: format!("{e}: {location}"),
                    })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::BadRedirect {
                        url: current.to_string(),
                        reason: format!("not http(s): {next}"),
                    });
                }
                if !in_scope(&next) {
                    return Err(FetchError::OutOfScope {
                        url: current.to_string(),
                        to: next.to_string(),
                    });
                }
                if seen.len() > self.config.max_redirects || seen.contains(&next) {
                    return Err(FetchError::TooManyRedirects {
                        url: url.to_string(),
                        limit: self.config.max_redirects,
                    });
                }
                seen.push(next.clone());
                current = next;
                continue;
            }
            let retry_after = header(resp.headers(), RETRY_AFTER);
            let content_type = header(resp.headers(), reqwest::header::CONTENT_TYPE);
            let decode = |source| FetchError::Decode {
                url: current.to_string(),
                source,
            };
            let encoding = header(resp.headers(), reqwest::header::CONTENT_ENCODING);
            let mut decoder =
                Decoder::new(encoding.as_deref(), self.config.max_body).map_err(decode)?;
            // A plain body announced longer than the cap is cut whatever comes: a
            // server that announces more than it sends cannot turn the cut into an
            // error.
            let oversized = encoding.is_none()
                && resp
                    .content_length()
                    .is_some_and(|n| n > self.config.max_body as u64);
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if !decoder.push(&chunk).map_err(decode)? {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(_) if oversized => break,
                    Err(e) => return Err(http(e)),
                }
            }
            let truncated = decoder.truncated || oversized;
            let body = decoder.finish().map_err(decode)?;
            return Ok(Page {
                final_url: current,
                status: status.as_u16(),
                retry_after,
                content_type,
                body,
                truncated,
            });
        }
    }
}

fn header(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_that_drips_is_cut_at_the_total_deadline() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                .await;
            // One byte every 100 ms: every read succeeds well within its timeout.
            for _ in 0..1000 {
                if s.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut config = FetchConfig::new(None);
        config.allow_private = true;
        config.read_timeout = Duration::from_secs(5);
        config.total_timeout = Duration::from_millis(800);
        let f = Fetcher::new(config).unwrap();
        let started = std::time::Instant::now();
        let err = f
            .get(&Url::parse(&format!("http://{addr}/drip")).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Deadline { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn literal_private_hosts_are_refused_before_any_request() {
        let f = Fetcher::new(FetchConfig::new(None)).unwrap();
        for u in [
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://localhost/",
            "http://169.254.169.254/latest",
        ] {
            assert!(
                matches!(
                    f.check(&Url::parse(u).unwrap()),
                    Err(FetchError::Refused { .. })
                ),
                "{u}"
            );
        }
        assert!(f
            .check(&Url::parse("https://shop.example/").unwrap())
            .is_ok());
        let mut config = FetchConfig::new(None);
        config.allow_hosts = vec!["127.0.0.1:8080".into()];
        let f = Fetcher::new(config).unwrap();
        assert!(f
            .check(&Url::parse("http://127.0.0.1:8080/x").unwrap())
            .is_ok());
        assert!(f
            .check(&Url::parse("http://127.0.0.1:8081/x").unwrap())
            .is_err());
    }
}
