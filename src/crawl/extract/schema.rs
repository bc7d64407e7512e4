//! schema.org Product data, whichever way a page carries it: JSON-LD blocks, and
//! microdata and RDFa turned into the same JSON shape ([`microdata`], [`rdfa`]), so
//! one reader ([`main_product`]) handles `@graph`, `ProductGroup`/`hasVariant`,
//! `AggregateOffer`, offers as lists, `priceSpecification` and pages with several
//! products.
//!
//! The main product of a page is the one whose `url`/`@id` is the page, else the
//! most complete one at the shallowest nesting. Products reached through
//! `isRelatedTo`, `isSimilarTo`, accessories, reviews or an `ItemList` are other
//! products shown on the page and are never the main one.

use scraper::{ElementRef, Html};
use serde_json::{Map, Value};
use url::Url;

use super::{clean, Found};
use crate::crawl::price;
use crate::listing::Seller;

/// Keys whose products are not the page's own.
const OTHER_PRODUCTS: &[&str] = &[
    "isRelatedTo",
    "isSimilarTo",
    "isAccessoryOrSparePartFor",
    "isConsumableFor",
    "itemListElement",
    "review",
    "reviews",
    "isVariantOf",
    "hasVariant",
    "model",
];

/// The schema.org type names of a node, without their vocabulary prefix.
fn types(o: &Map<String, Value>) -> Vec<&str> {
    fn short(t: &str) -> &str {
        t.rsplit(['/', ':', '#']).next().unwrap_or(t)
    }
    match o.get("@type").or_else(|| o.get("type")) {
        Some(Value::String(t)) => vec![short(t)],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(short).collect(),
        _ => Vec::new(),
    }
}

fn is_product(o: &Map<String, Value>) -> bool {
    let t = types(o);
    t.iter().any(|t| {
        matches!(
            *t,
            "Product"
                | "ProductGroup"
                | "ProductModel"
                | "IndividualProduct"
                | "SomeProducts"
                | "Vehicle"
                | "Car"
                | "Motorcycle"
        )
    }) || (o.contains_key("offers")
        && o.contains_key("name")
        && !t
            .iter()
            .any(|t| matches!(*t, "Offer" | "AggregateOffer" | "Event" | "WebPage")))
}

/// A product node and how deep it was found.
struct Candidate<'a> {
    node: &'a Map<String, Value>,
    depth: usize,
}

fn collect<'a>(v: &'a Value, depth: usize, out: &mut Vec<Candidate<'a>>) {
    if depth > 12 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect(x, depth, out)),
        Value::Object(o) => {
            if is_product(o) {
                out.push(Candidate { node: o, depth });
                return;
            }
            if types(o).contains(&"ItemList") {
                return;
            }
            for (k, x) in o {
                if !OTHER_PRODUCTS.contains(&k.as_str()) && (x.is_object() || x.is_array()) {
                    collect(x, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

/// The text of a JSON value: a string, a number, the first of a list, or the
/// `name`/`@value` of an object.
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(&decode_entities(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(text),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("@value"))
            .or_else(|| o.get("value"))
            .and_then(text),
        _ => None,
    }
}

/// JSON-LD is often written with HTML entities escaped (`&amp;`); the common ones
/// are decoded.
fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return s.into();
    }
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#039;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .into()
}

/// A machine-readable amount: a JSON number, or a string in schema.org's format
/// (`1299.00`, dot as the decimal point), else a displayed price.
pub(super) fn amount(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite() && *f >= 0.0),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty()
                && s.chars().all(|c| c.is_ascii_digit() || c == '.')
                && s.matches('.').count() <= 1
            {
                s.parse::<f64>().ok().filter(|f| f.is_finite())
            } else {
                price::parse_price(s, None, None).amount
            }
        }
        Value::Array(a) => a.iter().find_map(amount),
        Value::Object(o) => o.get("value").or_else(|| o.get("@value")).and_then(amount),
        _ => None,
    }
}

pub(super) fn image_urls(v: &Value, base: &Url, out: &mut Vec<String>) {
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
            if let Some(u) = o
                .get("url")
                .or_else(|| o.get("contentUrl"))
                .or_else(|| o.get("@id"))
            {
                image_urls(u, base, out);
            }
        }
        _ => {}
    }
}

