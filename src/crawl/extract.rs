//! Listing extraction from an HTML page: schema.org Product data (JSON-LD, then
//! microdata), OpenGraph product tags, and the CSS selectors of a site profile, which
//! win over structured data. A field the page does not carry stays missing; nothing is
//! invented. Scraped text is hostile: it is trimmed, control characters are removed
//! and every field is length-capped.

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use url::Url;

use super::profile::Fields;
use crate::listing::{Listing, Seller};
use crate::registry::Money;

/// The longest text kept for one field, in characters.
const MAX_FIELD: usize = 4000;
/// The most images kept for one listing.
const MAX_IMAGES: usize = 32;

/// What a page yields: maybe a listing, and its canonical URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// The listing, when the page carries one.
    pub listing: Option<Listing>,
    /// `<link rel=canonical>`, else `og:url`, resolved against the page.
    pub canonical: Option<Url>,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("the built-in selectors are valid")
}

fn clean(s: &str) -> Option<String> {
    let s: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(MAX_FIELD)
        .collect();
    (!s.is_empty()).then_some(s)
}

fn text_of(e: ElementRef<'_>) -> Option<String> {
    clean(&e.text().collect::<String>())
}

/// Parses a displayed price such as `$1,299.00`, `19,90 €` or `89`.
pub fn parse_amount(s: &str) -> Option<f64> {
    let digits: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
        .collect();
    if digits.is_empty() {
        return None;
    }
    // A comma followed by exactly two digits at the end is a decimal comma.
    let normalized = match digits.rfind(',') {
        Some(i) if digits.len() - i == 3 && !digits[i..].contains('.') => {
            digits[..i].replace(['.', ','], "") + "." + &digits[i + 1..]
        }
        _ => digits.replace(',', ""),
    };
    let v: f64 = normalized.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

fn json_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(json_str),
        Value::Object(o) => o.get("name").or_else(|| o.get("@value")).and_then(json_str),
        _ => None,
    }
}

fn json_amount(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite() && *f >= 0.0),
        Value::String(s) => parse_amount(s),
        _ => None,
    }
}

fn is_product(o: &serde_json::Map<String, Value>) -> bool {
    match o.get("@type") {
        Some(Value::String(t)) => t == "Product" || t.ends_with("/Product"),
        Some(Value::Array(a)) => a.iter().any(|t| t.as_str() == Some("Product")),
        _ => false,
    }
}

fn find_products<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| find_products(x, out)),
        Value::Object(o) => {
            if is_product(o) {
                out.push(o);
            } else if let Some(g) = o.get("@graph") {
                find_products(g, out);
            }
        }
        _ => {}
    }
}

fn image_urls(v: &Value, base: &Url, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Ok(u) = base.join(s.trim()) {
                if matches!(u.scheme(), "http" | "https") {
                    out.push(u.to_string());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| image_urls(x, base, out)),
        Value::Object(o) => {
            if let Some(u) = o.get("url").or_else(|| o.get("contentUrl")) {
                image_urls(u, base, out);
            }
        }
        _ => {}
    }
}

fn from_json_ld(p: &serde_json::Map<String, Value>, base: &Url) -> Listing {
    let mut l = Listing {
        id: p
            .get("sku")
            .or_else(|| p.get("productID"))
            .and_then(json_str)
            .unwrap_or_default(),
        title: p.get("name").and_then(json_str).unwrap_or_default(),
        description: p.get("description").and_then(json_str),
        brand: p.get("brand").and_then(json_str),
        category: p.get("category").and_then(json_str),
        url: p
            .get("url")
            .and_then(Value::as_str)
            .and_then(|u| base.join(u).ok())
            .map(|u| u.to_string()),
        ..Listing::default()
    };
    if let Some(img) = p.get("image") {
        image_urls(img, base, &mut l.images);
    }
    let offer = match p.get("offers") {
        Some(Value::Array(a)) => a.first(),
        other => other,
    };
    if let Some(Value::Object(offer)) = offer {
        let amount = offer
            .get("price")
            .or_else(|| offer.get("lowPrice"))
            .and_then(json_amount);
        let currency = offer.get("priceCurrency").and_then(json_str);
        if let (Some(amount), Some(currency)) = (amount, currency) {
            l.price = Some(Money {
                amount,
                currency: currency.to_ascii_uppercase(),
            });
        }
        if let Some(Value::Object(s)) = offer.get("seller") {
            let name = s.get("name").and_then(json_str);
            let url = s
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| base.join(u).ok())
                .map(|u| u.to_string());
            let id = s
                .get("identifier")
                .or_else(|| s.get("@id"))
                .and_then(json_str)
                .or_else(|| url.clone())
                .or_else(|| name.clone());
            if let Some(id) = id {
                l.seller = Some(Seller { id, name, url });
            }
        }
    }
    l
}

