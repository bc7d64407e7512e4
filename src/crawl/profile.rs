//! Site profiles: how to crawl one marketplace, written in TOML. See the crate's
//! [`crate::crawl`] documentation for the format.

use std::path::Path;

use regex::Regex;
use scraper::Selector;
use serde::Deserialize;
use url::Url;

/// Why a profile was refused; every variant names the file and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or a field has the wrong type.
    #[error("{path}: {source}")]
    Toml {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: toml::de::Error,
    },
    /// A field's value is not usable.
    #[error("{path}: {field}: {reason}")]
    Field {
        /// The file.
        path: String,
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    start_urls: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    listing_links: Option<String>,
    #[serde(default)]
    next_page: Option<String>,
    #[serde(default)]
    fields: RawFields,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFields {
    id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    price: Option<String>,
    currency: Option<String>,
    brand: Option<String>,
    category: Option<String>,
    seller_id: Option<String>,
    seller_name: Option<String>,
    seller_url: Option<String>,
    images: Option<String>,
}

/// The compiled CSS selectors of a listing page's fields.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// The listing id (`content` or `data-id` attribute, else text).
    pub id: Option<Selector>,
    /// The title.
    pub title: Option<Selector>,
    /// The description.
    pub description: Option<Selector>,
    /// The displayed price (`content` attribute, else text).
    pub price: Option<Selector>,
    /// The ISO 4217 currency (`content` attribute, else text).
    pub currency: Option<Selector>,
    /// The brand the page declares.
    pub brand: Option<Selector>,
    /// The category.
    pub category: Option<Selector>,
    /// The seller id (`content` or `data-id` attribute, else text).
    pub seller_id: Option<Selector>,
    /// The seller's name.
    pub seller_name: Option<Selector>,
    /// A link to the seller's page.
    pub seller_url: Option<Selector>,
    /// The product images (`src` or `href`).
    pub images: Option<Selector>,
}

/// A checked site profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The marketplace's name, stored with each listing.
    pub name: String,
    /// Start URLs; `{query}` is replaced by every mark name and alias.
    pub start_urls: Vec<String>,
    /// URL patterns a page must match to be fetched (regular expressions).
    pub allow: Vec<Regex>,
    /// Links to listing pages.
    pub listing_links: Option<Selector>,
    /// Links to the next result page.
    pub next_page: Option<Selector>,
    /// The fields of a listing page.
    pub fields: Fields,
}

impl Profile {
    /// Reads and checks a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a profile; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let raw: RawProfile = toml::from_str(text).map_err(|source| ProfileError::Toml {
            path: origin.to_owned(),
            source,
        })?;
        let field_err = |field: &str, reason: String| ProfileError::Field {
            path: origin.to_owned(),
            field: field.to_owned(),
            reason,
        };
        if raw.start_urls.is_empty() {
            return Err(field_err("start_urls", "needs at least one URL".into()));
        }
        for (i, u) in raw.start_urls.iter().enumerate() {
            Url::parse(&u.replace("{query}", "q"))
                .map_err(|e| field_err(&format!("start_urls[{i}]"), format!("{e}: {u}")))?;
        }
        let allow = raw
            .allow
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Regex::new(p).map_err(|e| field_err(&format!("allow[{i}]"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let css = |field: &str, s: &Option<String>| -> Result<Option<Selector>, ProfileError> {
            s.as_deref()
                .map(|s| {
                    Selector::parse(s).map_err(|e| {
                        field_err(
                            field,
                            format!("bad CSS selector {s:?}: {}", selector_error(&e)),
                        )
                    })
                })
                .transpose()
        };
        let f = &raw.fields;
        Ok(Profile {
            name: raw.name.clone(),
            start_urls: raw.start_urls.clone(),
            allow,
            listing_links: css("listing_links", &raw.listing_links)?,
            next_page: css("next_page", &raw.next_page)?,
            fields: Fields {
                id: css("fields.id", &f.id)?,
                title: css("fields.title", &f.title)?,
                description: css("fields.description", &f.description)?,
                price: css("fields.price", &f.price)?,
                currency: css("fields.currency", &f.currency)?,
                brand: css("fields.brand", &f.brand)?,
                category: css("fields.category", &f.category)?,
                seller_id: css("fields.seller_id", &f.seller_id)?,
                seller_name: css("fields.seller_name", &f.seller_name)?,
                seller_url: css("fields.seller_url", &f.seller_url)?,
                images: css("fields.images", &f.images)?,
            },
        })
    }

    /// The start URLs with `{query}` expanded from `queries` (URL-encoded); a URL
    /// without `{query}` is kept once.
    pub fn expand_start_urls(&self, queries: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for u in &self.start_urls {
            if u.contains("{query}") {
                for q in queries {
                    let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
                    out.push(u.replace("{query}", &enc));
                }
            } else {
                out.push(u.clone());
            }
        }
        out.dedup();
        out
    }

    /// True when `url` may be fetched: it matches an `allow` pattern, or, without
    /// patterns, shares a host with a start URL.
    pub fn allows(&self, url: &Url) -> bool {
        if self.allow.is_empty() {
            return self.start_urls.iter().any(|s| {
                Url::parse(&s.replace("{query}", "q"))
                    .is_ok_and(|s| s.host_str() == url.host_str() && s.port() == url.port())
            });
        }
        self.allow.iter().any(|r| r.is_match(url.as_str()))
    }
}

/// A selector error in words. scraper prints some kinds as "Unexpected error
/// occurred. Please report this to the developer" with a debug dump; the kind's own
/// name ("NoQualifiedNameInAttributeSelector") says what is wrong, so it is spelt
/// out ("no qualified name in attribute selector").
fn selector_error(err: &scraper::error::SelectorErrorKind<'_>) -> String {
    match err {
        scraper::error::SelectorErrorKind::UnexpectedSelectorParseError(kind) => {
            let debug = format!("{kind:?}");
            let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
            let mut words = String::new();
            for c in name.chars() {
                if c.is_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.extend(c.to_lowercase());
            }
            words
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        name = "shop"
        start_urls = ["http://shop.example/search?q={query}", "http://shop.example/new"]
        allow = ['^http://shop\.example/(search|item)']
        listing_links = "a.listing"
        next_page = "a[rel=next]"
        [fields]
        title = "h1"
        price = ".price"
    "#;

    #[test]
    fn expands_queries_and_checks_urls() {
        let p = Profile::parse(GOOD, "shop.toml").unwrap();
        let urls = p.expand_start_urls(&["Zentrix".into(), "泽特 X".into()]);
        assert_eq!(
            urls,
            [
                "http://shop.example/search?q=Zentrix",
                "http://shop.example/search?q=%E6%B3%BD%E7%89%B9+X",
                "http://shop.example/new"
            ]
        );
        assert!(p.allows(&Url::parse("http://shop.example/item/1").unwrap()));
        assert!(!p.allows(&Url::parse("http://shop.example/help").unwrap()));
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let bad = GOOD.replace("\"h1\"", "\"h1[\"");
        let e = Profile::parse(&bad, "shop.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("shop.toml: fields.title: bad CSS selector"),
            "{e}"
        );
        let bad = GOOD.replace("\"h1\"", "\"a[=x]\"");
        let e = Profile::parse(&bad, "shop.toml").unwrap_err().to_string();
        assert!(
            e.ends_with("bad CSS selector \"a[=x]\": no qualified name in attribute selector"),
            "{e}"
        );
        let e = Profile::parse("name = 1", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml: "), "{e}");
        let e = Profile::parse("name = \"x\"\nstart_urls = []", "p.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "p.toml: start_urls: needs at least one URL");
    }
}