fn same_page(v: Option<&Value>, page: &[Url], base: &Url) -> bool {
    let Some(u) = v.and_then(Value::as_str) else {
        return false;
    };
    let Ok(u) = base.join(u.trim()) else {
        return false;
    };
    page.iter().any(|p| {
        p.host_str() == u.host_str()
            && p.path().trim_end_matches('/') == u.path().trim_end_matches('/')
    })
}

/// A price and its currency from one offer, price specification or list of them.
fn offer_price(v: &Value, page: &[Url], base: &Url, depth: usize) -> Option<(f64, Option<String>)> {
    if depth > 6 {
        return None;
    }
    match v {
        Value::Array(a) => {
            // The offer of this page's URL, else the first with a price.
            a.iter()
                .filter(|o| same_page(o.get("url"), page, base))
                .chain(a.iter())
                .find_map(|o| offer_price(o, page, base, depth + 1))
        }
        Value::Object(o) => {
            let currency = o.get("priceCurrency").and_then(text);
            let t = types(o);
            let direct = if t.contains(&"AggregateOffer") {
                o.get("lowPrice")
                    .or_else(|| o.get("price"))
                    .and_then(amount)
            } else {
                o.get("price").and_then(amount)
            };
            if let Some(a) = direct {
                return Some((a, currency));
            }
            if let Some(spec) = o.get("priceSpecification") {
                if let Some((a, c)) = spec_price(spec) {
                    return Some((a, c.or(currency)));
                }
            }
            if let Some(inner) = o.get("offers") {
                if let Some((a, c)) = offer_price(inner, page, base, depth + 1) {
                    return Some((a, c.or(currency)));
                }
            }
            None
        }
        _ => None,
    }
}

/// The selling price of a `priceSpecification` (one or a list); list and
/// strike-through prices are skipped.
fn spec_price(v: &Value) -> Option<(f64, Option<String>)> {
    match v {
        Value::Array(a) => {
            let selling = |s: &&Value| {
                s.get("priceType").and_then(Value::as_str).is_none_or(|t| {
                    !(t.contains("ListPrice") || t.contains("Strikethrough") || t.contains("MSRP"))
                })
            };
            a.iter()
                .filter(selling)
                .chain(a.iter())
                .find_map(spec_price)
        }
        Value::Object(o) => {
            let a = o
                .get("price")
                .or_else(|| o.get("minPrice"))
                .and_then(amount)?;
            Some((a, o.get("priceCurrency").and_then(text)))
        }
        _ => None,
    }
}

fn seller(v: &Value, base: &Url) -> Option<Seller> {
    match v {
        Value::Array(a) => a.iter().find_map(|x| seller(x, base)),
        Value::Object(o) => {
            let name = o.get("name").and_then(text);
            let url = o
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| base.join(u.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| u.to_string());
            let id = o
                .get("identifier")
                .or_else(|| o.get("@id"))
                .and_then(text)
                .or_else(|| url.clone())
                .or_else(|| name.clone())?;
            Some(Seller { id, name, url })
        }
        Value::String(s) => clean(s).map(|name| Seller {
            id: name.clone(),
            name: Some(name),
            url: None,
        }),
        _ => None,
    }
}

fn offers_seller(v: &Value, base: &Url) -> Option<Seller> {
    match v {
        Value::Array(a) => a.iter().find_map(|x| offers_seller(x, base)),
        Value::Object(o) => o.get("seller").and_then(|s| seller(s, base)),
        _ => None,
    }
}