fn from_microdata(doc: &Html, base: &Url) -> Option<Listing> {
    let scope = doc.select(&sel("[itemscope][itemtype]")).find(|e| {
        e.value()
            .attr("itemtype")
            .is_some_and(|t| t.trim_end_matches('/').ends_with("schema.org/Product"))
    })?;
    let prop = |name: &str| -> Option<String> {
        let s = Selector::parse(&format!("[itemprop=\"{name}\"]")).ok()?;
        let e = scope.select(&s).next()?;
        let v = e.value();
        v.attr("content")
            .and_then(clean)
            .or_else(|| v.attr("src").or(v.attr("href")).and_then(clean))
            .or_else(|| text_of(e))
    };
    let mut l = Listing {
        id: prop("sku")
            .or_else(|| prop("productID"))
            .unwrap_or_default(),
        title: prop("name").unwrap_or_default(),
        description: prop("description"),
        brand: prop("brand"),
        ..Listing::default()
    };
    if let (Some(a), Some(c)) = (
        prop("price").as_deref().and_then(parse_amount),
        prop("priceCurrency"),
    ) {
        l.price = Some(Money {
            amount: a,
            currency: c.to_ascii_uppercase(),
        });
    }
    if let Some(img) = prop("image") {
        image_urls(&Value::String(img), base, &mut l.images);
    }
    Some(l)
}

fn meta(doc: &Html, property: &str) -> Option<String> {
    let s = Selector::parse(&format!(
        "meta[property=\"{property}\"], meta[name=\"{property}\"]"
    ))
    .ok()?;
    doc.select(&s)
        .find_map(|e| e.value().attr("content").and_then(clean))
}

fn from_open_graph(doc: &Html, base: &Url) -> Option<Listing> {
    let kind = meta(doc, "og:type")?;
    if !kind.to_ascii_lowercase().contains("product") {
        return None;
    }
    let mut l = Listing {
        title: meta(doc, "og:title").unwrap_or_default(),
        description: meta(doc, "og:description"),
        brand: meta(doc, "product:brand"),
        ..Listing::default()
    };
    if let (Some(a), Some(c)) = (
        meta(doc, "product:price:amount")
            .as_deref()
            .and_then(parse_amount),
        meta(doc, "product:price:currency"),
    ) {
        l.price = Some(Money {
            amount: a,
            currency: c.to_ascii_uppercase(),
        });
    }
    if let Some(img) = meta(doc, "og:image") {
        image_urls(&Value::String(img), base, &mut l.images);
    }
    Some(l)
}

/// Fills the gaps of `into` from `from`.
fn merge(into: &mut Listing, from: Listing) {
    if into.id.is_empty() {
        into.id = from.id;
    }
    if into.title.is_empty() {
        into.title = from.title;
    }
    into.url = into.url.take().or(from.url);
    into.description = into.description.take().or(from.description);
    into.brand = into.brand.take().or(from.brand);
    into.category = into.category.take().or(from.category);
    into.price = into.price.take().or(from.price);
    into.seller = match (into.seller.take(), from.seller) {
        (Some(mut a), Some(b)) => {
            if a.id.is_empty() {
                a.id = b.id;
            }
            a.name = a.name.or(b.name);
            a.url = a.url.or(b.url);
            Some(a)
        }
        (a, b) => a.or(b),
    };
    if into.images.is_empty() {
        into.images = from.images;
    }
}

fn structured(doc: &Html, base: &Url) -> Option<Listing> {
    let mut found: Option<Listing> = None;
    for script in doc.select(&sel("script[type=\"application/ld+json\"]")) {
        let text: String = script.text().collect();
        // Malformed JSON-LD is common; such a block is skipped, not fatal.
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            tracing::debug!(url = %base, "skipping malformed JSON-LD");
            continue;
        };
        let mut products = Vec::new();
        find_products(&v, &mut products);
        if let Some(p) = products.first() {
            found = Some(from_json_ld(p, base));
            break;
        }
    }
    for other in [from_microdata(doc, base), from_open_graph(doc, base)]
        .into_iter()
        .flatten()
    {
        match &mut found {
            Some(l) => merge(l, other),
            None => found = Some(other),
        }
    }
    found
}

