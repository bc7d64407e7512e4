//! Prices shown with and without VAT.
//!
//! Shops that also sell to businesses show two prices for one offer: the net price
//! ("bez DPH", "excl. VAT", "HT") and the price a consumer pays ("s DPH", "incl.
//! VAT", "TTC"). A listing's price is the consumer price, so a price labelled as
//! excluding tax gives way to the one labelled as including it in the same price
//! block ([`super::dom`] applies the rule; this module reads the labels).
//!
//! # Where the words come from
//!
//! General vocabulary, not any page: the name of value added tax (or sales tax) in
//! the languages of the EU and its neighbours, as tax authorities and shops write
//! it (VAT, MwSt/USt, TVA, IVA, btw, moms, mva, ALV, DPH, DDV, PDV, ÁFA, ДДС, ΦΠΑ,
//! km, PVN, PVM, KDV, НДС, ПДВ, GST), and the dictionary words for "with",
//! "including", "without", "excluding" and "plus" in the same languages that are
//! written beside it ("inkl. MwSt.", "IVA incluida", "zzgl. MwSt.", "sin IVA",
//! "brez DDV", "km-ga", "be PVM"). The few labels that stand alone are the
//! accounting words for gross and net ("brutto", "netto", "bruttó", "nettó") and
//! the French abbreviations "TTC" (toutes taxes comprises) and "HT" (hors taxes).
//! The same words written as class names ("price-excluding-tax", the convention of
//! Magento and other shop software; "notax", "incl-vat") count too.
//!
//! # How near the label must be
//!
//! A label belongs to a price when it is in the price's own text, in the text of
//! the element just before it (`<dt>`, `<th>`, a `<span>` label), or in the text
//! of one of its nearest [`LABEL_LEVELS`] ancestors as long as that text holds no
//! other amount and is at most [`LABEL_TEXT`] characters: a price block ("Cena
//! bez DPH: 4 386,00 €", "19,90 € inkl. 19 % MwSt.") is a line or two, and an
//! ancestor holding a second amount is already the block of both prices, where a
//! label could belong to either. Short words ("s", "z", "ex", "su") count only
//! right before the tax name, longer ones within [`WORD_GAP`] words of it
//! ("inkl. gesetzl. MwSt.", "inkl. 19 % MwSt."). A text with both kinds of label
//! is no label.

use scraper::ElementRef;

/// The most characters of an ancestor's text read for a label: two short lines.
pub const LABEL_TEXT: usize = 80;
/// How many ancestors of a price are read for a label.
pub const LABEL_LEVELS: usize = 3;
/// How many words may stand between "including"/"excluding" and the tax name.
pub const WORD_GAP: usize = 3;

/// What a price's label says about tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tax {
    /// Excluding VAT: a net price.
    Excluded,
    /// Including VAT: what a consumer pays.
    Included,
}

/// Names of VAT (and sales tax) in the languages of the EU and its neighbours,
/// lower case, as single words (`MwSt.` → `mwst`, `PDV-om` → `pdv`).
const TAX_NAMES: &[&str] = &[
    "vat",            // English, Polish, Maltese, Irish
    "tax",            // English
    "taxes",          // English, French
    "taxe",           // French
    "tva",            // French, Romanian
    "mwst",           // German (Mehrwertsteuer)
    "mehrwertsteuer", // German
    "ust",            // German (Umsatzsteuer)
    "umsatzsteuer",   // German
    "iva",            // Italian, Spanish, Portuguese
    "btw",            // Dutch
    "moms",           // Danish, Swedish
    "mva",            // Norwegian
    "alv",            // Finnish
    "dph",            // Czech, Slovak
    "ddv",            // Slovenian
    "pdv",            // Croatian, Serbian, Bosnian
    "áfa",            // Hungarian
    "afa",            // Hungarian without accents
    "ддс",            // Bulgarian
    "dds",            // Bulgarian in Latin letters
    "φπα",            // Greek
    "fpa",            // Greek in Latin letters
    "km",             // Estonian (käibemaks)
    "käibemaks",      // Estonian
    "käibemaksu",     // Estonian
    "pvn",            // Latvian
    "pvm",            // Lithuanian
    "kdv",            // Turkish
    "ндс",            // Russian
    "пдв",            // Ukrainian
    "gst",            // English outside the EU
];

