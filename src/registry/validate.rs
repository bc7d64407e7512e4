//! The rules a mark must meet before it is stored, whatever file format it came
//! from. Validation also normalises: surrounding whitespace is trimmed and currency
//! codes are upper-cased, so the stored form (and thus the export) is canonical.

use super::currency::is_iso_4217;
use super::model::Mark;
use super::problem::{FieldPath, FieldProblem};

/// The longest accepted mark id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// The longest accepted name, alias, owner, seller id or registration field, in
/// characters.
pub const MAX_TEXT_LEN: usize = 200;

/// The most aliases one mark may have. A mark's aliases are its spellings in other
/// scripts and languages and its short forms: the bundled registry uses at most 5;
/// 64 leaves room for every official language of the EU and of the largest
/// marketplaces twice over. Each alias becomes several matcher terms (its folded,
/// look-alike and pinyin keys, its misspelling index entries), so an unbounded list
/// would make every later scan slow to start.
pub const MAX_ALIASES: usize = 64;

/// The most authorised sellers one mark may list (a brand's authorised resellers on
/// one registry record; larger lists belong in the feedback banks).
pub const MAX_AUTHORIZED_SELLERS: usize = 10_000;

/// The most reference images one mark may have: each is decoded and hashed (with its
/// crops) at import and indexed for every listing photo.
pub const MAX_IMAGES: usize = 64;

/// The most names and aliases one registry may hold in all. The matcher is built
/// from all of them when a scan starts: 1.3 s for the 140,341 terms of a
/// 100,000-mark registry on one idle core (BENCHMARKS.md, "Scale"), so 500,000 keeps
/// a start near 5 s and its memory near 1.5 GiB.
pub const MAX_TERMS: usize = 500_000;

/// Normalises `mark` in place and returns every rule it breaks (images excepted:
/// they need the file system, see `images.rs`).
pub fn validate(mark: &mut Mark) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    mark.id = mark.id.trim().to_owned();
    if let Err(reason) = check_id(&mark.id) {
        problems.push(FieldProblem::new(FieldPath::key("id"), reason));
    }
    text(&mut mark.name, FieldPath::key("name"), &mut problems);
    count(mark.aliases.len(), MAX_ALIASES, "aliases", &mut problems);
    count(
        mark.authorized_sellers.len(),
        MAX_AUTHORIZED_SELLERS,
        "authorized_sellers",
        &mut problems,
    );
    count(mark.images.len(), MAX_IMAGES, "images", &mut problems);
    for (i, alias) in mark.aliases.iter_mut().enumerate() {
        text(alias, FieldPath::key("aliases").index(i), &mut problems);
    }
    if let Some(owner) = &mut mark.owner {
        text(owner, FieldPath::key("owner"), &mut problems);
    }
    for (i, &class) in mark.classes.iter().enumerate() {
        let path = FieldPath::key("classes").index(i);
        if !(1..=45).contains(&class) {
            problems.push(FieldProblem::new(
                path,
                format!("Nice class {class} does not exist (classes run from 1 to 45)"),
            ));
        } else if mark.classes[..i].contains(&class) {
            problems.push(FieldProblem::new(
                path,
                format!("class {class} is listed twice"),
            ));
        }
    }
    for (i, registration) in mark.registrations.iter_mut().enumerate() {
        let path = FieldPath::key("registrations").index(i);
        text(
            &mut registration.office,
            path.child("office"),
            &mut problems,
        );
        text(
            &mut registration.number,
            path.child("number"),
            &mut problems,
        );
    }
    if let Some(money) = &mut mark.min_price {
        let path = FieldPath::key("min_price");
        if !money.amount.is_finite() || money.amount < 0.0 {
            problems.push(FieldProblem::new(
                path.child("amount"),
                format!("must be a non-negative finite number, not {}", money.amount),
            ));
        }
        money.currency = money.currency.trim().to_ascii_uppercase();
        if !is_iso_4217(&money.currency) {
            problems.push(FieldProblem::new(
                path.child("currency"),
                format!(
                    "`{}` is not an active ISO 4217 currency code",
                    money.currency
                ),
            ));
        }
    }
    for (i, seller) in mark.authorized_sellers.iter_mut().enumerate() {
        text(
            seller,
            FieldPath::key("authorized_sellers").index(i),
            &mut problems,
        );
    }
    for (i, image) in mark.images.iter().enumerate() {
        if image.path.trim().is_empty() {
            problems.push(FieldProblem::new(
                FieldPath::key("images").index(i).child("path"),
                "must not be empty",
            ));
        }
    }
    if let Err((field, reason)) = mark.bank.check() {
        problems.push(FieldProblem::new(FieldPath::key(&field), reason));
    }
    problems
}