fn from_selectors(doc: &Html, base: &Url, f: &Fields) -> Listing {
    let first_text = |s: &Option<Selector>| -> Option<String> {
        doc.select(s.as_ref()?).next().and_then(text_of)
    };
    let first_attr = |s: &Option<Selector>, attrs: &[&str]| -> Option<String> {
        let e = doc.select(s.as_ref()?).next()?;
        attrs
            .iter()
            .find_map(|a| e.value().attr(a))
            .and_then(clean)
            .or_else(|| text_of(e))
    };
    let mut l = Listing {
        id: first_attr(&f.id, &["content", "data-id"]).unwrap_or_default(),
        title: first_text(&f.title).unwrap_or_default(),
        description: first_text(&f.description),
        brand: first_text(&f.brand),
        category: first_text(&f.category),
        ..Listing::default()
    };
    let amount = first_attr(&f.price, &["content"])
        .as_deref()
        .and_then(parse_amount);
    let currency = first_attr(&f.currency, &["content"]);
    if let (Some(amount), Some(currency)) = (amount, currency) {
        l.price = Some(Money {
            amount,
            currency: currency.to_ascii_uppercase(),
        });
    }
    let seller_url = f
        .seller_url
        .as_ref()
        .and_then(|s| doc.select(s).next())
        .and_then(|e| e.value().attr("href"))
        .and_then(|h| base.join(h).ok())
        .map(|u| u.to_string());
    let seller_name = first_text(&f.seller_name);
    let seller_id = first_attr(&f.seller_id, &["content", "data-id"]);
    if seller_id.is_some() || seller_name.is_some() || seller_url.is_some() {
        // The id may come from structured data; see `merge` and `extract`.
        l.seller = Some(Seller {
            id: seller_id.unwrap_or_default(),
            name: seller_name,
            url: seller_url,
        });
    }
    if let Some(s) = &f.images {
        for e in doc.select(s) {
            if let Some(src) = e.value().attr("src").or(e.value().attr("href")) {
                image_urls(&Value::String(src.to_owned()), base, &mut l.images);
            }
        }
    }
    l
}

