//! Prices as shops display them: `€ 1.299,00`, `1 299 руб.`, `US$:12.99`, `19,90 € *`.
//!
//! [`parse_price`] finds the amount and the currency as written; [`currency_code`]
//! turns a written currency into its ISO 4217 code, using the page's language and
//! domain when the symbol is shared (`$`, `kr`, `R`). No maintained Rust crate
//! parses free-form price text (the reference is Zyte's Python `price-parser`),
//! so this is written here; its behaviour is measured against that project's
//! 1,185-string test table (`tests` below, and the evaluation in EVALUATION.md).
//!
//! # How the amount is read
//!
//! The first run of digits with `.`, `,`, `'` or spaces inside is the amount,
//! unless a `%` follows it (a discount). The decimal separator is the last `.` or
//! `,` when one or two digits follow it, or four and more; exactly three digits after
//! it mean a thousands separator (`1.299` is one thousand two hundred and ninety-nine,
//! as in most of Europe, `1,299` likewise in English). A caller that knows better
//! passes the separator. `€` between the units and the cents (`12€50`) is a decimal
//! separator, as written in France.
//!
//! # How the currency is read
//!
//! Currencies are looked up in one table of ISO 4217 codes and the symbols and
//! abbreviations of the Unicode CLDR (`$`, `€`, `zł`, `руб.`, `Kč`, `R$`, `NT$`, ...).
//! Unambiguous spellings are searched first in the price, then in the hint (a
//! separate currency element); shared ones (`$`, `kr`, `R`, `p.`) only after.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

/// A price read from text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPrice {
    /// The amount, when the text has one.
    pub amount: Option<f64>,
    /// The part of the text read as the amount (`1.299,00`).
    pub amount_text: Option<String>,
    /// The currency as written (`€`, `руб.`, `EUR`), when the text or hint has one.
    pub currency: Option<String>,
}

/// One spelling of a currency: the text, the ISO 4217 codes it may mean (the first
/// is the most used), and whether it is unambiguous enough to be searched first.
struct Spelling {
    text: &'static str,
    codes: &'static [&'static str],
    safe: bool,
}

macro_rules! sp {
    ($t:expr, [$($c:expr),+], $safe:expr) => {
        Spelling { text: $t, codes: &[$($c),+], safe: $safe }
    };
}

/// ISO 4217 active codes (plus a few historical ones still seen on old pages).
const ISO_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BYR", "BZD",
    "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUC", "CUP", "CVE", "CZK", "DEM", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
    "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LTL", "LVL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PTE", "PYG", "QAR",
    "RON", "RSD", "RUB", "RUR", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLL",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY",
    "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF",
    "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
];

/// ISO codes that are also common words in capitals (`ALL`, `TOP`, `CUP`): only read
/// next to a number.
const WORDLIKE_CODES: &[&str] = &["ALL", "TOP", "CUP", "MOP", "BOB", "PEN", "SOS", "CUC"];

