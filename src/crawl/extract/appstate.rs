//! Products in a page's embedded application state: the JSON that script-built
//! shops ship for their front end to render from. Read here:
//!
//! - `<script id="__NEXT_DATA__">` (Next.js) and other `application/json` scripts
//!   (Shopify's `data-product-json`, `ProductJson-*`);
//! - assignments `window.__INITIAL_STATE__ = {...}`, `__PRELOADED_STATE__`,
//!   `__NUXT__` (when it is plain JSON, not a function), `__APOLLO_STATE__`,
//!   Shopify's `var meta = {...}`;
//! - `dataLayer` pushes with an `ecommerce` object (Google Analytics' enhanced
//!   ecommerce `detail.products` and GA4 `items`).
//!
//! In that JSON a product is an object with a name and a price under the key names
//! the common front-end frameworks, Shopify and Google Analytics use (listed in
//! `NAME_KEYS`, `PRICE_KEYS`, `BRAND_KEYS`); the one whose name is closest to the
//! page's title wins. Shopify product JSON (an object with `variants` and
//! `vendor`) gives prices in cents.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde_json::{Map, Value};
use url::Url;

use super::schema::{amount, image_urls, text};
use super::Found;

const NAME_KEYS: &[&str] = &["name", "title", "productName", "product_name", "item_name"];
const PRICE_KEYS: &[&str] = &[
    "price",
    "salePrice",
    "sale_price",
    "finalPrice",
    "final_price",
    "currentPrice",
    "current_price",
    "sellingPrice",
    "priceValue",
    "price_amount",
    "offerPrice",
];
const BRAND_KEYS: &[&str] = &[
    "brand",
    "brandName",
    "brand_name",
    "item_brand",
    "vendor",
    "manufacturer",
];
const CURRENCY_KEYS: &[&str] = &["currency", "currencyCode", "priceCurrency", "currency_code"];
const ID_KEYS: &[&str] = &["sku", "id", "productId", "product_id", "item_id"];
const IMAGE_KEYS: &[&str] = &["image", "imageUrl", "image_url", "featured_image", "images"];

/// Names of global variables holding application state.
const STATE_VARS: &[&str] = &[
    "__INITIAL_STATE__",
    "__PRELOADED_STATE__",
    "__NUXT__",
    "__APOLLO_STATE__",
    "__STATE__",
    "__APP_STATE__",
    "__data",
    "var meta",
];

/// The JSON values that follow `marker` and `=` or `(` in `script`.
fn values_after(script: &str, marker: &str, out: &mut Vec<Value>) {
    let mut from = 0;
    while let Some(i) = script[from..].find(marker) {
        let at = from + i + marker.len();
        from = at;
        let rest = script[at..].trim_start();
        let rest = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(".push("))
            .or_else(|| rest.strip_prefix('('))
            .unwrap_or(rest)
            .trim_start();
        let rest = rest
            .strip_prefix("JSON.parse(")
            .map_or(rest, str::trim_start);
        if rest.starts_with('{') || rest.starts_with('[') {
            let mut it = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            if let Some(Ok(v)) = it.next() {
                out.push(v);
            }
        } else if rest.starts_with('"') || rest.starts_with('\'') {
            // JSON.parse("...") of an escaped JSON string.
            let mut it = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            if let Some(Ok(s)) = it.next() {
                if let Ok(v) = serde_json::from_str::<Value>(&s) {
                    out.push(v);
                }
            }
        }
        if out.len() > 64 {
            return;
        }
    }
}

/// [`STATE_VARS`] and `ecommerce`, found in one pass over a script: most scripts
/// of a page hold none of them and are not searched name by name.
static MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new(STATE_VARS.iter().chain(&["ecommerce"])).expect("valid patterns")
});

