//! Listing extraction from an HTML page: a pure function of the page and its URL.
//!
//! Each field is taken from the most trustworthy source that has it, and the
//! source and a confidence are reported beside the listing ([`FieldSource`]):
//!
//! | source | confidence | what |
//! | --- | --- | --- |
//! | `profile` | 1.0 | the CSS selectors of a site profile |
//! | `json-ld` | 0.95 | schema.org JSON-LD ([`schema`]) |
//! | `microdata` | 0.9 | schema.org microdata |
//! | `rdfa` | 0.85 | schema.org RDFa |
//! | `opengraph` | 0.8 | `og:` and `product:` meta tags |
//! | `app-state` | 0.6 to 0.8 | embedded application state ([`appstate`]), by how well its name matches the page's title |
//! | `dom` | 0.2 to 0.8 | document heuristics ([`dom`]), by how many signals agree |
//!
//! The confidences only order the sources: the page's own declarations beat
//! guesses from its layout. Two exceptions for the price, where the layout
//! settles what the declarations leave open: a declared price the page shows
//! struck through beside another is stale, and when two declarations disagree
//! (an auction's JSON-LD offer left at the starting price, its OpenGraph price
//! at the current bid) the one the page shows as its main price is taken. A
//! price's currency comes from the same source as its amount, else from the
//! price written on the page, else from the page's country (language region or
//! country domain), at confidence 0.3.
//!
//! A page yields a listing when it declares a product (markup or application
//! state with a name and a price), or, in plain mode, when the heuristics find a
//! title and a main price with a currency on a page that has a buy control or says
//! `og:type=product`. With a site profile every listing page yields a listing, and
//! fields missing from the selectors come from markup and application state only.
//!
//! Scraped text is hostile: it is trimmed, control characters are removed and every
//! field is length-capped. A field the page does not carry stays missing.

mod appstate;
mod dom;
mod schema;
mod tax;

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::price::{self, currency_code};
use super::profile::Fields;
use crate::listing::{Listing, Seller};
use crate::registry::Money;

/// The longest text kept for one field, in characters.
const MAX_FIELD: usize = 4000;
/// The most images kept for one listing.
const MAX_IMAGES: usize = 32;
/// The lowest confidence of a heuristic main price for a page without markup to
/// count as a listing (a price with a currency sign next to the title or the buy
/// control reaches it; a lone number far from both does not).
pub const MIN_DOM_PRICE_CONFIDENCE: f32 = 0.4;

pub use crate::listing::{FieldSource, Source};

/// What a page yields: maybe a listing, its canonical URL, and where each field of
/// the listing came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// The listing, when the page carries one.
    pub listing: Option<Listing>,
    /// `<link rel=canonical>`, else `og:url`, resolved against the page.
    pub canonical: Option<Url>,
    /// The source of each field of the listing (empty without a listing).
    pub sources: Vec<FieldSource>,
    /// A price amount found without any currency (not stored: a stored price
    /// needs one).
    pub amount_without_currency: Option<f64>,
}

/// A product as one source sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Found {
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub price: Option<f64>,
    /// As written (`€`, `EUR`, `eur`); resolved to ISO 4217 when assembled.
    pub currency: Option<String>,
    pub images: Vec<String>,
    pub seller: Option<Seller>,
    pub url: Option<String>,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("the built-in selectors are valid")
}

/// The selectors looked up on every page, compiled once.
static CANONICAL: LazyLock<Selector> = LazyLock::new(|| sel("link[rel=\"canonical\"]"));
static IMAGE_SRC: LazyLock<Selector> = LazyLock::new(|| sel("link[rel=image_src]"));
static A_HREF: LazyLock<Selector> = LazyLock::new(|| sel("a[href]"));
static ITEMPROP_BRAND: LazyLock<Selector> = LazyLock::new(|| sel("[itemprop=brand]"));