/// CLDR symbols and local abbreviations (CLDR `symbol` and `symbol-alt-narrow`
/// values, with the abbreviated forms in everyday use in the same locales).
static SPELLINGS: &[Spelling] = &[
    sp!("€", ["EUR"], true),
    sp!("euro", ["EUR"], true),
    sp!("euros", ["EUR"], true),
    sp!("£", ["GBP"], true),
    sp!("₤", ["GBP"], true),
    sp!("¥", ["JPY", "CNY"], false),
    sp!("円", ["JPY"], true),
    sp!("元", ["CNY", "TWD", "HKD"], true),
    sp!("RMB", ["CNY"], true),
    sp!("₹", ["INR"], true),
    sp!("Rs.", ["INR", "PKR", "LKR", "NPR"], false),
    sp!("Rs", ["INR", "PKR", "LKR", "NPR"], false),
    sp!("₨", ["PKR", "INR", "LKR", "NPR"], true),
    sp!("र", ["NPR"], false),
    sp!("₽", ["RUB"], true),
    sp!("руб.", ["RUB", "BYN"], true),
    sp!("руб", ["RUB", "BYN"], true),
    sp!("р.", ["RUB", "BYN"], false),
    sp!("Р", ["RUB"], false),
    sp!("₴", ["UAH"], true),
    sp!("грн.", ["UAH"], true),
    sp!("грн", ["UAH"], true),
    sp!("₸", ["KZT"], true),
    sp!("тг.", ["KZT"], true),
    sp!("тг", ["KZT"], true),
    sp!("тенге", ["KZT"], true),
    sp!("лв.", ["BGN"], true),
    sp!("лв", ["BGN"], true),
    sp!("дин.", ["RSD"], true),
    sp!("ден", ["MKD"], true),
    sp!("Br", ["BYN", "ETB"], false),
    sp!("Kč", ["CZK"], true),
    sp!("zł", ["PLN"], true),
    sp!("Zł", ["PLN"], true),
    sp!("Ft", ["HUF"], true),
    sp!("lei", ["RON", "MDL"], true),
    sp!("Lei", ["RON", "MDL"], true),
    sp!("LEI", ["RON", "MDL"], true),
    sp!("Lek", ["ALL"], true),
    sp!("kn", ["HRK"], true),
    sp!("Kn", ["HRK"], true),
    sp!("KM", ["BAM"], true),
    sp!("Dinara", ["RSD"], true),
    sp!("kr.", ["DKK", "SEK", "NOK", "ISK"], false),
    sp!("kr", ["SEK", "NOK", "DKK", "ISK"], false),
    sp!(":-", ["SEK"], false),
    sp!("CHF", ["CHF"], true),
    sp!("Fr.", ["CHF"], true),
    sp!("fr.", ["CHF"], false),
    sp!("TL", ["TRY"], true),
    sp!("₺", ["TRY"], true),
    sp!("₪", ["ILS"], true),
    sp!("₾", ["GEL"], true),
    sp!("֏", ["AMD"], true),
    sp!("₼", ["AZN"], true),
    sp!("؋", ["AFN"], true),
    sp!("₮", ["MNT"], true),
    sp!("₩", ["KRW"], true),
    sp!("원", ["KRW"], true),
    sp!("₫", ["VND"], true),
    sp!("đ", ["VND"], false),
    sp!("₱", ["PHP"], true),
    sp!("฿", ["THB"], true),
    sp!("₭", ["LAK"], true),
    sp!("៛", ["KHR"], true),
    sp!("৳", ["BDT"], true),
    sp!("₦", ["NGN"], true),
    sp!("₡", ["CRC"], true),
    sp!("GH₵", ["GHS"], true),
    sp!("₵", ["GHS"], true),
    sp!("₲", ["PYG"], true),
    sp!("₣", ["FRF"], true),
    sp!("₶", ["FRF"], true),
    sp!("₿", ["XBT"], true),
    sp!("ƒ", ["ANG", "AWG"], true),
    sp!("﷼", ["IRR", "SAR", "OMR", "YER", "QAR"], true),
    sp!("ریال", ["IRR"], true),
    sp!("ريال", ["SAR", "OMR", "YER", "QAR"], true),
    sp!("ر.س", ["SAR"], true),
    sp!("ر.س.", ["SAR"], true),
    sp!("د.إ", ["AED"], true),
    sp!("درهم", ["AED", "MAD"], true),
    sp!("د.ك", ["KWD"], true),
    sp!("ج.م", ["EGP"], true),
    sp!("جنيه", ["EGP"], true),
    sp!("تومان", ["IRR"], true),
    sp!("R$", ["BRL"], true),
    sp!("US$", ["USD"], true),
    sp!("U$S", ["USD"], true),
    sp!("USD$", ["USD"], true),
    sp!("C$", ["CAD", "NIO"], true),
    sp!("CA$", ["CAD"], true),
    sp!("CAD$", ["CAD"], true),
    sp!("A$", ["AUD"], true),
    sp!("AU$", ["AUD"], true),
    sp!("AUD$", ["AUD"], true),
    sp!("NZ$", ["NZD"], true),
    sp!("NT$", ["TWD"], true),
    sp!("HK$", ["HKD"], true),
    sp!("S$", ["SGD"], true),
    sp!("SG$", ["SGD"], true),
    sp!("MX$", ["MXN"], true),
    sp!("RD$", ["DOP"], true),
    sp!("BZ$", ["BZD"], true),
    sp!("J$", ["JMD"], true),
    sp!("TT$", ["TTD"], true),
    sp!("T$", ["TOP"], true),
    sp!("Z$", ["ZWL"], true),
    sp!("CUC$", ["CUC"], true),
    sp!("MOP$", ["MOP"], true),
    sp!("$U", ["UYU"], true),
    sp!(
        "$",
        ["USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "SGD", "HKD", "TWD"],
        false
    ),
    sp!("B/.", ["PAB"], true),
    sp!("S/.", ["PEN"], true),
    sp!("S/", ["PEN"], true),
    sp!("Bs.", ["VES", "BOB"], true),
    sp!("Bs", ["VES", "BOB"], true),
    sp!("Rp", ["IDR"], true),
    sp!("RM", ["MYR"], true),
    sp!("KD", ["KWD"], true),
    sp!("BD", ["BHD"], true),
    sp!("DT", ["TND"], true),
    sp!("LD", ["LYD"], true),
    sp!("Nu.", ["BTN"], true),
    sp!("FBu", ["BIF"], true),
    sp!("Fdj", ["DJF"], true),
    sp!("FG", ["GNF"], true),
    sp!("FCFA", ["XAF", "XOF"], true),
    sp!("CFA", ["XOF", "XAF"], true),
    sp!("Nfk", ["ERN"], true),
    sp!("MK", ["MWK"], true),
    sp!("Rf", ["MVR"], true),
    sp!("UM", ["MRU"], true),
    sp!("Db", ["STN"], true),
    sp!("TSh", ["TZS"], true),
    sp!("USh", ["UGX"], true),
    sp!("KSh", ["KES"], true),
    sp!("VT", ["VUV"], true),
    sp!("ZK", ["ZMW"], true),
    sp!("R", ["ZAR"], false),
];

/// Where a spelling was found in a text.
struct Found {
    start: usize,
    end: usize,
    /// Index in [`SPELLINGS`], or `None` for an ISO code.
    spelling: Option<usize>,
}

static MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    let patterns: Vec<&str> = SPELLINGS
        .iter()
        .map(|s| s.text)
        .chain(ISO_CODES.iter().copied())
        .collect();
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .ascii_case_insensitive(true)
        .build(patterns)
        .expect("the currency table builds")
});

