//! Heuristics on the rendered document, for pages without product markup.
//!
//! - **Title**: the first `<h1>`, else `og:title`, else `<title>` without the shop's
//!   name (the part naming the host is dropped).
//! - **Price**: every short text (at most [`MAX_PRICE_TEXT`] characters) that
//!   parses as a price is a candidate, scored by: a currency in the text; `price`
//!   in its own or its near ancestors' class, id or `itemprop`; closeness to the
//!   title and to the buy control (document order, decaying over
//!   [`TITLE_REACH`]/[`BUY_REACH`] elements). Candidates inside `<del>`/`<s>`, or
//!   whose class names say old/was/list price/compare/strike/save/shipping/
//!   instalment/per-unit, are dropped; texts with a per-unit slash (`/kg`) and
//!   prices in lists (their class repeated [`REPEATED`] times or more) count less.
//! - **Currency**: the currency written in the chosen price, resolved to ISO 4217
//!   by the page's language and domain ([`crate::crawl::price::currency_code`]).
//! - **Brand**: `itemprop=brand`, `product:brand`, a row labelled with the word for
//!   "brand" or "manufacturer" in one of the major European and Asian languages
//!   (`BRAND_LABELS`, from dictionaries, not from any page), "Visit the X Store", a
//!   link to a brand page near the title.
//! - **Image**: `og:image`, `twitter:image`, `link[rel=image_src]`.
//!
//! Class-name tokens are the English words front-end code is written in; they are
//! general, not taken from any shop.
//!
//! # Price score
//!
//! A candidate scores 2 for a currency in its text, 3 for `itemprop=price` or 2 for a
//! `price`/`amount` class (less on an ancestor), up to 3 for closeness to the title
//! (half when before it) and up to 2 for closeness to the buy control; it loses 1.5
//! when it holds more than 12 letters (a sentence, not a price), 2 when it starts
//! with a sign (a saving), 2.5 for a per-unit slash and 2 when it sits in a list.
//! The weights only rank candidates: a declared currency and a price class are the
//! page saying "this is a price", closeness is the layout saying "of this product".
//! The confidence reported is `0.2 + 0.06 × score`, clamped to 0.2..0.7: a price
//! with a currency, a price class and the title next to it reaches 0.7, a bare
//! currency amount far from both stays near 0.3, below the listing threshold of
//! [`super::MIN_DOM_PRICE_CONFIDENCE`].
//!
//! The distances are in elements of document order: [`TITLE_REACH`] (300) and
//! [`BUY_REACH`] (150) are about the size of a product block (gallery, title, price,
//! options, buy button) on ordinary shop pages, so a price inside the block keeps
//! most of its bonus and one in a footer or a sidebar of other products keeps none.

use scraper::{ElementRef, Html};
use url::Url;

use super::{clean, meta, sel, text_of, Metas};
use crate::crawl::price::{self, CurrencyContext};

/// The longest text read as one price.
pub const MAX_PRICE_TEXT: usize = 40;
/// Elements over which closeness to the title fades (document order).
pub const TITLE_REACH: f64 = 300.0;
/// Elements over which closeness to the buy control fades.
pub const BUY_REACH: f64 = 150.0;

/// A class shared by this many elements marks a list of items (the price of one
/// of them is not the page's): three, the fewest that make a list rather than a
/// pair such as the price and its label.
pub const REPEATED: usize = 3;

/// How near (in elements, document order) an old price must be to the main price
/// to be its old price: a price block is a handful of elements.
pub const NEXT_TO: usize = 12;

/// Class/id tokens that mark a price other than the selling one.
const NOT_SELLING: &[&str] = &[
    "old",
    "was",
    "before",
    "regular",
    "compare",
    "strike",
    "strikethrough",
    "crossed",
    "rrp",
    "msrp",
    "original",
    "previous",
    "save",
    "saving",
    "savings",
    "discount",
    "ship",
    "shipping",
    "delivery",
    "postage",
    "instalment",
    "installment",
    "installments",
    "monthly",
    "month",
    "unit",
    "per",
    "related",
    "recommended",
    "similar",
    "upsell",
    "crosssell",
    "minicart",
    "oldprice",
    "wasprice",
    "listprice",
    "regularprice",
    "compareprice",
    "unitprice",
    "pricebefore",
    "priceold",
    "recently",
    "viewed",
];

