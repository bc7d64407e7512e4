//! Notices from rights holders and anyone else (EU Digital Services Act,
//! Article 16): what a notice must carry, how it is checked, and what the notifier
//! is told once the listings it names are decided.
//!
//! A notice names a registered mark and up to [`MAX_URLS`] listing URLs. Each URL
//! becomes a finding of that mark with `source = notice`: the finding the matcher
//! already made for the listing, or a new one (on a listing stored for the notice
//! when markhound has not seen the URL). A dismissed finding that a notice names is
//! reopened: a notice is owed a decision of its own.
//!
//! Findings a notice names rank at least [`ARTICLE_16_SCORE`] in the queue, the
//! suspect threshold, so a person's assertion always reaches a reviewer; those of a
//! trusted flagger (Article 22, "processed with priority") rank at least
//! [`TRUSTED_FLAGGER_SCORE`], above every title finding without a photo match.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ReviewError, Source, State};

/// The most URLs one notice may name (a platform's bulk notice forms take a few
/// hundred; one notice is one explanation, so a hundred listings at most).
pub const MAX_URLS: usize = 100;
/// The longest URL accepted (the common limit of browsers and servers).
pub const MAX_URL_LEN: usize = 2_048;
/// The explanation's bounds: Article 16(2)(a) asks for a "sufficiently
/// substantiated explanation", which a few words are not.
pub const MIN_EXPLANATION: usize = 20;
/// The longest explanation accepted.
pub const MAX_EXPLANATION: usize = 5_000;
/// The longest name accepted.
pub const MAX_NAME: usize = 200;
/// The longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// The least queue score of a finding named by a notice (the suspect threshold).
pub const ARTICLE_16_SCORE: f64 = 0.5;
/// The least queue score of a finding named by a trusted flagger.
pub const TRUSTED_FLAGGER_SCORE: f64 = 0.9;

/// How a finding came to the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSource {
    /// The matcher found it.
    #[default]
    Matcher,
    /// A notice named it (whether or not the matcher found it too).
    Notice,
}

/// A notice as submitted (`POST /api/v1/notices`, or the web form).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeSubmission {
    /// The notifier's name (Article 16(2)(c)).
    pub name: String,
    /// The notifier's e-mail address (Article 16(2)(c)).
    pub email: String,
    /// Why the listings infringe (Article 16(2)(a)).
    pub explanation: String,
    /// The listings' exact addresses (Article 16(2)(b)).
    pub urls: Vec<String>,
    /// The registered mark infringed (its id in the registry).
    pub mark_id: String,
    /// The notifier's statement of good faith (Article 16(2)(d)): must be `true`.
    #[serde(default)]
    pub good_faith: bool,
}

impl NoticeSubmission {
    /// Checks every field, answering the first fault as `field: reason`. URLs
    /// are trimmed and repeated ones dropped.
    pub fn validate(&mut self) -> Result<(), ReviewError> {
        let bad = |m: String| Err(ReviewError::BadInput(m));
        self.name = self.name.trim().to_owned();
        self.email = self.email.trim().to_owned();
        self.explanation = self.explanation.trim().to_owned();
        self.mark_id = self.mark_id.trim().to_owned();
        if self.name.is_empty() {
            return bad("name: the notifier's name is required".into());
        }
        if self.name.chars().count() > MAX_NAME {
            return bad(format!("name: at most {MAX_NAME} characters"));
        }
        if !plausible_email(&self.email) {
            return bad(format!(
                "email: {:?} is not an e-mail address (at most {MAX_EMAIL} characters, NAME@DOMAIN)",
                clip(&self.email, 80)
            ));
        }
        let n = self.explanation.chars().count();
        if n < MIN_EXPLANATION {
            return bad(format!(
                "explanation: explain why the listings infringe the mark (at least {MIN_EXPLANATION} characters)"
            ));
        }
        if n > MAX_EXPLANATION {
            return bad(format!("explanation: at most {MAX_EXPLANATION} characters"));
        }
        if self.mark_id.is_empty() {
            return bad("mark_id: name the registered mark infringed".into());
        }
        if !self.good_faith {
            return bad(
                "good_faith: confirm that you believe in good faith that the information and allegations are accurate and complete".into(),
            );
        }
        let mut urls: Vec<String> = Vec::with_capacity(self.urls.len());
        for (i, u) in self.urls.iter().enumerate() {
            let u = u.trim();
            if u.is_empty() {
                continue;
            }
            if u.len() > MAX_URL_LEN {
                return bad(format!("urls[{i}]: longer than {MAX_URL_LEN} bytes"));
            }
            match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") && p.host().is_some() => {}
                _ => {
                    return bad(format!(
                        "urls[{i}]: {:?} is not an http(s) URL",
                        clip(u, 80)
                    ))
                }
            }
            if !urls.iter().any(|seen| url_key(seen) == url_key(u)) {
                urls.push(u.to_owned());
            }
        }
        if urls.is_empty() {
            return bad("urls: name at least one listing URL".into());
        }
        if urls.len() > MAX_URLS {
            return bad(format!("urls: at most {MAX_URLS} per notice"));
        }
        self.urls = urls;
        Ok(())
    }
}