fn is_letter(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphabetic)
}

/// [`SPELLINGS`] in upper case, in the same order (made once: the matcher finds
/// upper-case spellings in every price text of a page).
static SPELLINGS_UPPER: LazyLock<Vec<String>> =
    LazyLock::new(|| SPELLINGS.iter().map(|s| s.text.to_uppercase()).collect());

/// Every currency spelling in `text`, left to right.
fn find_all(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for m in MATCHER.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        let found = &text[start..end];

        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let exact = SPELLINGS
            .iter()
            .position(|s| s.text == found)
            .or_else(|| SPELLINGS_UPPER.iter().position(|u| u == found));
        let (spelling, first, last) = if let Some(i) = exact {
            let s = &SPELLINGS[i];
            (Some(i), s.text.chars().next(), s.text.chars().next_back())
        } else if let Some(code) = ISO_CODES.iter().find(|c| c.eq_ignore_ascii_case(found)) {
            let upper = found == *code;
            let lower = found == code.to_ascii_lowercase();
            if !(upper || lower) || (lower && !is_common_code(code)) {
                continue;
            }
            if WORDLIKE_CODES.contains(code) && !next_to_digit(text, start, end) {
                continue;
            }
            (None, code.chars().next(), code.chars().next_back())
        } else {
            continue;
        };
        // A spelling that starts or ends with a letter must not be part of a word
        // (`R` in `Reduced`), except Cyrillic abbreviations, which are read inside
        // inflected words (`руб` in `рублей`).
        let cyrillic = first.is_some_and(|c| ('\u{400}'..='\u{4ff}').contains(&c));
        if is_letter(first) && is_letter(before) {
            continue;
        }
        if is_letter(last) && is_letter(after) && !cyrillic {
            continue;
        }
        out.push(Found {
            start,
            end,
            spelling,
        });
    }
    out
}