/// "Including", "with": written before or after the tax name.
const WITH_WORDS: &[&str] = &[
    "incl",
    "inc",
    "including",
    "inclusive",
    "included",
    "with",
    "inkl",      // German, Danish, Swedish, Norwegian
    "inklusive", // German
    "inklusiv",  // Danish, Swedish
    "inbegriffen",
    "enthalten",
    "ttc",
    "compris",
    "comprise",
    "comprises",
    "inclus",
    "incluse",
    "incluida", // Spanish
    "incluido",
    "incluidos",
    "incluidas",
    "con",
    "incluído", // Portuguese
    "incluída",
    "com",
    "inclusa", // Italian
    "incluso",
    "compresa",
    "compreso",
    "inclusief", // Dutch
    "met",
    "med", // Scandinavian
    "sis", // Finnish (sisältää)
    "sisältää",
    "s", // Czech, Slovak, Croatian
    "sa",
    "vč",      // Czech
    "včetně",  // Czech
    "vrátane", // Slovak
    "z",       // Slovenian, Polish
    "vključno",
    "uključen", // Croatian
    "uključeno",
    "uključujući",
    "ga",  // Estonian suffix "-ga" (km-ga)
    "ar",  // Latvian
    "su",  // Lithuanian
    "cu",  // Romanian
    "с",   // Bulgarian, Russian
    "със", // Bulgarian
    "вкл", // Bulgarian, Russian
    "включая",
    "включен",
    "включено",
    "з",     // Ukrainian
    "με",    // Greek
    "συμπ",  // Greek (συμπεριλαμβανομένου)
    "dahil", // Turkish
    "tym",   // Polish "w tym VAT"
];

/// "Excluding", "without", "plus": written before or after the tax name.
const WITHOUT_WORDS: &[&str] = &[
    "excl",
    "ex",
    "excluding",
    "exclusive",
    "excluded",
    "without",
    "plus",
    "exkl", // German, Swedish
    "exklusive",
    "ohne",
    "zzgl", // German (zuzüglich)
    "zuzüglich",
    "hors", // French
    "sans",
    "ht",
    "sin", // Spanish
    "excluido",
    "excluida",
    "sem", // Portuguese
    "excluído",
    "esclusa", // Italian
    "escluso",
    "escl",
    "exclusief", // Dutch
    "zonder",
    "ekskl", // Danish, Norwegian
    "eks",
    "uden",
    "utan",  // Swedish
    "uten",  // Norwegian
    "ilman", // Finnish
    "bez",   // Czech, Slovak, Polish, Croatian, Latvian
    "brez",  // Slovenian
    "ta",    // Estonian suffix "-ta" (km-ta)
    "be",    // Lithuanian
    "fără",  // Romanian
    "fara",
    "без",   // Bulgarian, Russian, Ukrainian
    "χωρίς", // Greek
    "hariç", // Turkish
    "haric",
    "nélkül", // Hungarian
];

/// Labels that need no tax name: gross and net, and the French abbreviations.
const STANDALONE: &[(&str, Tax)] = &[
    ("brutto", Tax::Included),
    ("bruttó", Tax::Included),
    ("ttc", Tax::Included),
    ("verollinen", Tax::Included), // Finnish
    ("käibemaksuga", Tax::Included),
    ("áfával", Tax::Included), // Hungarian
    ("áfás", Tax::Included),
    ("netto", Tax::Excluded),
    ("nettó", Tax::Excluded),
    ("ht", Tax::Excluded),
    ("veroton", Tax::Excluded), // Finnish
    ("käibemaksuta", Tax::Excluded),
];

/// Words that turn "including" into "excluding" ("IVA no incluido", "MwSt. nicht
/// enthalten").
const NEGATIONS: &[&str] = &[
    "no", "not", "não", "nao", "non", "nicht", "niet", "ikke", "inte",
];

/// Class or id tokens ([`super::dom`] splits names into words and camel-case
/// parts) that say a price is net or gross.
const CLASS_EXCLUDED: &[&str] = &[
    "excl",
    "excluding",
    "exclusive",
    "notax",
    "withouttax",
    "exvat",
    "exclvat",
    "excltax",
    "net",
    "netto",
    "nettoprice",
    "pricenet",
];
const CLASS_INCLUDED: &[&str] = &[
    "incl",
    "including",
    "inclusive",
    "withtax",
    "inclvat",
    "incltax",
    "gross",
    "brutto",
    "bruttoprice",
    "pricegross",
];

