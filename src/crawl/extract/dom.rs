//! Heuristics on the rendered document, for pages without product markup.
//!
//! - **Title**: the `<h1>` that agrees with `og:title` or `<title>` (most of its
//!   words in them), else an `<h2>` that does (pages that head every product of
//!   a list with an `<h1>` and their own with an `<h2>`), else the first `<h1>`,
//!   else `og:title`, else `<title>` without the shop's name (the part naming the
//!   host is dropped).
//! - **Price**: every short text (at most [`MAX_PRICE_TEXT`] characters) that
//!   parses as a price is a candidate, scored by: a currency in the text; `price`
//!   in its own or its near ancestors' class, id or `itemprop`; closeness to the
//!   title and to the buy control (document order, decaying over
//!   [`TITLE_REACH`]/[`BUY_REACH`] elements). Candidates inside `<del>`/`<s>`, or
//!   whose class names say old/was/list price/compare/strike/save/coupon/
//!   shipping/instalment/per-unit, are dropped ("unit" only beside "price":
//!   alone it also names the currency written after an amount); texts with a
//!   per-unit slash (`/kg`) and prices in lists (their class repeated
//!   [`REPEATED`] times or more) count less.
//!   A best price labelled as excluding VAT gives way to the price with VAT in
//!   its block ([`super::tax`]; the rule is at `choose`).
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

use std::borrow::Cow;
use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet};
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::tax::{self, Tax};
use super::{clean, meta, sel, text_of, Metas, Scan};
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
    "coupon",
    "voucher",
    "cashback",
    "ship",
    "shipping",
    "delivery",
    "postage",
    "instalment",
    "installment",
    "installments",
    "monthly",
    "month",
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

/// A word list as a set: the token checks run on the attributes of many elements
/// of every page, and a hash lookup beats comparing with each word.
fn word_set(words: &'static [&'static str]) -> FxHashSet<&'static str> {
    words.iter().copied().collect()
}

static NOT_SELLING_SET: LazyLock<FxHashSet<&'static str>> = LazyLock::new(|| word_set(NOT_SELLING));
static BUY_SET: LazyLock<FxHashSet<&'static str>> = LazyLock::new(|| word_set(BUY_TOKENS));
static BRAND_LABEL_SET: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| word_set(BRAND_LABELS));

/// The value of the attribute `name` of `e`, found by comparing names in place:
/// `Element::attr` interns `name` first, which costs more on the many elements the
/// heuristics read. Only for names that are never namespaced (`class`,
/// `itemprop`), for which the two give the same answer.
fn plain_attr<'a>(e: ElementRef<'a>, name: &str) -> Option<&'a str> {
    e.value().attrs().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// True when some text of `e` holds a byte for which `f` holds, without copying
/// the text.
fn text_has(e: ElementRef<'_>, f: impl Fn(u8) -> bool) -> bool {
    e.text().any(|t| t.bytes().any(&f))
}

/// `s` in lower case, borrowed when it already is (class names mostly are).
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// True when `f` holds for one of the lower-case tokens of a class or id name
/// (`product-price__old` → product, price, old; `oldPrice` → oldprice, old,
/// price). Runs on the attributes of many elements of every page, so the tokens
/// are slices of `s`, copied only to lower their case.
fn any_token(s: &str, f: &mut impl FnMut(&str) -> bool) -> bool {
    for word in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if f(&lower(word)) {
            return true;
        }
        // camelCase parts: each starts at an upper-case letter.
        let mut start = 0;
        for (i, c) in word.char_indices() {
            if c.is_uppercase() && i > start {
                if f(&lower(&word[start..i])) {
                    return true;
                }
                start = i;
            }
        }
        if start > 0 && f(&lower(&word[start..])) {
            return true;
        }
    }
    false
}

/// [`any_token`] over the class, id, `itemprop`, test id and name of `e`.
/// (The attributes are read in one pass by name: looking each name up interns it
/// first, which costs more on the many elements read.)
pub(super) fn any_attr_token(e: ElementRef<'_>, f: &mut impl FnMut(&str) -> bool) -> bool {
    e.value().attrs().any(|(name, value)| {
        matches!(
            name,
            "class" | "id" | "itemprop" | "data-testid" | "data-test" | "name"
        ) && any_token(value, f)
    })
}