/// Lower-case ISO codes are read only for the currencies most often written so.
fn is_common_code(code: &str) -> bool {
    matches!(
        code,
        "EUR" | "USD" | "GBP" | "PLN" | "RUB" | "UAH" | "CZK" | "CHF" | "SEK" | "NOK" | "DKK"
    )
}

fn next_to_digit(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].trim_end().chars().next_back();
    let after = text[end..].trim_start().chars().next();
    before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit())
}

fn is_safe(f: &Found) -> bool {
    f.spelling.is_none_or(|i| SPELLINGS[i].safe)
}

/// The first of `found` (the spellings of `text`) that is safe, or not.
fn pick_currency<'a>(text: &'a str, found: &[Found], safe: bool) -> Option<&'a str> {
    found
        .iter()
        .find(|f| is_safe(f) == safe)
        .map(|f| &text[f.start..f.end])
}

/// The currency of a price text, with an optional separate currency element.
/// (The spellings of each text are found once, then looked through in order.)
pub fn find_currency<'a>(price: &'a str, hint: Option<&'a str>) -> Option<&'a str> {
    let hint = hint.filter(|h| !h.trim().is_empty());
    let in_price = find_all(price);
    let in_hint = hint.map(|h| (h, find_all(h)));
    let from_hint = |safe| {
        in_hint
            .as_ref()
            .and_then(|(h, f)| pick_currency(h, f, safe))
    };
    pick_currency(price, &in_price, true)
        // A dollar sign in the price itself wins over a code in a separate element.
        .or_else(|| {
            price
                .contains('$')
                .then(|| pick_currency(price, &in_price, false))
                .flatten()
        })
        .or_else(|| from_hint(true))
        .or_else(|| pick_currency(price, &in_price, false))
        .or_else(|| from_hint(false))
}

/// The amount part: digits with separators, not followed by `%`.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\d])(\.?\d[\d \u{a0}\u{202f}\u{2009}.,'’]*)").expect("valid regex")
});
/// A decimal separator followed by a space and the cents.
static SPACED_CENTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d[.,]) (\d{1,2}\b)").expect("valid regex"));
/// `12€50`: the euro sign as the decimal separator.
static EURO_CENTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d[\d .,]*?\d?\s?€\s?\d\d(?:[^\d]|$)").expect("valid regex"));

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// The text of the amount in `price`, as written (spaces inside removed).
pub fn amount_text(price: &str) -> Option<String> {
    if price.matches('€').count() == 1 {
        if let Some(m) = EURO_CENTS.find(price) {
            let t: String = m.as_str().chars().filter(|c| !c.is_whitespace()).collect();
            let t = t.trim_end_matches(|c: char| !c.is_ascii_digit());
            // Only when the euro sign sits between the units and two cents digits.
            if let Some(i) = t.find('€') {
                if t[i + '€'.len_utf8()..].len() == 2
                    && t[..i].ends_with(|c: char| c.is_ascii_digit())
                {
                    return Some(t.to_owned());
                }
            }
        }
    }
    for caps in NUMBER.captures_iter(price) {
        let m = caps.get(1).expect("group 1 always takes part");
        let raw = m.as_str();
        // Trailing separators and spaces belong to the text around the number.
        let mut t =
            raw.trim_end_matches(|c: char| is_space(c) || matches!(c, '.' | ',' | '\'' | '’'));
        // A space is inside a number only before a group of three digits.
        if let Some(cut) = bad_space(t) {
            t = &t[..cut];
        }
        let rest = &price[m.start() + t.len()..];
        if rest.trim_start_matches(is_space).starts_with('%') {
            continue;
        }
        let t: String = t.chars().filter(|c| !is_space(*c)).collect();
        let t = if t.matches('.').count() == 1 {
            t
        } else {
            t.trim_start_matches([',', '.']).to_owned()
        };
        if t.chars().any(|c| c.is_ascii_digit()) {
            return Some(t);
        }
    }
    price
        .to_lowercase()
        .contains("free")
        .then(|| "0".to_owned())
}