/// Extracts the listing of a page fetched from `base` (its final URL). With
/// `fields` (a site profile's selectors) the page is a listing page and the
/// selectors win over structured data; without, a listing is only found where the
/// page carries Product data.
pub fn extract(html: &str, base: &Url, fields: Option<&Fields>, marketplace: &str) -> Extracted {
    let doc = Html::parse_document(html);
    let canonical = doc
        .select(&sel("link[rel=\"canonical\"]"))
        .find_map(|e| e.value().attr("href"))
        .map(str::to_owned)
        .or_else(|| meta(&doc, "og:url"))
        .and_then(|h| base.join(&h).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let structured = structured(&doc, base);
    let listing = match (fields, structured) {
        (Some(f), s) => {
            let mut l = from_selectors(&doc, base, f);
            if let Some(s) = s {
                merge(&mut l, s);
            }
            Some(l)
        }
        (None, s) => s,
    };
    let listing = listing.and_then(|mut l| {
        if l.title.is_empty() {
            return None;
        }
        let page = canonical.clone().unwrap_or_else(|| base.clone());
        if l.id.is_empty() {
            l.id = page.to_string();
        }
        if l.url.is_none() {
            l.url = Some(page.to_string());
        }
        l.marketplace = Some(marketplace.to_owned());
        if let Some(s) = &mut l.seller {
            if s.id.is_empty() {
                s.id = s.url.clone().or_else(|| s.name.clone()).unwrap_or_default();
            }
        }
        l.seller = l.seller.filter(|s| !s.id.is_empty());
        l.images.dedup();
        l.images.truncate(MAX_IMAGES);
        Some(l)
    });
    Extracted { listing, canonical }
}

/// The `href`s of the elements `selector` picks, resolved against `base`.
pub fn links(html: &str, base: &Url, selector: Option<&Selector>) -> Vec<Url> {
    let doc = Html::parse_document(html);
    let all = sel("a[href]");
    doc.select(selector.unwrap_or(&all))
        .filter_map(|e| e.value().attr("href"))
        .filter_map(|h| super::canon::resolve(base, h))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://shop.example/item/7?x=1").unwrap()
    }

    #[test]
    fn json_ld_product_yields_every_field() {
        let html = r#"<html><head>
          <link rel="canonical" href="/item/7">
          <script type="application/ld+json">{"@context":"https://schema.org",
            "@graph":[{"@type":"WebPage"},{"@type":"Product","sku":"A-7",
            "name":"Z3NTRIX  runner\u0007","description":"fast","brand":{"@type":"Brand","name":"Zentrix"},
            "image":["/img/7.png",{"url":"https://cdn.example/7b.png"}],
            "offers":{"@type":"Offer","price":"19.90","priceCurrency":"usd",
              "seller":{"@type":"Organization","name":"Best Deals","identifier":"best-88","url":"/seller/best-88"}}}]}
          </script></head><body></body></html>"#;
        let e = extract(html, &base(), None, "shop");
        let l = e.listing.unwrap();
        assert_eq!(e.canonical.unwrap().as_str(), "http://shop.example/item/7");
        assert_eq!(l.id, "A-7");
        assert_eq!(l.title, "Z3NTRIX runner");
        assert_eq!(l.brand.as_deref(), Some("Zentrix"));
        assert_eq!(
            l.price,
            Some(Money {
                amount: 19.9,
                currency: "USD".into()
            })
        );
        let s = l.seller.unwrap();
        assert_eq!(s.id, "best-88");
        assert_eq!(s.url.as_deref(), Some("http://shop.example/seller/best-88"));
        assert_eq!(
            l.images,
            [
                "http://shop.example/img/7.png",
                "https://cdn.example/7b.png"
            ]
        );
        assert_eq!(l.marketplace.as_deref(), Some("shop"));
        assert_eq!(l.url.as_deref(), Some("http://shop.example/item/7"));
    }

    #[test]
    fn missing_fields_stay_missing_and_plain_pages_yield_nothing() {
        let html =
            r#"<script type="application/ld+json">{"@type":"Product","name":"Bag"}</script>"#;
        let l = extract(html, &base(), None, "shop").listing.unwrap();
        assert_eq!(l.price, None);
        assert_eq!(l.seller, None);
        assert!(l.images.is_empty());
        assert_eq!(l.id, "http://shop.example/item/7?x=1");
        assert!(extract("<p>hello</p>", &base(), None, "shop")
            .listing
            .is_none());
        // Malformed JSON-LD is skipped, not fatal.
        let bad = r#"<script type="application/ld+json">{"@type":"Product",</script>"#;
        assert!(extract(bad, &base(), None, "shop").listing.is_none());
    }

    #[test]
    fn microdata_and_open_graph() {
        let md = r#"<div itemscope itemtype="https://schema.org/Product">
          <h1 itemprop="name">Velmora bag</h1><span itemprop="price" content="25.00"></span>
          <meta itemprop="priceCurrency" content="EUR"><img itemprop="image" src="b.jpg"></div>"#;
        let l = extract(md, &base(), None, "m").listing.unwrap();
        assert_eq!(l.title, "Velmora bag");
        assert_eq!(l.price.unwrap().amount, 25.0);
        assert_eq!(l.images, ["http://shop.example/item/b.jpg"]);
        let og = r#"<meta property="og:type" content="product"><meta property="og:title" content="Quvo case">
          <meta property="product:price:amount" content="1.299,00"><meta property="product:price:currency" content="EUR">"#;
        let l = extract(og, &base(), None, "m").listing.unwrap();
        assert_eq!(l.title, "Quvo case");
        assert_eq!(l.price.unwrap().amount, 1299.0);
    }

    proptest::proptest! {
        #[test]
        fn hostile_input_never_panics(html in ".{0,400}", price in ".{0,20}") {
            let page = format!(
                "<script type=\"application/ld+json\">{html}</script>{html}\
                 <meta property=\"og:type\" content=\"product\"><meta property=\"og:title\" content=\"{html}\">"
            );
            let _ = extract(&page, &base(), None, "m");
            let _ = links(&page, &base(), None);
            let _ = parse_amount(&price);
        }
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("$1,299.00"), Some(1299.0));
        assert_eq!(parse_amount("19,90 €"), Some(19.9));
        assert_eq!(parse_amount("¥89"), Some(89.0));
        assert_eq!(parse_amount("free"), None);
    }
}