/// The selectors the heuristics look up, compiled once.
static ITEMPROP_NAME: LazyLock<Selector> = LazyLock::new(|| sel("[itemprop=name]"));

/// Numbers in a text (a run of digits with the separators inside).
static NUMBERS: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\d(?:[\d.,' \u{a0}]*\d)?").expect("valid regex"));

/// Where the first number of `t` starts and ends (bytes).
pub(super) fn first_number(t: &str) -> Option<(usize, usize)> {
    NUMBERS.find(t).map(|m| (m.start(), m.end()))
}

/// Share of a heading's words found in `og:title` or `<title>` for the heading
/// to be the page's title: most of them, so that a heading naming another
/// product of the same kind (a few shared words) does not pass.
const AGREES: f64 = 0.6;

/// The title and its confidence.
pub(super) fn title(scan: &Scan<'_>, metas: &Metas, base: &Url) -> Option<(String, f32)> {
    let og = meta(metas, "og:title");
    let head = scan.title.and_then(text_of);
    // The shop's name is no evidence: it is taken out of the reference.
    let reference = og
        .clone()
        .or_else(|| head.clone())
        .map(|r| strip_site_name(&r, base));
    // The heading that agrees best with `og:title` or `<title>`: pages also use
    // `<h1>` for the site or category name, and some for every product of a
    // list of others, with the page's own product in an `<h2>`. The `<h1>`s
    // first; an `<h2>` only when it agrees and no `<h1>` does.
    let agreement = |h: &str| {
        reference
            .as_deref()
            .map_or(0.0, |r| super::appstate::overlap(h, r))
    };
    let best = |heads: &[ElementRef<'_>]| -> Option<String> {
        let texts: Vec<String> = heads
            .iter()
            .filter_map(|e| text_of(*e))
            .filter(|t| t.chars().count() <= 400)
            .take(16)
            .collect();
        texts
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| {
                let site = |h: &str| strip_site_name(h, base) != *h;
                (agreement(a), !site(a))
                    .partial_cmp(&(agreement(b), !site(b)))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(j.cmp(i))
            })
            .map(|(_, h)| h.clone())
    };
    let h1 = best(&scan.h1s);
    if let Some(h) = &h1 {
        if agreement(h) >= AGREES {
            return Some((h.clone(), 0.8));
        }
    }
    if let Some(h) = best(&scan.h2s).filter(|h| agreement(h) >= AGREES) {
        return Some((h, 0.8));
    }
    if let Some(h) = h1 {
        return Some((h, 0.6));
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
    /// The index of its parent element, when that was walked too.
    parent: Option<usize>,
    /// Bytes of text in its subtree, all of what `e.text()` yields (script and
    /// style text included): counted once in the walk, so that the many short-text
    /// checks need not traverse long subtrees to find them too long.
    text_len: usize,
    /// Whether that text holds an ASCII digit (found in the same walk: most
    /// elements hold none and are no price).
    digit: bool,
}

impl Node<'_> {
    /// [`short_raw`] without walking a subtree whose text is too long.
    fn short_raw(&self, max: usize) -> Option<String> {
        (self.text_len <= max * 4).then(|| self.e.text().collect())
    }

    /// [`short_text`] without walking a subtree whose text is too long.
    fn short_text(&self, max: usize) -> Option<String> {
        short_clean(&self.short_raw(max)?, max)
    }
}

/// Pushes `e` and its elements in document order (not the ones [`skipped`] nor
/// below depth 256) and returns the bytes of text under `e` and whether they hold
/// an ASCII digit.
fn walk<'a>(
    e: ElementRef<'a>,
    parent: Option<usize>,
    out: &mut Vec<Node<'a>>,
    depth: usize,
) -> (usize, bool) {
    let has_digit = |t: &str| t.bytes().any(|b| b.is_ascii_digit());
    if depth > 256 || skipped(e) {
        return e
            .text()
            .fold((0, false), |(n, d), t| (n + t.len(), d || has_digit(t)));
    }
    let index = out.len();
    out.push(Node {
        e,
        index,
        parent,
        text_len: 0,
        digit: false,
    });
    let (mut len, mut digit) = (0, false);
    for c in e.children() {
        if let scraper::Node::Text(t) = c.value() {
            len += t.len();
            digit = digit || has_digit(t);
        } else if let Some(c) = ElementRef::wrap(c) {
            let (n, d) = walk(c, Some(index), out, depth + 1);
            len += n;
            digit = digit || d;
        }
    }
    out[index].text_len = len;
    out[index].digit = digit;
    (len, digit)
}