/// The elements the extraction looks up all over a page, found in one pass over
/// the page's elements instead of one selector scan each. The pass visits them in
/// the order `Html::select` does (the order the parser created them), so that the
/// first match of each is the one a selector scan would find; the selectors with
/// attribute conditions are still matched by their `Selector`, on the elements of
/// their tag only.
pub(crate) struct Scan<'a> {
    /// `href` of the first `link[rel="canonical"]` that has one.
    canonical: Option<&'a str>,
    /// `href` of the first `link[rel=image_src]` that has one.
    image_src: Option<&'a str>,
    /// Every `<script>`.
    pub scripts: Vec<ElementRef<'a>>,
    /// The first `<title>`.
    pub title: Option<ElementRef<'a>>,
    /// Every `<h1>`.
    pub h1s: Vec<ElementRef<'a>>,
    /// Every `<h2>`.
    pub h2s: Vec<ElementRef<'a>>,
    /// The first `<body>`.
    pub body: Option<ElementRef<'a>>,
    /// The first `[itemprop=brand]`.
    pub itemprop_brand: Option<ElementRef<'a>>,
}

impl<'a> Scan<'a> {
    pub(crate) fn of(doc: &'a Html) -> Scan<'a> {
        let mut s = Scan {
            canonical: None,
            image_src: None,
            scripts: Vec::new(),
            title: None,
            h1s: Vec::new(),
            h2s: Vec::new(),
            body: None,
            itemprop_brand: None,
        };
        for node in doc.tree.nodes() {
            let Some(e) = ElementRef::wrap(node) else {
                continue;
            };
            let v = e.value();
            match v.name() {
                "link" => {
                    if s.canonical.is_none() && CANONICAL.matches(&e) {
                        s.canonical = v.attr("href");
                    }
                    if s.image_src.is_none() && IMAGE_SRC.matches(&e) {
                        s.image_src = v.attr("href");
                    }
                }
                "script" => s.scripts.push(e),
                "title" if s.title.is_none() => s.title = Some(e),
                "h1" => s.h1s.push(e),
                "h2" => s.h2s.push(e),
                "body" if s.body.is_none() => s.body = Some(e),
                _ => {}
            }
            if s.itemprop_brand.is_none()
                && v.attrs().any(|(n, _)| n == "itemprop")
                && ITEMPROP_BRAND.matches(&e)
            {
                s.itemprop_brand = Some(e);
            }
        }
        s
    }
}

/// The words of `s` joined by single spaces, without control and bidi characters,
/// at most [`MAX_FIELD`] characters; `None` when nothing (or a placeholder) is
/// left. One pass, no intermediate strings: it runs on every short text of a page.
fn clean(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len().min(MAX_FIELD));
    let mut n = 0;
    'words: for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            if n == MAX_FIELD {
                break;
            }
            out.push(' ');
            n += 1;
        }
        for c in word.chars() {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                continue;
            }
            if n == MAX_FIELD {
                break 'words;
            }
            out.push(c);
            n += 1;
        }
    }
    (!out.is_empty() && !is_placeholder(&out)).then_some(out)
}

/// True for unrendered template variables (`$metabrand`, `{{ brand }}`,
/// `${name}`, `%s`), which some pages ship in place of a value.
fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    let variable = t.strip_prefix('$').is_some_and(|v| {
        v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    variable
        || t.contains("{{")
        || t.contains("${")
        || t == "%s"
        || t.eq_ignore_ascii_case("undefined")
        || t.eq_ignore_ascii_case("null")
}

/// The text of `e`, borrowed when it is one text node (a script's usually is).
fn text_cow<'a>(e: ElementRef<'a>) -> std::borrow::Cow<'a, str> {
    let mut it = e.text();
    match (it.next(), it.next()) {
        (None, _) => "".into(),
        (Some(a), None) => a.into(),
        (Some(a), Some(b)) => {
            let mut s = String::from(a);
            s.push_str(b);
            s.extend(it);
            s.into()
        }
    }
}

fn text_of(e: ElementRef<'_>) -> Option<String> {
    clean(&e.text().collect::<String>())
}

/// Parses a displayed price such as `$1,299.00`, `19,90 €` or `89` (see
/// [`price::parse_price`]).
pub fn parse_amount(s: &str) -> Option<f64> {
    price::parse_price(s, None, None).amount
}

/// The `<meta>` tags of a page, `property` or `name` with `content`, in document
/// order: read once per page, looked up by [`meta`].
pub(crate) struct Metas(Vec<(String, String)>);