/// The byte offset of the first space in `t` that does not separate thousands.
fn bad_space(t: &str) -> Option<usize> {
    for (i, c) in t.char_indices() {
        if is_space(c) {
            let after: String = t[i + c.len_utf8()..]
                .chars()
                .take_while(|c| !is_space(*c))
                .collect();
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            let group_ok = digits == 3
                && after[3..]
                    .chars()
                    .next()
                    .is_none_or(|c| matches!(c, '.' | ',' | '\'' | '’'));
            if !group_ok {
                return Some(i);
            }
        }
    }
    None
}

/// The decimal separator of an amount text, if it has one.
fn decimal_separator(t: &str) -> Option<char> {
    let (i, sep) = t
        .char_indices()
        .rfind(|(_, c)| matches!(c, '.' | ',' | '€'))?;
    let digits = t[i + sep.len_utf8()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    match digits {
        3 => None,
        0 => None,
        _ => Some(sep),
    }
}

/// Reads an amount text such as `1.299,00` (with an optional known separator).
pub fn parse_number(t: &str, separator: Option<char>) -> Option<f64> {
    let t: String = t
        .chars()
        .filter(|c| !is_space(*c) && !matches!(c, '\'' | '’'))
        .collect();
    let sep = separator.or_else(|| decimal_separator(&t));
    let plain: String = match sep {
        None => t.chars().filter(|c| !matches!(c, '.' | ',')).collect(),
        Some(s) => t
            .chars()
            .filter_map(|c| match c {
                c if c == s => Some('.'),
                '.' | ',' | '€' => None,
                c => Some(c),
            })
            .collect(),
    };
    if plain.is_empty() || plain.len() > 40 {
        return None;
    }
    let v: f64 = plain.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// Parses a displayed price, with an optional separate currency element (`hint`)
/// and a known decimal separator.
pub fn parse_price(raw: &str, hint: Option<&str>, separator: Option<char>) -> ParsedPrice {
    let currency = find_currency(raw, hint).map(|c| c.trim().to_owned());
    // Digits inside a currency spelling (`MOP$`, `A$`) are not the amount; dots
    // inside one (`Rs.`, `руб.`) are not separators.
    let mut text = raw.to_owned();
    if let Some(c) = &currency {
        if c.chars().any(|c| c.is_ascii_digit() || c == '.') {
            text = text.replacen(c.as_str(), " ", 1);
        }
    }
    let text = strip_currency_dots(&text);
    // `119. 95`, `1.837, 32`: a space after the decimal separator.
    let text = SPACED_CENTS.replace_all(&text, "$1$2");
    let amount_text = amount_text(&text);
    let amount = amount_text
        .as_deref()
        .and_then(|t| parse_number(t, separator));
    ParsedPrice {
        amount,
        amount_text,
        currency,
    }
}

/// Removes the dot of an abbreviation that ends right before the amount (`Rs.99`,
/// `руб.`), so it is not read as a decimal point.
fn strip_currency_dots(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c == '.' && is_letter(prev) {
            out.push(' ');
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// What the page tells about its currency: its language (`en-GB`, `es-CL`) and the
/// host's country domain.
#[derive(Debug, Clone, Default)]
pub struct CurrencyContext {
    /// The page's language tag, from `<html lang>`.
    pub lang: Option<String>,
    /// The host name.
    pub host: Option<String>,
}

impl CurrencyContext {
    /// The ISO 3166 country the page addresses: the region of its language tag,
    /// else the host's country-code top-level domain.
    pub fn country(&self) -> Option<String> {
        let from_lang = self.lang.as_deref().and_then(|l| {
            l.split(['-', '_'])
                .skip(1)
                .find(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic()))
                .map(str::to_ascii_uppercase)
        });
        let from_host = self.host.as_deref().and_then(|h| {
            let tld = h.rsplit('.').next()?;
            (tld.len() == 2 && tld.chars().all(|c| c.is_ascii_alphabetic())).then(|| {
                match tld.to_ascii_uppercase().as_str() {
                    "UK" => "GB".to_owned(),
                    t => t.to_owned(),
                }
            })
        });
        from_host.or(from_lang)
    }
}

/// The currency of each country, ISO 3166 alpha-2 to ISO 4217 (the countries whose
/// currency symbol is shared with others, and the euro area).
const COUNTRY_CURRENCY: &[(&str, &str)] = &[
    ("US", "USD"),
    ("CA", "CAD"),
    ("AU", "AUD"),
    ("NZ", "NZD"),
    ("MX", "MXN"),
    ("AR", "ARS"),
    ("CL", "CLP"),
    ("CO", "COP"),
    ("SG", "SGD"),
    ("HK", "HKD"),
    ("TW", "TWD"),
    ("UY", "UYU"),
    ("EC", "USD"),
    ("SV", "USD"),
    ("PR", "USD"),
    ("SE", "SEK"),
    ("NO", "NOK"),
    ("DK", "DKK"),
    ("IS", "ISK"),
    ("JP", "JPY"),
    ("CN", "CNY"),
    ("ZA", "ZAR"),
    ("IN", "INR"),
    ("PK", "PKR"),
    ("LK", "LKR"),
    ("NP", "NPR"),
    ("RU", "RUB"),
    ("BY", "BYN"),
    ("GB", "GBP"),
    ("BR", "BRL"),
    ("KR", "KRW"),
    ("KZ", "KZT"),
    ("UA", "UAH"),
    ("PL", "PLN"),
    ("CZ", "CZK"),
    ("HU", "HUF"),
    ("RO", "RON"),
    ("MD", "MDL"),
    ("BG", "BGN"),
    ("HR", "EUR"),
    ("CH", "CHF"),
    ("TR", "TRY"),
    ("IL", "ILS"),
    ("SA", "SAR"),
    ("AE", "AED"),
    ("EG", "EGP"),
    ("MA", "MAD"),
    ("IR", "IRR"),
    ("NI", "NIO"),
    ("ET", "ETB"),
    ("VE", "VES"),
    ("BO", "BOB"),
    ("PE", "PEN"),
    ("OM", "OMR"),
    ("YE", "YER"),
    ("QA", "QAR"),
    ("KW", "KWD"),
    ("BH", "BHD"),
    ("TH", "THB"),
    ("VN", "VND"),
    ("PH", "PHP"),
    ("ID", "IDR"),
    ("MY", "MYR"),
    ("AT", "EUR"),
    ("BE", "EUR"),
    ("CY", "EUR"),
    ("DE", "EUR"),
    ("EE", "EUR"),
    ("ES", "EUR"),
    ("FI", "EUR"),
    ("FR", "EUR"),
    ("GR", "EUR"),
    ("IE", "EUR"),
    ("IT", "EUR"),
    ("LT", "EUR"),
    ("LU", "EUR"),
    ("LV", "EUR"),
    ("MT", "EUR"),
    ("NL", "EUR"),
    ("PT", "EUR"),
    ("SI", "EUR"),
    ("SK", "EUR"),
];

/// The currency of an ISO 3166 country, when this table knows it.
pub fn country_currency(country: &str) -> Option<&'static str> {
    COUNTRY_CURRENCY
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, code)| *code)
}