/// Reads one product node.
fn read(p: &Map<String, Value>, page: &[Url], base: &Url) -> Found {
    let mut f = Found {
        id: [
            "sku",
            "productID",
            "mpn",
            "gtin13",
            "gtin",
            "gtin14",
            "gtin12",
            "gtin8",
        ]
        .iter()
        .find_map(|k| p.get(*k).and_then(text)),
        title: p.get("name").and_then(text),
        description: p.get("description").and_then(text),
        brand: p
            .get("brand")
            .or_else(|| p.get("manufacturer"))
            .and_then(text),
        category: p.get("category").and_then(|c| match c {
            Value::Array(a) => a.iter().rev().find_map(text),
            c => text(c),
        }),
        url: p
            .get("url")
            .and_then(Value::as_str)
            .and_then(|u| base.join(u.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.to_string()),
        ..Found::default()
    };
    if let Some(img) = p.get("image") {
        image_urls(img, base, &mut f.images);
    }
    if let Some(offers) = p.get("offers") {
        if let Some((a, c)) = offer_price(offers, page, base, 0) {
            f.price = Some(a);
            f.currency = c;
        }
        f.seller = offers_seller(offers, base);
    }
    // Sloppy but common: the price written on the product itself.
    if f.price.is_none() {
        if let Some(a) = p.get("price").and_then(amount) {
            f.price = Some(a);
            f.currency = p.get("priceCurrency").and_then(text);
        }
    }
    if let Some(variants) = p.get("hasVariant") {
        let list: Vec<&Map<String, Value>> = match variants {
            Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
            Value::Object(o) => vec![o],
            _ => Vec::new(),
        };
        // The variant of this URL, by its url or its sku in the URL; else the first.
        let query = page
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let chosen = list
            .iter()
            .find(|v| same_page(v.get("url"), page, base))
            .or_else(|| {
                list.iter().find(|v| {
                    v.get("sku")
                        .and_then(text)
                        .is_some_and(|s| s.len() >= 4 && query.contains(&s))
                })
            })
            .or_else(|| list.iter().find(|v| v.get("offers").is_some()));
        if let Some(v) = chosen {
            let vf = read(v, page, base);
            if f.price.is_none() {
                f.price = vf.price;
                f.currency = vf.currency;
            }
            f.id = f.id.or(vf.id);
            f.brand = f.brand.or(vf.brand);
            f.title = f.title.or(vf.title);
            f.seller = f.seller.or(vf.seller);
            if f.images.is_empty() {
                f.images = vf.images;
            }
        }
    }
    f
}

/// How complete a product node is, to choose the main one.
fn weight(c: &Candidate<'_>, page: &[Url], base: &Url) -> i64 {
    let o = c.node;
    let mut w = 0;
    if same_page(o.get("url"), page, base) || same_page(o.get("@id"), page, base) {
        w += 8;
    }
    if o.contains_key("offers") || o.contains_key("hasVariant") {
        w += 4;
    }
    for k in ["name", "brand", "image", "sku", "description"] {
        w += i64::from(o.contains_key(k));
    }
    w - 2 * c.depth as i64
}

/// The main product of some schema.org JSON values (`page` are the page's URL and
/// canonical URL).
pub(super) fn main_product(values: &[Value], page: &[Url], base: &Url) -> Option<Found> {
    let mut cands = Vec::new();
    for v in values {
        collect(v, 0, &mut cands);
    }
    let best = cands
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (weight(c, page, base), -(*i as i64)))?
        .1;
    Some(read(best.node, page, base))
}

static JSON_LD: std::sync::LazyLock<scraper::Selector> =
    std::sync::LazyLock::new(|| super::sel("script[type=\"application/ld+json\"]"));