impl Metas {
    pub(crate) fn of(doc: &Html) -> Metas {
        let mut out = Vec::new();
        for e in doc
            .root_element()
            .descendants()
            .filter_map(ElementRef::wrap)
        {
            let v = e.value();
            if v.name() != "meta" {
                continue;
            }
            let Some(content) = v.attr("content") else {
                continue;
            };
            for key in [v.attr("property"), v.attr("name")].into_iter().flatten() {
                out.push((key.to_owned(), content.to_owned()));
            }
        }
        Metas(out)
    }
}

/// The first usable `content` of `<meta property=…>` or `<meta name=…>`.
fn meta(metas: &Metas, property: &str) -> Option<String> {
    metas
        .0
        .iter()
        .filter(|(k, _)| k == property)
        .find_map(|(_, c)| clean(c))
}

fn image_url(s: &str, base: &Url) -> Option<String> {
    base.join(s.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.to_string())
}

/// OpenGraph product tags; the title and description only on `og:type=product`.
fn open_graph(metas: &Metas, base: &Url) -> Option<Found> {
    let product =
        meta(metas, "og:type").is_some_and(|t| t.to_ascii_lowercase().contains("product"));
    let amount = [
        "product:price:amount",
        "og:price:amount",
        "product:sale_price:amount",
    ]
    .iter()
    .find_map(|m| meta(metas, m))
    .and_then(|a| schema::amount(&serde_json::Value::String(a)));
    if !product && amount.is_none() {
        return None;
    }
    let currency = ["product:price:currency", "og:price:currency"]
        .iter()
        .find_map(|m| meta(metas, m));
    let mut f = Found {
        title: product.then(|| meta(metas, "og:title")).flatten(),
        description: product.then(|| meta(metas, "og:description")).flatten(),
        brand: meta(metas, "product:brand").or_else(|| meta(metas, "og:brand")),
        price: amount,
        currency,
        ..Found::default()
    };
    if let Some(img) = meta(metas, "og:image") {
        f.images.extend(image_url(&img, base));
    }
    Some(f)
}

fn from_selectors(doc: &Html, base: &Url, f: &Fields) -> Found {
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
    let price_text = first_attr(&f.price, &["content"]);
    let parsed = price_text
        .as_deref()
        .map(|t| price::parse_price(t, None, None));
    let mut out = Found {
        id: first_attr(&f.id, &["content", "data-id"]),
        title: first_text(&f.title),
        description: first_text(&f.description),
        brand: first_text(&f.brand),
        category: first_text(&f.category),
        price: parsed.as_ref().and_then(|p| p.amount),
        currency: first_attr(&f.currency, &["content"]).or_else(|| parsed.and_then(|p| p.currency)),
        ..Found::default()
    };
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
        // The id may come from structured data; see `extract`.
        out.seller = Some(Seller {
            id: seller_id.unwrap_or_default(),
            name: seller_name,
            url: seller_url,
        });
    }
    if let Some(s) = &f.images {
        for e in doc.select(s) {
            if let Some(src) = e.value().attr("src").or(e.value().attr("href")) {
                out.images.extend(image_url(src, base));
            }
        }
    }
    out
}

/// Builds a listing from the sources, field by field, best source first.
struct Assembly {
    sources: Vec<FieldSource>,
}