/// The tax label of a text, if it has one kind only.
pub fn label_of_text(text: &str) -> Option<Tax> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let (mut incl, mut excl) = (false, false);
    let mut mark = |t: Tax| match t {
        Tax::Included => incl = true,
        Tax::Excluded => excl = true,
    };
    for (i, w) in words.iter().enumerate() {
        if let Some((_, t)) = STANDALONE.iter().find(|(s, _)| s == w) {
            mark(*t);
        }
        if !TAX_NAMES.contains(w) {
            continue;
        }
        // The words around the tax name, nearest first: before it, then after.
        let before = (1..=WORD_GAP).filter_map(|d| i.checked_sub(d).map(|j| (d, j)));
        let after = (1..=WORD_GAP)
            .map(|d| (d, i + d))
            .filter(|(_, j)| *j < words.len());
        for (d, j) in before.chain(after) {
            let v = words[j];
            // One- and two-letter words ("s", "z", "ex", "su") are common words
            // elsewhere: only right next to the tax name.
            if d > 1 && v.chars().count() <= 2 {
                continue;
            }
            let negated = j > 0 && NEGATIONS.contains(&words[j - 1]);
            if WITH_WORDS.contains(&v) {
                mark(if negated {
                    Tax::Excluded
                } else {
                    Tax::Included
                });
            } else if WITHOUT_WORDS.contains(&v) {
                mark(Tax::Excluded);
            }
        }
    }
    match (incl, excl) {
        (true, false) => Some(Tax::Included),
        (false, true) => Some(Tax::Excluded),
        _ => None,
    }
}

/// The tax label of class or id tokens.
fn label_of_token(t: &str) -> Option<Tax> {
    if CLASS_EXCLUDED.contains(&t) {
        Some(Tax::Excluded)
    } else if CLASS_INCLUDED.contains(&t) {
        Some(Tax::Included)
    } else {
        None
    }
}

/// How many amounts a text holds, percentages ("19 %") not counted.
fn amounts(text: &str) -> usize {
    let mut n = 0;
    let mut rest = text;
    while let Some(m) = super::dom::first_number(rest) {
        let after = rest[m.1..].trim_start();
        if !after.starts_with('%') {
            n += 1;
        }
        rest = &rest[m.1..];
    }
    n
}

/// The short text of `e` (at most [`LABEL_TEXT`] characters), read without
/// walking a long subtree.
fn short(e: ElementRef<'_>) -> Option<String> {
    super::dom::short_text(e, LABEL_TEXT)
}

/// The tax label of the price in `e` (see the module's notes for how near a label
/// must be).
pub fn label(e: ElementRef<'_>) -> Option<Tax> {
    let mut cur = Some(e);
    for level in 0..=LABEL_LEVELS {
        let x = cur?;
        let text = short(x)?;
        // An ancestor holding a second amount is the block of several prices.
        if level > 0 && amounts(&text) > 1 {
            return None;
        }
        let mut by_class = None;
        super::dom::any_attr_token(x, &mut |t| {
            by_class = label_of_token(t);
            by_class.is_some()
        });
        if by_class.is_some() {
            return by_class;
        }
        if let Some(t) = label_of_text(&text) {
            return Some(t);
        }
        // A label element just before: `<dt>`, `<th>`, `<span>bez DPH</span>`.
        let prev = x
            .prev_siblings()
            .filter_map(ElementRef::wrap)
            .next()
            .and_then(short)
            .filter(|t| amounts(t) == 0);
        if let Some(t) = prev.as_deref().and_then(label_of_text) {
            return Some(t);
        }
        cur = x.parent().and_then(ElementRef::wrap);
    }
    None
}

/// Standard and reduced VAT rates of the EU member states of 3 % and more, in per
/// cent (the European Commission's table "VAT rates applied in the Member States",
/// 2020s: from Luxembourg's 3 % and France's 5.5 % to Hungary's 27 %, Finland's
/// 25.5 % since 2024), with the UK's 20 %, Switzerland's 7.7 and 8.1 % and Norway's
/// 25 % among them. The super-reduced rates below 3 % are left out: the fewer
/// rates, the fewer chance matches between two unrelated amounts.
const VAT_RATES: &[f64] = &[
    3.0, 4.0, 5.0, 5.5, 6.0, 7.0, 7.7, 8.0, 8.1, 9.0, 9.5, 10.0, 12.0, 13.0, 13.5, 14.0, 15.0,
    16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 25.5, 27.0,
];