/// Class/id/name/action tokens of a buy control: "buy", "add to cart", "basket",
/// "checkout", "order" in English, which front-end code is mostly written in, and
/// the words for "buy" and "cart" in the major European and Asian languages
/// (dictionary translations, as URL paths and form names spell them).
const BUY_TOKENS: &[&str] = &[
    "kaufen",
    "warenkorb",
    "panier",
    "acheter",
    "carrito",
    "comprar",
    "carrello",
    "acquista",
    "winkelwagen",
    "kopen",
    "koszyk",
    "kup",
    "kupi",
    "kupit",
    "kosik",
    "kosarica",
    "kosar",
    "cos",
    "korpa",
    "ostukorv",
    "grozs",
    "krepselis",
    "ostoskori",
    "varukorg",
    "handlekurv",
    "kurv",
    "sepet",
    "satinal",
    "korzina",
    "kupiti",
    "gouwuche",
    "goumai",
    "kaato",
    "jangbaguni",
    "gumae",
    "buy",
    "addtocart",
    "add",
    "cart",
    "basket",
    "bag",
    "checkout",
    "purchase",
    "order",
];

/// The word for "brand" or "manufacturer" in major languages.
const BRAND_LABELS: &[&str] = &[
    "brand",
    "brands",
    "manufacturer",
    "make",
    "marke",
    "hersteller",
    "marca",
    "fabricante",
    "marque",
    "fabricant",
    "merk",
    "fabrikant",
    "merke",
    "märke",
    "mærke",
    "tillverkare",
    "producent",
    "marka",
    "značka",
    "výrobce",
    "výrobca",
    "znamka",
    "proizvajalec",
    "proizvođač",
    "robna marka",
    "márka",
    "gyártó",
    "marcă",
    "producător",
    "kaubamärk",
    "tootja",
    "zīmols",
    "ražotājs",
    "prekės ženklas",
    "gamintojas",
    "μάρκα",
    "κατασκευαστής",
    "бренд",
    "марка",
    "производитель",
    "виробник",
    "торгова марка",
    "търговска марка",
    "производител",
    "üretici",
    "品牌",
    "牌子",
    "ブランド",
    "メーカー",
    "브랜드",
    "제조사",
    "العلامة التجارية",
    "الماركة",
    "الشركة المصنعة",
    "מותג",
    "thương hiệu",
    "ยี่ห้อ",
    "merek",
    "jenama",
];

/// Lower-case tokens of class and id names (`product-price__old` → product,
/// price, old; `oldPrice` → old, price, oldprice).
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        out.push(word.to_lowercase());
        let mut part = String::new();
        for c in word.chars() {
            if c.is_uppercase() && !part.is_empty() {
                out.push(part.to_lowercase());
                part.clear();
            }
            part.push(c);
        }
        if part.len() < word.len() {
            out.push(part.to_lowercase());
        }
    }
    out
}

fn attr_tokens(e: ElementRef<'_>) -> Vec<String> {
    let v = e.value();
    let mut out = Vec::new();
    for a in [
        "class",
        "id",
        "itemprop",
        "data-testid",
        "data-test",
        "name",
    ] {
        if let Some(x) = v.attr(a) {
            out.extend(tokens(x));
        }
    }
    out
}

/// Numbers in a text (a run of digits with the separators inside).
static NUMBERS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\d(?:[\d.,' \u{a0}]*\d)?").expect("valid regex")
});