impl Assembly {
    fn pick<T: Clone>(
        &mut self,
        field: &str,
        cands: &[(Source, f32, &Found)],
        get: impl Fn(&Found) -> Option<T>,
    ) -> Option<T> {
        let (s, c, v) = cands
            .iter()
            .filter_map(|(s, c, f)| get(f).map(|v| (*s, *c, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        self.note(field, s, c);
        Some(v)
    }

    fn note(&mut self, field: &str, source: Source, confidence: f32) {
        self.sources.push(FieldSource {
            field: field.to_owned(),
            source,
            confidence,
        });
    }
}

/// Extracts the listing of a page fetched from `base` (its final URL). With
/// `fields` (a site profile's selectors) the page is a listing page and the
/// selectors win; without, a listing is found where the page declares a product or
/// the heuristics find one (see the module documentation).
pub fn extract(html: &str, base: &Url, fields: Option<&Fields>, marketplace: &str) -> Extracted {
    Page::parse(html).extract(base, fields, marketplace)
}

/// A page parsed once, for [`Page::extract`] and any number of [`Page::links`]
/// (the crawler reads the listing and the links of a page from one parse).
pub struct Page<'h> {
    html: &'h str,
    doc: Html,
}

impl<'h> Page<'h> {
    /// Parses `html` (html5ever, through scraper).
    pub fn parse(html: &'h str) -> Page<'h> {
        Page {
            html,
            doc: Html::parse_document(html),
        }
    }

    /// [`extract`] on this page.
    pub fn extract(&self, base: &Url, fields: Option<&Fields>, marketplace: &str) -> Extracted {
        extract_parsed(self.html, &self.doc, base, fields, marketplace)
    }

    /// [`links`] on this page.
    pub fn links(&self, base: &Url, selector: Option<&Selector>) -> Vec<Url> {
        self.doc
            .select(selector.unwrap_or(&A_HREF))
            .filter_map(|e| e.value().attr("href"))
            .filter_map(|h| super::canon::resolve(base, h))
            .collect()
    }
}

/// Two amounts are the same price when they differ by less than half a cent.
fn same_amount(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}

fn extract_parsed(
    html: &str,
    doc: &Html,
    base: &Url,
    fields: Option<&Fields>,
    marketplace: &str,
) -> Extracted {
    let scan = Scan::of(doc);
    let metas = Metas::of(doc);
    let canonical = scan
        .canonical
        .map(str::to_owned)
        .or_else(|| meta(&metas, "og:url"))
        .and_then(|h| base.join(&h).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let page: Vec<Url> = std::iter::once(base.clone())
        .chain(canonical.clone())
        .collect();
    let ctx = dom::currency_context(doc, base);

    let mut found: Vec<(Source, f32, Found)> = Vec::new();
    if let Some(f) = fields {
        found.push((Source::Profile, 1.0, from_selectors(doc, base, f)));
    }
    if let Some(f) = schema::main_product(&schema::json_ld(&scan), &page, base) {
        found.push((Source::JsonLd, 0.95, f));
    }
    if html.contains("itemscope") {
        if let Some(f) = schema::main_product(&schema::microdata(doc), &page, base) {
            found.push((Source::Microdata, 0.9, f));
        }
    }
    // `typeof` alone is in most scripts; the RDFa attribute has a value.
    if html.contains("typeof=\"") || html.contains("typeof='") {
        if let Some(f) = schema::main_product(&schema::rdfa(doc), &page, base) {
            found.push((Source::Rdfa, 0.85, f));
        }
    }
    if let Some(f) = open_graph(&metas, base) {
        found.push((Source::Opengraph, 0.8, f));
    }
    let declared = found
        .iter()
        .any(|(s, _, f)| *s != Source::Profile && f.title.is_some());
    let dom_title = dom::title(&scan, &metas, base);
    let title_hint = found
        .iter()
        .find_map(|(_, _, f)| f.title.clone())
        .or_else(|| dom_title.as_ref().map(|(t, _)| t.clone()));
    let states = appstate::states(&scan);
    let from_state = appstate::product(&states, title_hint.as_deref(), base);
    let state_product = from_state.is_some();
    if let Some((f, m)) = from_state {
        found.push((Source::AppState, 0.6 + 0.2 * m as f32, f));
    }
    let d = dom::analyse(
        doc,
        &scan,
        &metas,
        dom_title.as_ref().map(|(t, _)| t.as_str()),
    );
    let og_product =
        meta(&metas, "og:type").is_some_and(|t| t.to_ascii_lowercase().contains("product"));
    let dom_listing = dom_title.is_some()
        && d.price
            .as_ref()
            .is_some_and(|p| p.currency.is_some() && p.confidence >= MIN_DOM_PRICE_CONFIDENCE)
        && (d.buy_control || og_product);
    if fields.is_none() {
        let mut f = Found {
            title: dom_title.as_ref().map(|(t, _)| t.clone()),
            brand: d.brand.as_ref().map(|(b, _)| b.clone()),
            ..Found::default()
        };
        if let Some(p) = &d.price {
            f.price = Some(p.amount);
            f.currency = p.currency.clone();
        }
        for m in ["og:image", "twitter:image"] {
            if let Some(i) = meta(&metas, m) {
                f.images.extend(image_url(&i, base));
            }
        }
        if let Some(i) = scan.image_src {
            f.images.extend(image_url(i, base));
        }
        found.push((Source::Dom, 0.0, f));
    }
    let is_listing = fields.is_some() || declared || state_product || dom_listing;
    if !is_listing {
        return Extracted {
            canonical,
            ..Extracted::default()
        };
    }

    let mut a = Assembly {
        sources: Vec::new(),
    };
    // Per-field confidence of the DOM source.
    let dom_conf = |field: &str| -> f32 {
        match field {
            "title" => dom_title.as_ref().map_or(0.0, |(_, c)| *c),
            "price" => d.price.as_ref().map_or(0.0, |p| p.confidence),
            "brand" => d.brand.as_ref().map_or(0.0, |(_, c)| *c),
            _ => 0.3,
        }
    };
    let cands = |field: &str| -> Vec<(Source, f32, &Found)> {
        found
            .iter()
            .map(|(s, c, f)| {
                (
                    *s,
                    if *s == Source::Dom {
                        dom_conf(field)
                    } else {
                        *c
                    },
                    f,
                )
            })
            .collect()
    };
    let title = a.pick("title", &cands("title"), |f| f.title.clone());
    let mut l = Listing {
        id: a
            .pick("id", &cands("id"), |f| f.id.clone())
            .unwrap_or_default(),
        title: title.unwrap_or_default(),
        description: a.pick("description", &cands("description"), |f| {
            f.description.clone()
        }),
        brand: a.pick("brand", &cands("brand"), |f| f.brand.clone()),
        category: a.pick("category", &cands("category"), |f| f.category.clone()),
        url: a.pick("url", &cands("url"), |f| f.url.clone()),
        ..Listing::default()
    };
    let images = a.pick("images", &cands("images"), |f| {
        (!f.images.is_empty()).then(|| f.images.clone())
    });
    l.images = images.unwrap_or_default();
    l.seller = a.pick("seller", &cands("seller"), |f| f.seller.clone());
    // The price, and its currency from the same source when it has one.
    let price_cands = cands("price");
    let best_price = price_cands
        .iter()
        .filter(|(_, _, f)| f.price.is_some())
        .max_by(|x, y| x.1.total_cmp(&y.1));
    // The page's main shown price, when it is written with a currency.
    let shown = d
        .price
        .as_ref()
        .filter(|x| x.currency.is_some())
        .map(|x| x.amount);
    // A declared price that the page shows struck through, beside another
    // selling price, is stale: the shown one is taken.
    let stale = best_price.is_some_and(|(s, _, f)| {
        *s != Source::Dom
            && f.price.is_some_and(|p| {
                d.not_selling.iter().any(|&o| same_amount(o, p))
                    && shown.is_some_and(|x| !same_amount(x, p))
            })
    });
    // Two declarations that disagree (JSON-LD's offer left at an auction's
    // starting price, OpenGraph's at the current bid): the one that is the
    // page's main shown price is taken.
    let confirmed = best_price.and_then(|(s, _, f)| {
        let (p, shown) = (f.price?, shown?);
        if same_amount(shown, p) {
            return None;
        }
        price_cands
            .iter()
            .filter(|(o, _, g)| {
                *o != Source::Dom && o != s && g.price.is_some_and(|q| same_amount(q, shown))
            })
            .max_by(|x, y| x.1.total_cmp(&y.1))
    });
    let dom_found = found.iter().find(|(s, _, _)| *s == Source::Dom);
    let best_price = match (stale, dom_found, &d.price, confirmed) {
        (true, Some((_, _, f)), Some(p), _) => Some((Source::Dom, p.confidence, f)),
        (_, _, _, Some((s, c, f))) => Some((*s, *c, *f)),
        _ => best_price.map(|(s, c, f)| (*s, *c, *f)),
    };
    let mut amount_without_currency = None;
    if let Some((src, conf, f)) = best_price {
        let amount = f.price.unwrap_or_default();
        let own = f.currency.as_deref().and_then(|c| currency_code(c, &ctx));
        // Else a currency written with the same amount elsewhere, else any
        // currency the page declares, else the page's country.
        let currency = own.map(|c| (c, src, conf)).or_else(|| {
            let same = price_cands.iter().find_map(|(s, c, g)| {
                let equal = g.price.is_some_and(|p| same_amount(p, amount));
                let code = g.currency.as_deref().and_then(|x| currency_code(x, &ctx));
                code.filter(|_| equal).map(|code| (code, *s, c.min(0.7)))
            });
            same.or_else(|| {
                price_cands.iter().find_map(|(s, _, g)| {
                    g.currency
                        .as_deref()
                        .and_then(|x| currency_code(x, &ctx))
                        .map(|code| (code, *s, 0.4))
                })
            })
            .or_else(|| {
                ctx.country()
                    .as_deref()
                    .and_then(price::country_currency)
                    .map(|code| (code, Source::Context, 0.3))
            })
        });
        match currency {
            Some((code, cs, cc)) => {
                a.note("price", src, conf);
                a.note("currency", cs, cc);
                l.price = Some(Money {
                    amount,
                    currency: code.to_owned(),
                });
            }
            None => amount_without_currency = Some(amount),
        }
    }
    if l.title.is_empty() {
        return Extracted {
            canonical,
            amount_without_currency,
            ..Extracted::default()
        };
    }
    let page_url = canonical.clone().unwrap_or_else(|| base.clone());
    if l.id.is_empty() {
        l.id = page_url.to_string();
    }
    if l.url.is_none() {
        l.url = Some(page_url.to_string());
    }
    l.marketplace = Some(marketplace.to_owned());
    if let Some(s) = &mut l.seller {
        if s.id.is_empty() {
            s.id = s.url.clone().or_else(|| s.name.clone()).unwrap_or_default();
        }
    }
    l.seller = l.seller.filter(|s| !s.id.is_empty());
    let mut seen = std::collections::HashSet::new();
    l.images.retain(|i| seen.insert(i.clone()));
    l.images.truncate(MAX_IMAGES);
    Extracted {
        listing: Some(l),
        canonical,
        sources: a.sources,
        amount_without_currency,
    }
}

/// The `href`s of the elements `selector` picks, resolved against `base`.
pub fn links(html: &str, base: &Url, selector: Option<&Selector>) -> Vec<Url> {
    Page::parse(html).links(base, selector)
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

    fn source_of(e: &Extracted, field: &str) -> Option<Source> {
        e.sources
            .iter()
            .find(|s| s.field == field)
            .map(|s| s.source)
    }

    #[test]
    fn json_ld_product_groups_variants_and_offer_forms() {
        // A ProductGroup: the variant of this URL gives the price.
        let html = r#"<script type="application/ld+json">{"@context":"https://schema.org",
          "@type":"ProductGroup","name":"Runner","brand":"Zentrix","hasVariant":[
            {"@type":"Product","sku":"R-1","url":"http://shop.example/item/6","offers":{"@type":"Offer","price":"10","priceCurrency":"EUR"}},
            {"@type":"Product","sku":"R-2","url":"http://shop.example/item/7","offers":{"@type":"Offer","price":"12.50","priceCurrency":"EUR"}}]}
          </script>"#;
        let e = extract(html, &base(), None, "m");
        let l = e.listing.clone().unwrap();
        assert_eq!(l.title, "Runner");
        assert_eq!(l.brand.as_deref(), Some("Zentrix"));
        assert_eq!(l.price.unwrap().amount, 12.5);
        assert_eq!(source_of(&e, "price"), Some(Source::JsonLd));
        // AggregateOffer, offers as a list, priceSpecification.
        for (offers, want) in [
            (
                r#"{"@type":"AggregateOffer","lowPrice":"5.00","highPrice":"9","priceCurrency":"USD"}"#,
                5.0,
            ),
            (
                r#"[{"@type":"Offer","priceCurrency":"USD"},{"@type":"Offer","price":7,"priceCurrency":"USD"}]"#,
                7.0,
            ),
            (
                r#"{"@type":"Offer","priceSpecification":[{"@type":"UnitPriceSpecification","priceType":"https://schema.org/ListPrice","price":30,"priceCurrency":"USD"},{"@type":"UnitPriceSpecification","price":20,"priceCurrency":"USD"}]}"#,
                20.0,
            ),
        ] {
            let html = format!(
                r#"<script type="application/ld+json">{{"@type":"Product","name":"Bag","offers":{offers}}}</script>"#
            );
            let l = extract(&html, &base(), None, "m").listing.unwrap();
            assert_eq!(l.price.unwrap().amount, want, "{offers}");
        }
        // Several products: related products are not the main one.
        let html = r#"<script type="application/ld+json">{"@type":"Product","name":"Main",
          "isRelatedTo":[{"@type":"Product","name":"Other","offers":{"price":1,"priceCurrency":"USD"}}],
          "offers":{"price":3,"priceCurrency":"USD"}}</script>"#;
        let l = extract(html, &base(), None, "m").listing.unwrap();
        assert_eq!((l.title.as_str(), l.price.unwrap().amount), ("Main", 3.0));
    }

    #[test]
    fn nested_microdata_and_rdfa() {
        let md = r#"<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Quvo case</h1>
          <div itemprop="brand" itemscope itemtype="http://schema.org/Brand"><span itemprop="name">Quvo</span></div>
          <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
            <span itemprop="price" content="19.90">19,90 €</span><meta itemprop="priceCurrency" content="EUR"></div>
          <div itemscope itemtype="http://schema.org/Product"><span itemprop="name">Not this</span></div></div>"#;
        let e = extract(md, &base(), None, "m");
        let l = e.listing.clone().unwrap();
        assert_eq!(l.title, "Quvo case");
        assert_eq!(l.brand.as_deref(), Some("Quvo"));
        assert_eq!(l.price.unwrap().amount, 19.9);
        assert_eq!(source_of(&e, "title"), Some(Source::Microdata));
        let rdfa = r#"<div vocab="https://schema.org/" typeof="Product"><h2 property="name">Velmora bag</h2>
          <div property="offers" typeof="Offer"><span property="price" content="25">25 $</span>
          <meta property="priceCurrency" content="USD"></div></div>"#;
        let e = extract(rdfa, &base(), None, "m");
        let l = e.listing.clone().unwrap();
        assert_eq!(l.title, "Velmora bag");
        assert_eq!(l.price.unwrap().currency, "USD");
        assert_eq!(source_of(&e, "price"), Some(Source::Rdfa));
    }

    #[test]
    fn application_state() {
        let next = r#"<html><head><title>Lumo lamp | Shop</title></head><body><h1>Lumo lamp</h1>
          <script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"product":
            {"name":"Lumo lamp","brand":{"name":"Lumo"},"price":{"value":49.5,"currency":"GBP"}},
            "related":[{"name":"Other lamp","price":9}]}}}</script></body></html>"#;
        let e = extract(next, &base(), None, "m");
        let l = e.listing.clone().unwrap();
        assert_eq!(l.brand.as_deref(), Some("Lumo"));
        assert_eq!(l.price.as_ref().unwrap().amount, 49.5);
        assert_eq!(l.price.unwrap().currency, "GBP");
        assert_eq!(source_of(&e, "price"), Some(Source::AppState));
        let state = r#"<h1>Kito chair</h1><script>window.__INITIAL_STATE__ = {"item":{"title":"Kito chair","salePrice":"1 299,00","currency":"SEK"}};</script>"#;
        let l = extract(state, &base(), None, "m").listing.unwrap();
        assert_eq!(l.price.unwrap().amount, 1299.0);
        let data_layer = r#"<h1>Arlo boot</h1><script>dataLayer.push({"event":"view","ecommerce":{"currencyCode":"EUR","detail":{"products":[{"name":"Arlo boot","price":"89.00","brand":"Arlo"}]}}});</script>"#;
        let l = extract(data_layer, &base(), None, "m").listing.unwrap();
        assert_eq!(l.price.unwrap().currency, "EUR");
        assert_eq!(l.brand.as_deref(), Some("Arlo"));
        // Shopify product JSON: prices in cents.
        let shopify = r#"<h1>Nova tee</h1><script type="application/json" data-product-json>{"title":"Nova tee","vendor":"Nova","handle":"nova-tee","variants":[{"price":2500}]}</script>"#;
        let l = extract(
            shopify,
            &Url::parse("https://nova.example.co.uk/products/nova-tee").unwrap(),
            None,
            "m",
        )
        .listing
        .unwrap();
        // No currency in the JSON: the country domain gives it.
        let p = l.price.unwrap();
        assert_eq!((p.amount, p.currency.as_str()), (25.0, "GBP"));
    }

    #[test]
    fn document_heuristics() {
        let page = r#"<html lang="de-DE"><head><title>Zelto Rucksack - Shop Example</title></head><body>
          <nav><h1>Shop Example</h1></nav>
          <div class="recs"><div class="card"><span class="price">12,00 €</span></div>
            <div class="card"><span class="price">13,00 €</span></div><div class="card"><span class="price">14,00 €</span></div></div>
          <h1>Zelto Rucksack</h1>
          <dl><dt>Marke</dt><dd>Zelto</dd></dl>
          <div class="price-box"><del>79,00 €</del> <span class="product-price">59,00 €</span>
            <span class="unit">1,18 € / 100 g</span></div>
          <p>Versand 4,95 €</p>
          <form action="/cart/add"><button class="add-to-cart">In den Warenkorb</button></form>
        </body></html>"#;
        let e = extract(
            page,
            &Url::parse("https://shop.example.de/zelto").unwrap(),
            None,
            "m",
        );
        let l = e.listing.clone().expect("a listing from the document");
        assert_eq!(l.title, "Zelto Rucksack");
        assert_eq!(l.brand.as_deref(), Some("Zelto"));
        let p = l.price.unwrap();
        assert_eq!((p.amount, p.currency.as_str()), (59.0, "EUR"));
        assert_eq!(source_of(&e, "price"), Some(Source::Dom));
        // The same without a buy control is not a listing.
        let plain = page.replace("add-to-cart", "x").replace("/cart/add", "/x");
        let plain = plain.replace("Warenkorb", "Merkliste");
        assert!(extract(&plain, &base(), None, "m").listing.is_none());
        // A declared price shown struck through beside another is stale.
        let stale = r#"<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Oda vase</h1>
          <meta itemprop="price" content="40.00"><meta itemprop="priceCurrency" content="EUR">
          <div class="prices"><s>40,00 €</s> <span class="price">30,00 €</span></div></div>"#;
        let l = extract(stale, &base(), None, "m").listing.unwrap();
        assert_eq!(l.price.unwrap().amount, 30.0);
        // Two declarations that disagree: the one the page shows as its price.
        let auction = r#"<html><head><meta property="product:price:amount" content="200">
          <meta property="product:price:currency" content="USD"></head><body>
          <script type="application/ld+json">{"@type":"Product","name":"Tova chair",
            "offers":{"@type":"Offer","price":150,"priceCurrency":"USD"}}</script>
          <h1>Tova chair</h1><div class="current-price">$200</div><p>2 bids</p>
          <p>Starting price $150</p><button class="buy">Place bid</button></body></html>"#;
        let l = extract(auction, &base(), None, "m").listing.unwrap();
        assert_eq!(l.price.unwrap().amount, 200.0);
        // The product heading is an `<h2>` that agrees with `og:title`, the
        // `<h1>`s name other products: the title is the `<h2>`, and the price is
        // the one beside it.
        let h2 = r#"<html lang="de"><head><meta property="og:title" content="Shop | Ravi Kanne 2 l">
          </head><body><h2>Ravi Kanne 2 l</h2><p class="price">24,00 €</p>
          <form action="/cart/add"><button class="add-to-cart">In den Warenkorb</button></form>
          <div class="card"><h1>Lino Tasse</h1><p class="price">9,00 €</p></div>
          <div class="card2"><h1>Mora Teller</h1><p class="price">7,00 €</p></div></body></html>"#;
        let l = extract(h2, &base(), None, "m").listing.unwrap();
        assert_eq!(l.title, "Ravi Kanne 2 l");
        assert_eq!(l.price.unwrap().amount, 24.0);
        // Template placeholders are not values.
        let ph = r#"<script type="application/ld+json">{"@type":"Product","name":"Iva mug","brand":"$metabrand"}</script>"#;
        assert_eq!(extract(ph, &base(), None, "m").listing.unwrap().brand, None);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("$1,299.00"), Some(1299.0));
        assert_eq!(parse_amount("19,90 €"), Some(19.9));
        assert_eq!(parse_amount("¥89"), Some(89.0));
        assert_eq!(parse_amount("free"), Some(0.0));
        assert_eq!(parse_amount("sold out"), None);
    }
}