/// The ISO 4217 code of a written currency (`€`, `руб.`, `usd`, `$`). A shared
/// symbol is resolved by the page's country when that country uses one of its
/// currencies, else it means its most used currency.
pub fn currency_code(written: &str, ctx: &CurrencyContext) -> Option<&'static str> {
    let w = written.trim();
    if w.is_empty() {
        return None;
    }
    if let Some(code) = ISO_CODES.iter().find(|c| c.eq_ignore_ascii_case(w)) {
        return Some(code);
    }
    let s = SPELLINGS
        .iter()
        .find(|s| s.text == w)
        .or_else(|| SPELLINGS.iter().find(|s| s.text.eq_ignore_ascii_case(w)))?;
    if s.codes.len() > 1 {
        if let Some(local) = ctx.country().as_deref().and_then(country_currency) {
            if let Some(c) = s.codes.iter().find(|c| **c == local) {
                return Some(c);
            }
        }
    }
    s.codes.first().copied()
}

/// All ISO 4217 codes a written currency may stand for (`$`: every dollar).
pub fn currency_codes(written: &str) -> Vec<&'static str> {
    let w = written.trim();
    if let Some(code) = ISO_CODES.iter().find(|c| c.eq_ignore_ascii_case(w)) {
        return vec![code];
    }
    SPELLINGS
        .iter()
        .filter(|s| s.text == w || s.text.eq_ignore_ascii_case(w))
        .flat_map(|s| s.codes.iter().copied())
        .collect()
}