/// The title and its confidence.
pub(super) fn title(doc: &Html, metas: &Metas, base: &Url) -> Option<(String, f32)> {
    let og = meta(metas, "og:title");
    let head = doc.select(&sel("title")).next().and_then(text_of);
    // The shop's name is no evidence: it is taken out of the reference.
    let reference = og
        .clone()
        .or_else(|| head.clone())
        .map(|r| strip_site_name(&r, base));
    // The `<h1>` that agrees best with `og:title` or `<title>` (pages also use
    // `<h1>` for the site or category name), else the first.
    let h1s: Vec<String> = doc
        .select(&sel("h1"))
        .filter_map(text_of)
        .filter(|t| t.chars().count() <= 400)
        .take(16)
        .collect();
    let agreement = |h: &str| {
        reference
            .as_deref()
            .map_or(0.0, |r| super::appstate::overlap(h, r))
    };
    let best = h1s
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| {
            let site = |h: &str| strip_site_name(h, base) != *h;
            (agreement(a), !site(a))
                .partial_cmp(&(agreement(b), !site(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(j.cmp(i))
        })
        .map(|(_, h)| h.clone());
    if let Some(h) = best {
        let c = if agreement(&h) >= 0.6 { 0.8 } else { 0.6 };
        return Some((h, c));
    }
    if let Some(o) = og {
        return Some((o, 0.6));
    }
    Some((strip_site_name(&head?, base), 0.4))
}

/// `<title>` without the part naming the shop.
pub(super) fn strip_site_name(t: &str, base: &Url) -> String {
    let host = base.host_str().unwrap_or("").to_lowercase();
    let site: Vec<&str> = host
        .split('.')
        .filter(|p| p.len() > 2 && !matches!(*p, "www" | "com" | "net" | "org" | "shop"))
        .collect();
    let parts: Vec<&str> = t
        .split(['|', '–', '—', '«', '»', '•'])
        .flat_map(|p| p.split(" - "))
        .flat_map(|p| p.split(" :: "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let kept: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| {
            let l = p.to_lowercase().replace(' ', "");
            !site
                .iter()
                .any(|s| l.contains(s) && l.len() <= s.len() + 12)
        })
        .collect();
    kept.iter()
        .max_by_key(|p| p.chars().count())
        .or(parts.first())
        .map_or_else(|| t.to_owned(), |p| (*p).to_owned())
}

fn skipped(e: ElementRef<'_>) -> bool {
    matches!(
        e.value().name(),
        "script"
            | "style"
            | "noscript"
            | "option"
            | "select"
            | "textarea"
            | "head"
            | "template"
            | "svg"
            | "title"
    )
}

/// An element in document order, with what the heuristics need.
struct Node<'a> {
    e: ElementRef<'a>,
    index: usize,
}

fn walk<'a>(e: ElementRef<'a>, out: &mut Vec<Node<'a>>, depth: usize) {
    if depth > 256 || skipped(e) {
        return;
    }
    out.push(Node {
        e,
        index: out.len(),
    });
    for c in e.children().filter_map(ElementRef::wrap) {
        walk(c, out, depth + 1);
    }
}

fn is_buy(e: ElementRef<'_>) -> bool {
    let v = e.value();
    let control = matches!(v.name(), "button" | "input" | "form" | "a");
    if !control {
        return false;
    }
    let mut toks = attr_tokens(e);
    if let Some(a) = v.attr("action") {
        toks.extend(tokens(a));
    }
    toks.iter().any(|t| BUY_TOKENS.contains(&t.as_str()))
}

/// Text of an element if it is short, without descending into long subtrees.
fn short_text(e: ElementRef<'_>, max: usize) -> Option<String> {
    short_clean(&short_raw(e, max)?, max)
}

/// The text of an element as written, `None` past `max` × 4 bytes.
fn short_raw(e: ElementRef<'_>, max: usize) -> Option<String> {
    let mut s = String::new();
    for t in e.text() {
        s.push_str(t);
        if s.len() > max * 4 {
            return None;
        }
    }
    Some(s)
}

/// [`short_raw`]'s text cleaned, if at most `max` characters.
fn short_clean(raw: &str, max: usize) -> Option<String> {
    let c = clean(raw)?;
    (c.chars().count() <= max).then_some(c)
}

fn excluded_context(e: ElementRef<'_>) -> bool {
    let mut cur = Some(e);
    for _ in 0..4 {
        let Some(x) = cur else { break };
        if matches!(x.value().name(), "del" | "s" | "strike") {
            return true;
        }
        if attr_tokens(x)
            .iter()
            .any(|t| NOT_SELLING.contains(&t.as_str()))
        {
            return true;
        }
        cur = x.parent().and_then(ElementRef::wrap);
    }
    false
}

fn price_hint(e: ElementRef<'_>) -> f64 {
    let mut cur = Some(e);
    for level in 0..3 {
        let Some(x) = cur else { break };
        if x.value().attr("itemprop") == Some("price") {
            return 3.0;
        }
        if attr_tokens(x)
            .iter()
            .any(|t| t.contains("price") || t == "amount")
        {
            return 2.0 - 0.3 * level as f64;
        }
        cur = x.parent().and_then(ElementRef::wrap);
    }
    0.0
}

/// Per-unit prices (`12,90 €/kg`, `€ 3 / 100 ml`).
fn per_unit(t: &str) -> bool {
    t.split_once('/').is_some_and(|(_, after)| {
        let a = after.trim_start();
        a.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c.is_ascii_digit())
    })
}