fn is_buy(e: ElementRef<'_>) -> bool {
    let v = e.value();
    let control = matches!(v.name(), "button" | "input" | "form" | "a");
    if !control {
        return false;
    }
    let mut buy = |t: &str| BUY_SET.contains(t);
    any_attr_token(e, &mut buy) || v.attr("action").is_some_and(|a| any_token(a, &mut buy))
}

/// Text of an element if it is short, without descending into long subtrees.
pub(super) fn short_text(e: ElementRef<'_>, max: usize) -> Option<String> {
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

/// Why a price is not the selling one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NotSelling {
    /// Inside `<del>`, `<s>` or `<strike>`.
    Struck,
    /// A class or id word of [`NOT_SELLING`] on it or a near ancestor.
    Named,
}

fn excluded_context(e: ElementRef<'_>) -> Option<NotSelling> {
    let mut cur = Some(e);
    let mut named = false;
    for _ in 0..4 {
        let Some(x) = cur else { break };
        if matches!(x.value().name(), "del" | "s" | "strike") {
            return Some(NotSelling::Struck);
        }
        named = named || any_attr_token(x, &mut |t| NOT_SELLING_SET.contains(t)) || unit_price(x);
        cur = x.parent().and_then(ElementRef::wrap);
    }
    named.then_some(NotSelling::Named)
}

/// A class or id naming a price per unit (`unit-price`, `price_unit`,
/// `unitPrice`): "unit" and "price" in one name. "Unit" alone is not enough: it
/// also names the currency written after an amount (`number_unit`).
fn unit_price(e: ElementRef<'_>) -> bool {
    e.value().attrs().any(|(name, value)| {
        matches!(name, "class" | "id")
            && value.split_whitespace().any(|n| {
                let (mut unit, mut price) = (false, false);
                any_token(n, &mut |t| {
                    unit |= t == "unit";
                    price |= t == "price";
                    false
                });
                unit && price
            })
    })
}