/// True when `code` is an ISO 4217 code this module knows.
pub fn is_iso_code(code: &str) -> bool {
    ISO_CODES.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> (Option<f64>, Option<String>) {
        let r = parse_price(raw, None, None);
        (r.amount, r.currency)
    }

    #[test]
    fn common_forms() {
        assert_eq!(p("€ 1.299,00"), (Some(1299.0), Some("€".into())));
        assert_eq!(p("1 299 руб."), (Some(1299.0), Some("руб.".into())));
        assert_eq!(p("US$:12.99"), (Some(12.99), Some("US$".into())));
        assert_eq!(p("$1,299.00"), (Some(1299.0), Some("$".into())));
        assert_eq!(p("-20% 19,90 €"), (Some(19.9), Some("€".into())));
        assert_eq!(p("12€50"), (Some(12.5), Some("€".into())));
        assert_eq!(p("Rs. 1,200"), (Some(1200.0), Some("Rs.".into())));
        assert_eq!(p("free"), (Some(0.0), None));
        assert_eq!(p("no price"), (None, None));
        assert_eq!(p("CHF 1'299.50"), (Some(1299.5), Some("CHF".into())));
    }

    #[test]
    fn currency_codes_use_the_page_country() {
        let cl = CurrencyContext {
            lang: Some("es".into()),
            host: Some("www.paris.cl".into()),
        };
        assert_eq!(currency_code("$", &cl), Some("CLP"));
        assert_eq!(currency_code("$", &CurrencyContext::default()), Some("USD"));
        assert_eq!(currency_code("£", &cl), Some("GBP"));
        assert_eq!(currency_code("eur", &cl), Some("EUR"));
        assert_eq!(currency_code("тг.", &cl), Some("KZT"));
        assert_eq!(currency_code("nonsense", &cl), None);
    }

    /// Zyte's price-parser test table (`../shared/data/price-parser`): the rows it
    /// passes itself, amount and currency as written.
    #[test]
    fn price_parser_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/price-parser/price_examples.csv");
        let Ok(mut reader) = csv::Reader::from_path(&path) else {
            eprintln!("skipping: {} is absent", path.display());
            return;
        };
        let (mut rows, mut amount_ok, mut currency_ok) = (0, 0, 0);
        let mut misses = Vec::new();
        for rec in reader.records() {
            let rec = rec.unwrap();
            if &rec[2] != "pass" {
                continue;
            }
            rows += 1;
            let hint = Some(&rec[4]).filter(|h| !h.is_empty());
            let sep = rec[5].chars().next();
            let got = parse_price(&rec[3], hint, sep);
            let want: Option<f64> = rec[6].parse().ok();
            let same = match (got.amount, want) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                (None, None) => true,
                _ => false,
            };
            amount_ok += usize::from(same);
            let want_c = Some(&rec[8]).filter(|c| !c.is_empty());
            let c_ok = got.currency.as_deref() == want_c;
            currency_ok += usize::from(c_ok);
            if !same || !c_ok {
                misses.push(format!(
                    "{:?} {:?} -> {:?} {:?}, want {} {:?}",
                    &rec[3], hint, got.amount, got.currency, &rec[6], want_c
                ));
            }
        }
        let a = amount_ok as f64 / rows as f64;
        let c = currency_ok as f64 / rows as f64;
        eprintln!("{rows} rows: amount {a:.3}, currency {c:.3}");
        for m in misses.iter().take(80) {
            eprintln!("  {m}");
        }
        assert!(a >= 0.99, "amount accuracy {a:.3}");
        assert!(c >= 0.99, "currency accuracy {c:.3}");
    }
}