/// The main price of the page: amount, currency as written, confidence.
pub(super) struct DomPrice {
    pub amount: f64,
    /// Written with a currency.
    pub currency: Option<String>,
    pub confidence: f32,
}

/// What the document offers besides markup.
pub(super) struct Dom {
    pub price: Option<DomPrice>,
    pub buy_control: bool,
    pub brand: Option<(String, f32)>,
    /// Amounts shown as old, list or strike-through prices next to the main
    /// price (within [`NEXT_TO`] elements).
    pub not_selling: Vec<f64>,
}

pub(super) fn analyse(doc: &Html, metas: &Metas, title: Option<&str>) -> Dom {
    let mut nodes = Vec::new();
    if let Some(body) = doc.select(&sel("body")).next() {
        walk(body, &mut nodes, 0);
    } else {
        walk(doc.root_element(), &mut nodes, 0);
    }
    let title_at: Option<usize> = title.and_then(|t| {
        nodes
            .iter()
            .find(|n| n.e.value().name() == "h1" && text_of(n.e).as_deref() == Some(t))
            .or_else(|| nodes.iter().find(|n| n.e.value().name() == "h1"))
            .map(|n| n.index)
    });
    let buys: Vec<usize> = nodes
        .iter()
        .filter(|n| is_buy(n.e))
        .map(|n| n.index)
        .collect();
    // How often each class attribute occurs: prices in lists (recommendations,
    // other offers) repeat their class; the main price is usually alone.
    let mut class_count: std::collections::HashMap<&str, usize> = Default::default();
    for n in &nodes {
        if let Some(c) = n.e.value().attr("class") {
            *class_count.entry(c).or_default() += 1;
        }
    }
    let repeated = |e: ElementRef<'_>| -> bool {
        let mut cur = Some(e);
        for _ in 0..3 {
            let Some(x) = cur else { break };
            if x.value()
                .attr("class")
                .is_some_and(|c| class_count.get(c).copied().unwrap_or(0) >= REPEATED)
            {
                return true;
            }
            cur = x.parent().and_then(ElementRef::wrap);
        }
        false
    };
    let mut best: Option<(f64, usize, DomPrice)> = None;
    let mut not_selling = Vec::new();
    for n in &nodes {
        // Most elements hold no digit: skip them before cleaning their text
        // (cleaning keeps every digit).
        let Some(raw) = short_raw(n.e, MAX_PRICE_TEXT) else {
            continue;
        };
        if !raw.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let Some(t) = short_clean(&raw, MAX_PRICE_TEXT) else {
            continue;
        };
        // The largest element of a short text: its parent's text is longer.
        let parent_same =
            n.e.parent()
                .and_then(ElementRef::wrap)
                .and_then(|p| short_text(p, MAX_PRICE_TEXT))
                .is_some_and(|pt| pt == t);
        if parent_same {
            continue;
        }
        let p = price::parse_price(&t, None, None);
        let Some(amount) = p.amount.filter(|a| *a > 0.0) else {
            continue;
        };
        let hint = price_hint(n.e);
        // Without a currency only a bare number in a price element is a price.
        let bare = t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '\u{a0}'));
        if p.currency.is_none() && (hint < 1.0 || !bare) {
            continue;
        }
        // A text with several numbers holds several prices (or a price and a
        // discount): its parts are candidates of their own.
        if NUMBERS.find_iter(&t).count() > 1 {
            continue;
        }
        if excluded_context(n.e) {
            tracing::trace!(text = %t, amount, "not a selling price");
            not_selling.push((amount, n.index));
            continue;
        }
        // A price text is mostly the price: many other letters mean a sentence.
        let letters = t.chars().filter(|c| c.is_alphabetic()).count();
        let mut score = hint + if p.currency.is_some() { 2.0 } else { 0.0 };
        if letters > 12 {
            score -= 1.5;
        }
        if t.trim_start().starts_with(['-', '−', '+']) {
            score -= 2.0;
        }
        if per_unit(&t) {
            score -= 2.5;
        }
        if repeated(n.e) {
            score -= 2.0;
        }
        if let Some(h) = title_at {
            let d = n.index.abs_diff(h) as f64;
            let after = if n.index > h { 1.0 } else { 0.5 };
            score += 3.0 * after * (-d / TITLE_REACH).exp();
        }
        if let Some(d) = buys.iter().map(|b| n.index.abs_diff(*b)).min() {
            score += 2.0 * (-(d as f64) / BUY_REACH).exp();
        }
        tracing::trace!(text = %t, amount, score, "price candidate");
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            let confidence = (0.2 + 0.06 * score).clamp(0.2, 0.7) as f32;
            best = Some((
                score,
                n.index,
                DomPrice {
                    amount,
                    currency: p.currency,
                    confidence,
                },
            ));
        }
    }
    Dom {
        buy_control: !buys.is_empty(),
        brand: brand(doc, metas, &nodes, title_at),
        not_selling: not_selling
            .into_iter()
            .filter(|(_, i)| {
                best.as_ref()
                    .is_some_and(|(_, b, _)| i.abs_diff(*b) <= NEXT_TO)
            })
            .map(|(a, _)| a)
            .collect(),
        price: best.map(|(_, _, p)| p),
    }
}

