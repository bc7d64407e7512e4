//! URL canonicalisation, so one page is fetched once however it is linked: the
//! fragment goes, the default port goes, query parameters are sorted, and tracking
//! parameters (`utm_*`, `fbclid`, `gclid`, ...) and credentials are dropped. The
//! `url` crate already lower-cases the scheme and host and resolves `.` and `..`.

use url::Url;

/// Query parameters that only track the visitor and never change the page.
const TRACKING: &[&str] = &[
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "mc_cid", "mc_eid", "yclid", "_ga", "igshid",
    "ref_src", "spm",
];

fn is_tracking(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING.contains(&lower.as_str())
}

/// The canonical form of `url`; `None` for anything but http(s).
pub fn canonicalize(url: &Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    let mut url = url.clone();
    url.set_fragment(None);
    // Credentials in a link must reach neither the site nor the logs.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    // The url crate already drops a default port while parsing.
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        pairs.sort();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Some(url)
}

/// Parses `href` relative to `base` and canonicalises it.
pub fn resolve(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with("javascript:") || href.starts_with("mailto:") {
        return None;
    }
    canonicalize(&base.join(href).ok()?)
}

/// True when a path repeats one of its segments three times or more
/// (`/a/b/a/b/a/b/`): the signature of relative-link traps and calendars.
pub fn looks_like_trap(url: &Url) -> bool {
    let Some(segments) = url.path_segments() else {
        return false;
    };
    let segments: Vec<&str> = segments.filter(|s| !s.is_empty()).collect();
    if segments.len() > 24 || url.as_str().len() > 2048 {
        return true;
    }
    segments
        .iter()
        .any(|s| segments.iter().filter(|t| *t == s).count() >= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonicalize(&Url::parse(s).unwrap()).unwrap().to_string()
    }

    #[test]
    fn drops_fragment_default_port_and_tracking_and_sorts_query() {
        assert_eq!(
            canon("HTTP://Shop.Example:80/item/1?b=2&utm_source=x&a=1&fbclid=z#top"),
            "http://shop.example/item/1?a=1&b=2"
        );
        assert_eq!(
            canon("https://shop.example:443/?gclid=1"),
            "https://shop.example/"
        );
        assert_eq!(
            canon("http://user:secret@shop.example/a"),
            "http://shop.example/a"
        );
        assert_eq!(
            canon("http://shop.example:8080/a/./b/../c"),
            "http://shop.example:8080/a/c"
        );
    }

    #[test]
    fn only_http_is_crawlable() {
        let base = Url::parse("http://shop.example/x/").unwrap();
        assert!(resolve(&base, "mailto:a@b.c").is_none());
        assert!(resolve(&base, "ftp://shop.example/").is_none());
        assert_eq!(
            resolve(&base, "item?id=3#f").unwrap().as_str(),
            "http://shop.example/x/item?id=3"
        );
    }

    #[test]
    fn repeating_paths_are_traps() {
        let u = |s| Url::parse(s).unwrap();
        assert!(looks_like_trap(&u("http://a.b/x/y/x/y/x/y")));
        assert!(!looks_like_trap(&u("http://a.b/item/x/y")));
    }
}