/// What the notice says about one URL, once filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeItem {
    /// The URL as the notifier wrote it.
    pub url: String,
    /// The listing it named (found by URL, or stored for the notice).
    pub listing_id: String,
    /// The finding of the notice's mark on that listing.
    pub finding_id: String,
    /// Whether markhound had seen the listing before the notice.
    pub known: bool,
}

/// A notice as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeRecord {
    /// `N` followed by 16 hex digits.
    pub id: String,
    /// When it was received (UTC, RFC 3339).
    pub received_at: String,
    /// `SOURCE_ARTICLE_16`, or `SOURCE_TRUSTED_FLAGGER` for a flagger's token.
    pub source: Source,
    /// The notifier's name.
    pub name: String,
    /// The notifier's e-mail address.
    pub email: String,
    /// The explanation.
    pub explanation: String,
    /// The mark's id.
    pub mark_id: String,
    /// The good-faith statement was made.
    pub good_faith: bool,
    /// Per URL, the finding it became.
    pub items: Vec<NoticeItem>,
    /// The SHA-256 (hex) of the receipt handed to the notifier, who shows it to
    /// read the notice's decisions without a token.
    pub receipt_sha256: String,
    /// Who filed it: the token's name, or `public` for the open form.
    pub filed_by: String,
}

/// A notice a finding cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeRef {
    /// The notice's id.
    pub id: String,
    /// Where it came from.
    pub source: Source,
    /// The notifier's name.
    pub notifier: String,
}

impl NoticeRef {
    /// The least score a finding this notice names ranks at.
    pub fn floor(&self) -> f64 {
        match self.source {
            Source::TrustedFlagger => TRUSTED_FLAGGER_SCORE,
            _ => ARTICLE_16_SCORE,
        }
    }
}

/// The score of a finding with matcher score `score` that `notices` name.
pub fn with_notices(score: f64, notices: &[NoticeRef]) -> f64 {
    notices.iter().map(NoticeRef::floor).fold(score, f64::max)
}

/// The key under which a URL is looked up: parsed and printed again (scheme and
/// host lower-cased, default port and fragment dropped), or trimmed as written
/// when it does not parse.
pub fn url_key(u: &str) -> String {
    match url::Url::parse(u.trim()) {
        Ok(mut p) => {
            p.set_fragment(None);
            p.to_string()
        }
        Err(_) => u.trim().to_owned(),
    }
}

/// The id of a listing stored for a notice's URL that markhound had not seen.
pub fn notice_listing_id(u: &str) -> String {
    format!(
        "notice-{}",
        hex::encode(&Sha256::digest(url_key(u).as_bytes())[..8])
    )
}

/// The SHA-256 (hex) of a receipt.
pub fn receipt_sha256(receipt: &str) -> String {
    hex::encode(Sha256::digest(receipt.as_bytes()))
}

/// What the notifier is told about one URL in state `state` (Article 16(5): the
/// decision, and the redress open against it).
pub fn decision_for_notifier(state: State) -> (&'static str, Option<&'static str>) {
    match state {
        State::New | State::InReview | State::Reopened | State::Held => {
            ("pending: a reviewer will decide", None)
        }
        State::Dismissed => (
            "rejected: the reviewer found no infringement of the mark",
            Some(NOTIFIER_REDRESS),
        ),
        State::Confirmed | State::NoticeSent => (
            "accepted: the reviewer confirmed the infringement; removal was requested",
            Some(NOTIFIER_REDRESS),
        ),
        State::Removed => ("accepted: the listing was removed", Some(NOTIFIER_REDRESS)),
        State::Reinstated => (
            "the listing was removed and later reinstated after a counter-notice",
            Some(REDRESS_AFTER_REINSTATEMENT),
        ),
    }
}