fn is_label(t: &str) -> bool {
    let l = t.trim().trim_end_matches([':', '：']).trim().to_lowercase();
    BRAND_LABELS.contains(&l.as_str())
}

fn brand(
    doc: &Html,
    metas: &Metas,
    nodes: &[Node<'_>],
    title_at: Option<usize>,
) -> Option<(String, f32)> {
    if let Some(e) = doc.select(&sel("[itemprop=brand]")).next() {
        let v = e
            .value()
            .attr("content")
            .and_then(clean)
            .or_else(|| {
                e.select(&sel("[itemprop=name]")).next().and_then(|n| {
                    n.value()
                        .attr("content")
                        .and_then(clean)
                        .or_else(|| text_of(n))
                })
            })
            .or_else(|| text_of(e));
        if let Some(v) = v.filter(|v| v.chars().count() <= 80) {
            return Some((v, 0.7));
        }
    }
    for m in ["product:brand", "og:brand", "brand"] {
        if let Some(b) = meta(metas, m) {
            return Some((b, 0.7));
        }
    }
    // A labelled row: "Brand: X", `<dt>Brand</dt><dd>X</dd>`, `<th>` and `<td>`.
    for n in nodes {
        let Some(t) = short_text(n.e, 60) else {
            continue;
        };
        if let Some((label, value)) = t.split_once([':', '：']) {
            if n.e.value().name() != "a" && is_label(label) {
                if let Some(v) = clean(value).filter(|v| v.chars().count() <= 60) {
                    return Some((v, 0.55));
                }
            }
        }
        if is_label(&t) {
            let next =
                n.e.next_siblings()
                    .filter_map(ElementRef::wrap)
                    .next()
                    .and_then(|s| short_text(s, 60));
            if let Some(v) = next {
                return Some((v, 0.55));
            }
        }
    }
    // "Visit the X Store" bylines.
    for n in nodes {
        if n.e.value().name() != "a" {
            continue;
        }
        if let Some(t) = short_text(n.e, 80) {
            if let Some(rest) = t.strip_prefix("Visit the ") {
                if let Some(b) = rest.strip_suffix(" Store") {
                    return clean(b).map(|b| (b, 0.55));
                }
            }
            if let Some(b) = t.strip_prefix("Brand: ") {
                return clean(b).map(|b| (b, 0.55));
            }
        }
    }
    // A link to a brand page near the title.
    let h = title_at?;
    nodes
        .iter()
        .filter(|n| n.index.abs_diff(h) < 200 && n.e.value().name() == "a")
        .find_map(|n| {
            let href = n.e.value().attr("href")?;
            let path = href.split(['?', '#']).next()?.to_lowercase();
            let brandy = path.split('/').any(|seg| {
                matches!(
                    seg,
                    "brand"
                        | "brands"
                        | "marke"
                        | "marken"
                        | "marca"
                        | "marcas"
                        | "marque"
                        | "marques"
                        | "merk"
                        | "znacka"
                        | "znacky"
                )
            });
            if !brandy {
                return None;
            }
            short_text(n.e, 40)
                .filter(|t| !t.chars().all(|c| c.is_ascii_digit()))
                .map(|t| (t, 0.4))
        })
}

/// The currency context of a page: `<html lang>` and the host.
pub(super) fn currency_context(doc: &Html, base: &Url) -> CurrencyContext {
    CurrencyContext {
        lang: doc.root_element().value().attr("lang").map(str::to_owned),
        host: base.host_str().map(str::to_owned),
    }
}