/// Checks a mark id against `[a-z0-9][a-z0-9._-]*` and [`MAX_ID_LEN`].
pub fn check_id(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    match chars.next() {
        None => return Err("must not be empty".into()),
        Some(first) if !(first.is_ascii_lowercase() || first.is_ascii_digit()) => {
            return Err(format!(
                "`{id}` must start with a lower-case letter or a digit ([a-z0-9][a-z0-9._-]*)"
            ));
        }
        Some(_) => {}
    }
    if let Some(bad) = chars
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{id}` contains {bad:?}; ids use only a-z, 0-9, '.', '_' and '-'"
        ));
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "is {} characters long; at most {MAX_ID_LEN} are allowed",
            id.len()
        ));
    }
    Ok(())
}

/// Refuses a list longer than `max`, naming the field and the limit.
fn count(len: usize, max: usize, field: &str, problems: &mut Vec<FieldProblem>) {
    if len > max {
        problems.push(FieldProblem::new(
            FieldPath::key(field),
            format!("has {len} entries; at most {max} are allowed"),
        ));
    }
}

/// Trims `value` and checks it is non-empty, short enough and free of control and
/// bidirectional-override characters (which could disguise text on a terminal).
fn text(value: &mut String, path: FieldPath, problems: &mut Vec<FieldProblem>) {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_owned();
    }
    if value.is_empty() {
        problems.push(FieldProblem::new(path, "must not be empty"));
    } else if let Some(bad) = value.chars().find(|&c| is_forbidden(c)) {
        problems.push(FieldProblem::new(
            path,
            format!("contains the control character U+{:04X}", u32::from(bad)),
        ));
    } else if value.chars().count() > MAX_TEXT_LEN {
        problems.push(FieldProblem::new(
            path,
            format!("is longer than {MAX_TEXT_LEN} characters"),
        ));
    }
}

/// Control characters, and the bidirectional embeddings, overrides and isolates.
fn is_forbidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::model::{Money, Registration};

    fn mark(id: &str, name: &str) -> Mark {
        Mark {
            id: id.into(),
            name: name.into(),
            ..Mark::default()
        }
    }

    fn fields(problems: &[FieldProblem]) -> Vec<String> {
        problems.iter().map(|p| p.path.to_string()).collect()
    }

    #[test]
    fn accepts_and_normalises_a_good_mark() {
        let mut m = mark("zentrix", "  Zentrix ");
        m.aliases = vec!["泽特里克斯".into(), " ZTX".into()];
        m.classes = vec![25, 28];
        m.min_price = Some(Money {
            amount: 80.0,
            currency: "usd".into(),
        });
        assert_eq!(validate(&mut m), vec![]);
        assert_eq!(m.name, "Zentrix");
        assert_eq!(m.aliases[1], "ZTX");
        assert_eq!(m.min_price.unwrap().currency, "USD");
    }

    #[test]
    fn ids_follow_the_pattern() {
        for good in ["a", "zentrix", "copper-finch", "x.y_z-1", "9lives"] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in ["", "Zentrix", "-a", ".a", "a b", "zé", "a/b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_id(&"a".repeat(MAX_ID_LEN)).is_ok());
        assert!(check_id(&"a".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn reports_every_broken_rule() {
        let mut m = mark("Bad Id", " ");
        m.aliases = vec!["ok".into(), "".into()];
        m.owner = Some("Evil\u{202E}Corp".into());
        m.classes = vec![25, 0, 46, 25];
        m.registrations = vec![Registration {
            office: "USPTO".into(),
            number: " ".into(),
        }];
        m.min_price = Some(Money {
            amount: -1.0,
            currency: "DOLLARS".into(),
        });
        m.authorized_sellers = vec!["a\tb".into()];
        let problems = validate(&mut m);
        assert_eq!(
            fields(&problems),
            [
                "id",
                "name",
                "aliases[1]",
                "owner",
                "classes[1]",
                "classes[2]",
                "classes[3]",
                "registrations[0].number",
                "min_price.amount",
                "min_price.currency",
                "authorized_sellers[0]",
            ]
        );
    }

    #[test]
    fn caps_aliases_sellers_and_images_per_mark() {
        let mut m = mark("a", "A");
        m.aliases = (0..=MAX_ALIASES).map(|i| format!("alias {i}")).collect();
        assert_eq!(fields(&validate(&mut m)), ["aliases"]);
        m.aliases.truncate(MAX_ALIASES);
        assert!(validate(&mut m).is_empty());
        m.authorized_sellers = vec!["s".into(); MAX_AUTHORIZED_SELLERS + 1];
        let problems = validate(&mut m);
        assert_eq!(fields(&problems), ["authorized_sellers"]);
        assert!(problems[0].reason.contains("at most 10000"), "{problems:?}");
    }

    #[test]
    fn rejects_non_finite_amounts() {
        for amount in [f64::NAN, f64::INFINITY] {
            let mut m = mark("a", "A");
            m.min_price = Some(Money {
                amount,
                currency: "EUR".into(),
            });
            assert_eq!(fields(&validate(&mut m)), ["min_price.amount"]);
        }
    }
}