fn price_hint(e: ElementRef<'_>) -> f64 {
    let mut cur = Some(e);
    for level in 0..3 {
        let Some(x) = cur else { break };
        if plain_attr(x, "itemprop") == Some("price") {
            return 3.0;
        }
        if any_attr_token(x, &mut |t| t.contains("price") || t == "amount") {
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

pub(super) fn analyse(doc: &Html, scan: &Scan<'_>, metas: &Metas, title: Option<&str>) -> Dom {
    let mut nodes = Vec::new();
    if let Some(body) = scan.body {
        walk(body, None, &mut nodes, 0);
    } else {
        walk(doc.root_element(), None, &mut nodes, 0);
    }
    let title_at: Option<usize> = title.and_then(|t| {
        nodes
            .iter()
            .find(|n| {
                matches!(n.e.value().name(), "h1" | "h2") && text_of(n.e).as_deref() == Some(t)
            })
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
    let mut class_count: FxHashMap<&str, usize> = Default::default();
    for n in &nodes {
        if let Some((_, c)) = n.e.value().attrs().find(|(a, _)| *a == "class") {
            *class_count.entry(c).or_default() += 1;
        }
    }
    let repeated = |e: ElementRef<'_>| -> bool {
        let mut cur = Some(e);
        for _ in 0..3 {
            let Some(x) = cur else { break };
            if plain_attr(x, "class")
                .is_some_and(|c| class_count.get(c).copied().unwrap_or(0) >= REPEATED)
            {
                return true;
            }
            cur = x.parent().and_then(ElementRef::wrap);
        }
        false
    };
    let mut cands: Vec<Candidate<'_>> = Vec::new();
    for n in &nodes {
        // Most elements hold no digit: skip them before cleaning their text
        // (cleaning keeps every digit).
        if n.text_len > MAX_PRICE_TEXT * 4 || !n.digit {
            continue;
        }
        let Some(raw) = n.short_raw(MAX_PRICE_TEXT) else {
            continue;
        };
        let Some(t) = short_clean(&raw, MAX_PRICE_TEXT) else {
            continue;
        };
        // The largest element of a short text: its parent's text is longer. (A
        // parent with as many bytes of text as the element has the same text.)
        let parent_text = match n.parent {
            Some(p) if nodes[p].text_len == n.text_len => Some(t.clone()),
            Some(p) => nodes[p].short_text(MAX_PRICE_TEXT),
            None => {
                n.e.parent()
                    .and_then(ElementRef::wrap)
                    .and_then(|p| short_text(p, MAX_PRICE_TEXT))
            }
        };
        let parent_same = parent_text.is_some_and(|pt| pt == t);
        if parent_same {
            continue;
        }
        // A text with several numbers holds several prices (or a price and a
        // discount): its parts are candidates of their own. (Checked before the
        // price is parsed, which costs more.)
        if NUMBERS.find_iter(&t).nth(1).is_some() {
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
        let not_selling = excluded_context(n.e);
        if let Some(how) = not_selling {
            tracing::trace!(text = %t, amount, ?how, "not a selling price");
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
        if not_selling.is_none() {
            tracing::trace!(text = %t, amount, score, "price candidate");
        }
        cands.push(Candidate {
            e: n.e,
            index: n.index,
            score,
            amount,
            currency: p.currency,
            not_selling,
        });
    }
    let chosen = choose(&cands);
    let price = chosen.map(|c| DomPrice {
        amount: c.amount,
        currency: c.currency.clone(),
        confidence: (0.2 + 0.06 * c.score).clamp(0.2, 0.7) as f32,
    });
    Dom {
        buy_control: !buys.is_empty(),
        brand: brand(scan, metas, &nodes, title_at),
        not_selling: cands
            .iter()
            .filter(|c| c.not_selling.is_some())
            .filter(|c| {
                chosen.is_some_and(|b| b.index != c.index && c.index.abs_diff(b.index) <= NEXT_TO)
            })
            .map(|c| c.amount)
            .collect(),
        price,
    }
}

/// True when a strike-through element is inside `e` (`<p><del>40 €</del></p>`,
/// where the `<p>` is the candidate).
fn struck_inside(e: ElementRef<'_>) -> bool {
    e.descendants()
        .filter_map(ElementRef::wrap)
        .any(|x| matches!(x.value().name(), "del" | "s" | "strike"))
}

/// A price candidate of the page.
struct Candidate<'a> {
    e: ElementRef<'a>,
    /// Its place in document order.
    index: usize,
    score: f64,
    amount: f64,
    currency: Option<String>,
    /// Why it is no selling price, if it is none.
    not_selling: Option<NotSelling>,
}

/// The selling price among the candidates: the highest score (the first on a
/// tie), unless it is labelled as excluding VAT and its block (within
/// [`NEXT_TO`] elements) shows the price with VAT, which a consumer pays (see
/// [`super::tax`]): a selling price there labelled as including VAT, else a
/// price there that is the net price plus VAT at an EU rate. The second may be
/// one that a class name calls old or a saving ("price-old"), as the arithmetic
/// says what it is; not one struck through in the markup.
fn choose<'c, 'a>(cands: &'c [Candidate<'a>]) -> Option<&'c Candidate<'a>> {
    let mut best: Option<&Candidate<'_>> = None;
    for c in cands.iter().filter(|c| c.not_selling.is_none()) {
        if best.is_none_or(|b| c.score > b.score) {
            best = Some(c);
        }
    }
    let net = best?;
    if tax::label(net.e) != Some(Tax::Excluded) {
        return best;
    }
    let block = || {
        cands
            .iter()
            .filter(|c| c.index != net.index && c.index.abs_diff(net.index) <= NEXT_TO)
    };
    let highest = |a: &&Candidate<'_>, b: &&Candidate<'_>| a.score.total_cmp(&b.score);
    let labelled = block()
        .filter(|c| c.not_selling.is_none() && tax::label(c.e) == Some(Tax::Included))
        .max_by(highest);
    let gross = labelled.or_else(|| {
        block()
            .filter(|c| c.not_selling != Some(NotSelling::Struck) && !struck_inside(c.e))
            .filter(|c| tax::adds_vat(net.amount, c.amount))
            .filter(|c| tax::label(c.e) != Some(Tax::Excluded))
            .max_by(highest)
    });
    if let Some(g) = gross {
        tracing::trace!(net = net.amount, gross = g.amount, "price with VAT taken");
    }
    gross.or(best)
}

/// The most letters (characters other than spaces) of a word in
/// [`BRAND_LABELS`].
static LONGEST_LABEL: LazyLock<usize> = LazyLock::new(|| {
    BRAND_LABELS
        .iter()
        .map(|l| l.chars().filter(|c| !c.is_whitespace()).count())
        .max()
        .unwrap_or(0)
});

/// False when the text of `e` before its first colon holds more letters than
/// any brand label, so that neither "Label: value" nor a bare label can match:
/// read without copying the text, as most elements of a page fail here. Counts
/// what [`clean`] keeps (not spaces, control or bidi characters); lower-casing
/// never shortens a text, so no label is skipped.
fn may_start_with_label(e: ElementRef<'_>) -> bool {
    let mut letters = 0;
    for piece in e.text() {
        for c in piece.chars() {
            if matches!(c, ':' | '：') {
                return true;
            }
            let dropped = c.is_whitespace()
                || c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if !dropped {
                letters += 1;
                if letters > *LONGEST_LABEL {
                    return false;
                }
            }
        }
    }
    true
}

fn is_label(t: &str) -> bool {
    let l = t.trim().trim_end_matches([':', '：']).trim().to_lowercase();
    BRAND_LABEL_SET.contains(l.as_str())
}

fn brand(
    scan: &Scan<'_>,
    metas: &Metas,
    nodes: &[Node<'_>],
    title_at: Option<usize>,
) -> Option<(String, f32)> {
    if let Some(e) = scan.itemprop_brand {
        let v = e
            .value()
            .attr("content")
            .and_then(clean)
            .or_else(|| {
                e.select(&ITEMPROP_NAME).next().and_then(|n| {
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
        if n.text_len > 60 * 4 || !may_start_with_label(n.e) {
            continue;
        }
        let Some(t) = n.short_text(60) else {
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
    // "Visit the X Store" bylines. (Without a `V` or a colon in its text, a link
    // can start with neither; most links are passed over without copying their
    // text.)
    for n in nodes {
        if n.e.value().name() != "a"
            || n.text_len > 80 * 4
            || !text_has(n.e, |b| b == b'V' || b == b':')
        {
            continue;
        }
        if let Some(t) = n.short_text(80) {
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
            n.short_text(40)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn all_tokens(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        any_token(s, &mut |t| {
            out.push(t.to_owned());
            false
        });
        out
    }

    #[test]
    fn class_tokens_split_words_and_camel_case() {
        assert_eq!(
            all_tokens("product-price__old oldPrice"),
            ["product", "price", "old", "oldprice", "old", "price"]
        );
        assert_eq!(all_tokens("AddToCart"), ["addtocart", "add", "to", "cart"]);
        assert_eq!(all_tokens("Price"), ["price"]);
        assert!(any_token("btn BuyNow", &mut |t| t == "buy"));
        assert!(!any_token("btn-primary", &mut |t| t == "buy"));
    }

    fn first_element(html: &str) -> (Html, Selector) {
        (Html::parse_fragment(html), sel("p"))
    }

    #[test]
    fn a_long_text_before_the_colon_is_no_label() {
        for (html, may) in [
            ("<p>Brand: Zelto</p>", true),
            ("<p>  Marke \n</p>", true),
            ("<p>العلامة التجارية: X</p>", true),
            ("<p>Free delivery on every order: today</p>", false),
            (
                "<p>A sentence that is much longer than any label</p>",
                false,
            ),
        ] {
            let (doc, p) = first_element(html);
            let e = doc.select(&p).next().unwrap();
            assert_eq!(may_start_with_label(e), may, "{html}");
        }
    }

    /// The price `extract` stores for a page of a German shop (a document
    /// without markup, so the DOM heuristics decide).
    fn dom_price(body: &str) -> Option<f64> {
        let html = format!(
            r#"<html lang="de"><body><h1>Leuchte Orvo</h1>{body}
            <form action="/cart/add"><button class="add-to-cart">In den Warenkorb</button></form>
            </body></html>"#
        );
        let base = Url::parse("https://shop.example.de/orvo").unwrap();
        super::super::extract(&html, &base, None, "m")
            .listing
            .and_then(|l| l.price)
            .map(|p| p.amount)
    }

    #[test]
    fn the_price_with_vat_wins_over_the_net_price() {
        // The net price has the price class, the gross one none: by score alone the
        // net one wins.
        let labelled = r#"<div><p><span class="price">100,00 €</span> zzgl. MwSt.</p>
            <p><span>119,00 €</span> inkl. MwSt.</p></div>"#;
        assert_eq!(dom_price(labelled), Some(119.0));
        // Labels in other languages, before the price.
        let dl = r#"<dl><dt>Cena bez DPH</dt><dd class="price">50,00 €</dd>
            <dt>Cena s DPH</dt><dd>60,00 €</dd></dl>"#;
        assert_eq!(dom_price(dl), Some(60.0));
        // The gross price under a class name that says "old": 121 is 100 plus 21 %
        // VAT, so it is the price with VAT of the same offer.
        let named = r#"<ul><li class="price"><span class="price-old">121,00 €</span></li>
            <li>Excl. VAT: <span class="price-current">100,00 €</span></li></ul>"#;
        assert_eq!(dom_price(named), Some(121.0));
    }

    #[test]
    fn coupons_and_unit_prices_give_way_but_a_currency_unit_does_not() {
        // Nearer the buy control, a coupon's value and a price per unit would win.
        let coupon = r#"<p class="product-price">30,00 €</p><p class="coupon-price">250,00 €</p>"#;
        assert_eq!(dom_price(coupon), Some(30.0));
        let unit =
            r#"<p class="product-price">30,00 €</p><p class="product-unit-price">1,00 €</p>"#;
        assert_eq!(dom_price(unit), Some(30.0));
        // "Unit" alone names the currency written after the amount.
        let currency = r#"<p class="deal_price"><strong class="number_unit">30,00<sub>€</sub></strong>
            <span>957 verkauft</span></p><p>Zubehör ab 12,00 €</p>"#;
        assert_eq!(dom_price(currency), Some(30.0));
    }

    #[test]
    fn a_net_price_stays_without_a_gross_one_beside_it() {
        // Only a net price.
        let alone = r#"<p><span class="price">100,00 €</span> netto</p>"#;
        assert_eq!(dom_price(alone), Some(100.0));
        // A struck-through old price is no price with VAT, whatever its amount.
        let struck = r#"<p><del>120,00 €</del></p>
            <p><span class="price">100,00 €</span> excl. VAT</p>"#;
        let struck_word = r#"<p><del>120,00 €</del> statt</p>
            <p><span class="price">100,00 €</span> excl. VAT</p>"#;
        assert_eq!(dom_price(struck_word), Some(100.0));
        assert_eq!(dom_price(struck), Some(100.0));
        // An unlabelled price beside it that is not net plus VAT (a saving).
        let other = r#"<p><span class="price">100,00 €</span> HT</p>
            <p><span class="save">111,00 €</span></p>"#;
        assert_eq!(dom_price(other), Some(100.0));
        // A gross price far from the net one belongs to another block.
        let far = format!(
            r#"<p><span class="price">100,00 €</span> ex VAT</p>{}
            <p><span>119,00 €</span> inkl. MwSt.</p>"#,
            "<i>x</i>".repeat(NEXT_TO + 1)
        );
        assert_eq!(dom_price(&far), Some(100.0));
    }
}