/// The JSON-LD blocks of a page; malformed ones are skipped, not fatal. A block
/// is also tried with its control characters removed (raw newlines inside strings
/// are a common error).
pub(super) fn json_ld(scan: &super::Scan<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for script in scan.scripts.iter().filter(|e| JSON_LD.matches(e)) {
        let raw = super::text_cow(*script);
        let raw = raw
            .trim()
            .trim_start_matches("<!--")
            .trim_end_matches("-->");
        match serde_json::from_str::<Value>(raw) {
            Ok(v) => out.push(v),
            Err(_) => {
                let fixed: String = raw
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                if let Ok(v) = serde_json::from_str::<Value>(&fixed) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// The value of a microdata property element, per the HTML standard (and the
/// common `content` attribute on any element).
fn prop_value(e: ElementRef<'_>) -> Value {
    let v = e.value();
    if let Some(c) = v.attr("content") {
        return Value::String(c.to_owned());
    }
    let attr = match v.name() {
        "meta" => Some("content"),
        "audio" | "embed" | "iframe" | "img" | "source" | "track" | "video" => Some("src"),
        "a" | "area" | "link" => Some("href"),
        "object" => Some("data"),
        "data" | "meter" => Some("value"),
        "time" => Some("datetime"),
        _ => None,
    };
    if let Some(s) = attr.and_then(|a| v.attr(a)) {
        return Value::String(s.to_owned());
    }
    Value::String(e.text().collect::<String>())
}

fn add_prop(item: &mut Map<String, Value>, name: &str, value: Value) {
    match item.get_mut(name) {
        None => {
            item.insert(name.to_owned(), value);
        }
        Some(Value::Array(a)) => a.push(value),
        Some(old) => {
            let first = old.take();
            *old = Value::Array(vec![first, value]);
        }
    }
}

/// Walks the tree gathering items: `scope_attr`/`type_attr`/`prop_attr` name the
/// syntax (`itemscope`/`itemtype`/`itemprop`, or RDFa's `typeof`/`typeof`/`property`).
fn walk(
    e: ElementRef<'_>,
    item: Option<&mut Map<String, Value>>,
    syntax: &Syntax,
    top: &mut Vec<Value>,
    depth: usize,
) {
    if depth > 200 {
        return;
    }
    let v = e.value();
    let opens = syntax.opens(e);
    let props: Vec<String> = v
        .attr(syntax.prop)
        .map(|p| {
            p.split_whitespace()
                .filter_map(|p| syntax.prop_name(p))
                .collect()
        })
        .unwrap_or_default();
    if opens {
        let mut new = Map::new();
        if let Some(t) = v.attr(syntax.type_attr) {
            let t: Vec<Value> = t
                .split_whitespace()
                .map(|t| Value::String(t.to_owned()))
                .collect();
            new.insert("@type".into(), Value::Array(t));
        }
        for c in e.children().filter_map(ElementRef::wrap) {
            walk(c, Some(&mut new), syntax, top, depth + 1);
        }
        let value = Value::Object(new);
        match item {
            Some(parent) if !props.is_empty() => {
                for p in &props {
                    add_prop(parent, p, value.clone());
                }
            }
            _ => top.push(value),
        }
        return;
    }
    let mut item = item;
    if let Some(parent) = item.as_deref_mut() {
        if !props.is_empty() {
            let value = prop_value(e);
            for p in &props {
                add_prop(parent, p, value.clone());
            }
        }
    }
    for c in e.children().filter_map(ElementRef::wrap) {
        walk(c, item.as_deref_mut(), syntax, top, depth + 1);
    }
}

struct Syntax {
    scope: &'static str,
    type_attr: &'static str,
    prop: &'static str,
    rdfa: bool,
}

impl Syntax {
    fn opens(&self, e: ElementRef<'_>) -> bool {
        e.value().attr(self.scope).is_some()
    }

    /// The property name without a vocabulary prefix; RDFa properties of other
    /// vocabularies (`og:`) are not schema.org's.
    fn prop_name(&self, p: &str) -> Option<String> {
        if !self.rdfa {
            return Some(p.rsplit('/').next().unwrap_or(p).to_owned());
        }
        if let Some(rest) = p.strip_prefix("schema:") {
            return Some(rest.to_owned());
        }
        if p.contains("schema.org/") {
            return p.rsplit('/').next().map(str::to_owned);
        }
        (!p.contains(':')).then(|| p.to_owned())
    }
}

/// The page's microdata items as JSON.
pub(super) fn microdata(doc: &Html) -> Vec<Value> {
    items(
        doc,
        &Syntax {
            scope: "itemscope",
            type_attr: "itemtype",
            prop: "itemprop",
            rdfa: false,
        },
    )
}

/// The page's RDFa (Lite) items as JSON.
pub(super) fn rdfa(doc: &Html) -> Vec<Value> {
    items(
        doc,
        &Syntax {
            scope: "typeof",
            type_attr: "typeof",
            prop: "property",
            rdfa: true,
        },
    )
}

fn items(doc: &Html, syntax: &Syntax) -> Vec<Value> {
    let mut top = Vec::new();
    walk(doc.root_element(), None, syntax, &mut top, 0);
    top
}