/// Redress open to a notifier against a decision on the notice.
pub const NOTIFIER_REDRESS: &str = "You may contest this decision through the platform's internal \
     complaint-handling system (DSA Article 20), an out-of-court dispute settlement body \
     (Article 21), or before a court.";

const REDRESS_AFTER_REINSTATEMENT: &str = "The seller's counter-notice was accepted. You may \
     contest the reinstatement through the platform's internal complaint-handling system (DSA \
     Article 20), an out-of-court dispute settlement body (Article 21), or before a court.";

/// Whether `s` looks like an e-mail address: one `@`, a non-empty local part, a
/// domain with a dot and no spaces. Deliverability is not checked (no mail is
/// sent from here); the check catches a name typed in the wrong field.
fn plausible_email(s: &str) -> bool {
    if s.len() > MAX_EMAIL || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A fresh notice id and receipt (random, from the operating system's generator).
pub fn new_notice_id_and_receipt() -> (String, String) {
    use rand::RngCore;
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut receipt = [0u8; 16];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut receipt);
    (format!("N{}", hex::encode(id)), hex::encode(receipt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission() -> NoticeSubmission {
        NoticeSubmission {
            name: " Ada Lovelace ".into(),
            email: "ada@example.org".into(),
            explanation: "These listings sell counterfeit Zentrix headphones.".into(),
            urls: vec![
                "https://shop.example/item/1".into(),
                "https://SHOP.example/item/1#photos".into(),
                " ".into(),
                "https://shop.example/item/2".into(),
            ],
            mark_id: "zentrix".into(),
            good_faith: true,
        }
    }

    #[test]
    fn a_complete_notice_is_accepted_and_tidied() {
        let mut s = submission();
        s.validate().unwrap();
        assert_eq!(s.name, "Ada Lovelace");
        // The same URL written twice (host case, fragment) counts once.
        assert_eq!(s.urls.len(), 2, "{:?}", s.urls);
    }

    #[test]
    fn each_missing_element_of_article_16_is_named() {
        type Edit = fn(&mut NoticeSubmission);
        let cases: [(Edit, &str); 7] = [
            (|s| s.name.clear(), "name:"),
            (|s| s.email = "ada".into(), "email:"),
            (|s| s.email = "ada @example.org".into(), "email:"),
            (|s| s.explanation = "fake".into(), "explanation:"),
            (|s| s.good_faith = false, "good_faith:"),
            (|s| s.urls = vec!["javascript:alert(1)".into()], "urls[0]:"),
            (|s| s.urls.clear(), "urls:"),
        ];
        for (edit, field) in cases {
            let mut s = submission();
            edit(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.starts_with(field), "{field}: {err}");
        }
        let mut s = submission();
        s.urls = (0..=MAX_URLS)
            .map(|i| format!("https://shop.example/{i}"))
            .collect();
        assert!(s.validate().unwrap_err().to_string().starts_with("urls:"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<NoticeSubmission>(
            r#"{"name":"a","email":"a@b.c","explanation":"x","urls":[],"mark_id":"m","goodfaith":true}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("goodfaith"), "{err}");
    }

    #[test]
    fn notices_raise_the_score_to_their_floor_only() {
        let art16 = NoticeRef {
            id: "N1".into(),
            source: Source::Article16,
            notifier: "a".into(),
        };
        let flagger = NoticeRef {
            source: Source::TrustedFlagger,
            ..art16.clone()
        };
        assert_eq!(with_notices(0.2, &[]), 0.2);
        assert_eq!(with_notices(0.2, std::slice::from_ref(&art16)), 0.5);
        assert_eq!(with_notices(0.8, std::slice::from_ref(&art16)), 0.8);
        assert_eq!(with_notices(0.8, &[art16, flagger]), 0.9);
    }

    #[test]
    fn url_keys_ignore_what_does_not_name_another_page() {
        assert_eq!(
            url_key("HTTPS://Shop.Example:443/a?b=1#top"),
            "https://shop.example/a?b=1"
        );
        assert_ne!(
            url_key("https://shop.example/a"),
            url_key("https://shop.example/b")
        );
        assert_eq!(
            notice_listing_id("https://shop.example/a#x"),
            notice_listing_id("https://shop.example/a")
        );
    }

    #[test]
    fn every_decided_state_tells_the_notifier_the_redress() {
        for s in super::super::ALL_STATES {
            let (text, redress) = decision_for_notifier(s);
            assert!(!text.is_empty());
            assert_eq!(redress.is_none(), s.is_open() || s == State::Held, "{s}");
        }
    }
}