/// The application state of a page, as JSON values.
pub(super) fn states(scan: &super::Scan<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for &script in &scan.scripts {
        let ty = script.value().attr("type").unwrap_or("");
        let json = ty.contains("json") && !ty.contains("ld+json");
        if !(json || ty.is_empty() || ty.contains("javascript")) {
            continue;
        }
        let text = super::text_cow(script);
        if json {
            if let Ok(v) = serde_json::from_str::<Value>(text.trim()) {
                out.push(v);
            }
            continue;
        }
        if !MARKERS.is_match(text.as_ref()) {
            continue;
        }
        for var in STATE_VARS {
            if text.contains(var) {
                values_after(&text, var, &mut out);
            }
        }
        if text.contains("ecommerce") {
            values_after(&text, "dataLayer", &mut out);
        }
    }
    out
}

fn get<'a>(o: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| o.get(*k).filter(|v| !v.is_null()))
}

fn is_shopify(o: &Map<String, Value>) -> bool {
    o.contains_key("variants") && (o.contains_key("vendor") || o.contains_key("handle"))
}

/// A product-like object: a name and a price.
fn as_product(
    o: &Map<String, Value>,
    inherited_currency: Option<&str>,
    base: &Url,
) -> Option<Found> {
    let title = get(o, NAME_KEYS).and_then(text)?;
    let shopify = is_shopify(o);
    let mut price = get(o, PRICE_KEYS).and_then(|v| match v {
        Value::Object(p) => {
            get(p, &["value", "amount", "current", "raw", "final"]).and_then(amount)
        }
        v => amount(v),
    });
    if price.is_none() && shopify {
        price = o
            .get("variants")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find_map(|v| v.get("price").and_then(amount)));
    }
    let mut price = price?;
    if shopify && o.get("price").is_none_or(Value::is_number) {
        price /= 100.0;
    }
    let currency = get(o, CURRENCY_KEYS)
        .and_then(text)
        .or_else(|| {
            get(o, PRICE_KEYS)
                .and_then(Value::as_object)
                .and_then(|p| get(p, CURRENCY_KEYS))
                .and_then(text)
        })
        .or_else(|| inherited_currency.map(str::to_owned));
    let mut f = Found {
        title: Some(title),
        price: Some(price),
        currency,
        brand: get(o, BRAND_KEYS).and_then(text),
        id: get(o, ID_KEYS).and_then(text),
        ..Found::default()
    };
    if let Some(img) = get(o, IMAGE_KEYS) {
        image_urls(img, base, &mut f.images);
        f.images.truncate(8);
    }
    Some(f)
}

fn collect(
    v: &Value,
    currency: Option<&str>,
    depth: usize,
    base: &Url,
    out: &mut Vec<(Found, usize)>,
) {
    if depth > 24 || out.len() > 500 {
        return;
    }
    match v {
        Value::Array(a) => a
            .iter()
            .take(200)
            .for_each(|x| collect(x, currency, depth + 1, base, out)),
        Value::Object(o) => {
            let own = get(o, CURRENCY_KEYS).and_then(Value::as_str);
            let currency = own.or(currency);
            if let Some(f) = as_product(o, currency, base) {
                out.push((f, depth));
            }
            for x in o.values() {
                if x.is_object() || x.is_array() {
                    collect(x, currency, depth + 1, base, out);
                }
            }
        }
        _ => {}
    }
}

/// Lower-cased word set, for comparing names.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How much of `name`'s words are in `title` (0 to 1).
pub(super) fn overlap(name: &str, title: &str) -> f64 {
    let n = words(name);
    if n.is_empty() {
        return 0.0;
    }
    let t = words(title);
    n.iter().filter(|w| t.contains(w)).count() as f64 / n.len() as f64
}

/// The product of the page's application state whose name best matches the page
/// title (`hint`), with that match (0 to 1).
pub(super) fn product(states: &[Value], hint: Option<&str>, base: &Url) -> Option<(Found, f64)> {
    let mut all = Vec::new();
    for v in states {
        collect(v, None, 0, base, &mut all);
    }
    let score = |f: &Found| -> f64 {
        let name = f.title.as_deref().unwrap_or("");
        hint.map_or(0.5, |h| overlap(name, h))
    };
    all.into_iter()
        .map(|(f, depth)| {
            let s = score(&f);
            (f, s, depth)
        })
        .filter(|(_, s, _)| *s >= 0.5)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)))
        .map(|(f, s, _)| (f, s))
}