/// How far apart, in currency units, `net` × (1 + rate) and `gross` may be: both
/// are shown rounded to cents, so the product is off by at most half a cent times
/// 1.27 plus half a cent; 0.012 holds that and excludes a cent's difference.
const ROUNDING: f64 = 0.012;

/// True when `gross` is `net` plus VAT at one of the EU's rates.
pub fn adds_vat(net: f64, gross: f64) -> bool {
    net > 0.0
        && gross > net
        && VAT_RATES
            .iter()
            .any(|r| (net * (1.0 + r / 100.0) - gross).abs() <= ROUNDING)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    #[test]
    fn labels_in_several_languages() {
        for (text, want) in [
            ("bez DPH", Some(Tax::Excluded)),
            ("s DPH", Some(Tax::Included)),
            ("19,90 € inkl. 19 % MwSt.", Some(Tax::Included)),
            ("zzgl. MwSt.", Some(Tax::Excluded)),
            ("Prix HT", Some(Tax::Excluded)),
            ("12,00 € TTC", Some(Tax::Included)),
            ("IVA incluida", Some(Tax::Included)),
            ("IVA no incluido", Some(Tax::Excluded)),
            ("excl. BTW", Some(Tax::Excluded)),
            ("ekskl. moms", Some(Tax::Excluded)),
            ("Cena z DDV", Some(Tax::Included)),
            ("Brez DDV:", Some(Tax::Excluded)),
            ("£20 ex VAT", Some(Tax::Excluded)),
            ("Kaina su PVM", Some(Tax::Included)),
            ("Hind km-ta", Some(Tax::Excluded)),
            ("brutto", Some(Tax::Included)),
            ("cena netto", Some(Tax::Excluded)),
            ("Price: incl. VAT / excl. VAT", None),
            ("Free shipping", None),
            ("s nami", None),
            ("19,90 €", None),
        ] {
            assert_eq!(label_of_text(text), want, "{text}");
        }
    }

    #[test]
    fn a_one_letter_word_counts_only_next_to_the_tax_name() {
        // "s" three words before "DPH" is not "with DPH".
        assert_eq!(label_of_text("s 2 ks DPH"), None);
        assert_eq!(label_of_text("2 ks s DPH"), Some(Tax::Included));
    }

    fn label_of(html: &str, selector: &str) -> Option<Tax> {
        let doc = Html::parse_fragment(html);
        let s = Selector::parse(selector).unwrap();
        label(doc.select(&s).next().unwrap())
    }

    #[test]
    fn a_label_belongs_to_the_price_of_its_block() {
        let html = r#"<div class="box">
            <p class="a"><span>Excl. VAT:</span> <b id="one">10,00 €</b></p>
            <p class="b"><b id="two">12,00 €</b></p>
            <dl><dt>Inkl. MwSt.</dt><dd id="dd">12,00 €</dd></dl>
            <div class="price-excluding-tax"><span id="cls">10,00 €</span></div>
        </div>"#;
        assert_eq!(label_of(html, "#one"), Some(Tax::Excluded));
        // The label before the first price is no label of the second (their
        // common ancestor holds both prices). An id or class is read as a label
        // too: "#two", not "#gross".
        assert_eq!(label_of(html, "#two"), None);
        assert_eq!(label_of(html, "#dd"), Some(Tax::Included));
        assert_eq!(label_of(html, "#cls"), Some(Tax::Excluded));
    }

    #[test]
    fn vat_at_an_eu_rate() {
        assert!(adds_vat(100.0, 120.0));
        assert!(adds_vat(8.26, 10.0)); // 21 %, net rounded from the gross
        assert!(adds_vat(36.53, 40.0)); // 9.5 %
        assert!(!adds_vat(100.0, 111.0));
        assert!(!adds_vat(100.0, 100.0));
        assert!(!adds_vat(0.0, 1.0));
        assert!(!adds_vat(f64::NAN, 1.0));
    }
}
