//! Takedown notice drafts: what a platform asks for, for one finding.
//!
//! A notice names the rights owner, the registrations of the mark (office and
//! number), the listing (URL, id, marketplace, seller), the kind of infringement, the
//! evidence (SHA-256 of what was seen and when) and the reasons, so it can be
//! defended later. The draft is data; [`Notice::to_text`] renders it for e-mail or a
//! platform's form.

use serde::Serialize;

use super::Evidence;
use crate::listing::Listing;
use crate::registry::{Mark, Registration};
use crate::scoring::{Finding, SignalKind};

/// The kind of infringement, as platforms' forms name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Infringement {
    /// Goods presented as the brand's that are not (disguised name, code words, price).
    Counterfeit,
    /// The mark used without authorisation.
    TrademarkMisuse,
    /// The brand's own photos reused.
    ImageCopy,
}

impl Infringement {
    /// A phrase for the text form.
    pub fn label(self) -> &'static str {
        match self {
            Infringement::Counterfeit => "counterfeit goods",
            Infringement::TrademarkMisuse => "trademark misuse",
            Infringement::ImageCopy => "copy of the rights owner's images",
        }
    }
}

/// A takedown notice draft for one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The rights owner, when the registry knows it.
    pub rights_owner: Option<String>,
    /// The mark's name.
    pub mark: String,
    /// The mark's id.
    pub mark_id: String,
    /// Registrations of the mark.
    pub registrations: Vec<Registration>,
    /// The listing's id.
    pub listing_id: String,
    /// The listing's URL.
    pub listing_url: Option<String>,
    /// The marketplace.
    pub marketplace: Option<String>,
    /// The seller's id.
    pub seller_id: Option<String>,
    /// The seller's display name.
    pub seller_name: Option<String>,
    /// The kind of infringement.
    pub infringement: Infringement,
    /// SHA-256 of the page as captured.
    pub evidence_sha256: Option<String>,
    /// When the page was captured (UTC).
    pub captured_at: Option<String>,
    /// The finding's score.
    pub score: f64,
    /// The evidence, one reason per signal that raised the score.
    pub reasons: Vec<String>,
}

/// Drafts the notice for `finding` on `listing`.
pub fn draft_notice(
    listing: &Listing,
    finding: &Finding,
    mark: Option<&Mark>,
    evidence: Option<&Evidence>,
) -> Notice {
    let has = |k: SignalKind| finding.signals.iter().any(|s| s.kind == k);
    let counterfeit_sign = has(SignalKind::Keyword)
        || has(SignalKind::TitleConfusable)
        || has(SignalKind::TitleFuzzy)
        || has(SignalKind::PriceAnomaly);
    let title_sign = finding.signals.iter().any(|s| {
        matches!(
            s.kind,
            SignalKind::TitleExact
                | SignalKind::TitleAlias
                | SignalKind::TitleConfusable
                | SignalKind::TitleFuzzy
                | SignalKind::BrandDeclared
        )
    });
    let infringement = if counterfeit_sign {
        Infringement::Counterfeit
    } else if has(SignalKind::ImageMatch) && !title_sign {
        Infringement::ImageCopy
    } else {
        Infringement::TrademarkMisuse
    };
    Notice {
        rights_owner: mark.and_then(|m| m.owner.clone()),
        mark: finding.mark.clone(),
        mark_id: finding.mark_id.clone(),
        registrations: mark.map(|m| m.registrations.clone()).unwrap_or_default(),
        listing_id: listing.id.clone(),
        listing_url: evidence
            .map(|e| e.final_url.clone())
            .or_else(|| listing.url.clone()),
        marketplace: listing.marketplace.clone(),
        seller_id: listing.seller.as_ref().map(|s| s.id.clone()),
        seller_name: listing.seller.as_ref().and_then(|s| s.name.clone()),
        infringement,
        evidence_sha256: evidence.map(|e| e.sha256.clone()),
        captured_at: evidence.map(|e| e.fetched_at.clone()),
        score: finding.score,
        reasons: finding
            .signals
            .iter()
            .filter(|s| s.weight > 0.0)
            .map(|s| s.detail.clone())
            .collect(),
    }
}

impl Notice {
    /// The notice as plain text.
    pub fn to_text(&self) -> String {
        let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unknown)".into());
        let mut t = String::new();
        t.push_str(&format!("Notice of {}\n\n", self.infringement.label()));
        t.push_str(&format!(
            "Rights owner: {}\n",
            or_unknown(&self.rights_owner)
        ));
        t.push_str(&format!("Trademark: {}\n", self.mark));
        if self.registrations.is_empty() {
            t.push_str("Registrations: (none recorded)\n");
        }
        for r in &self.registrations {
            t.push_str(&format!("Registration: {} No. {}\n", r.office, r.number));
        }
        t.push_str(&format!(
            "Listing: {} (id {})\n",
            or_unknown(&self.listing_url),
            self.listing_id
        ));
        t.push_str(&format!("Marketplace: {}\n", or_unknown(&self.marketplace)));
        let seller = match (&self.seller_id, &self.seller_name) {
            (Some(id), Some(name)) => format!("{name} ({id})"),
            (Some(id), None) => id.clone(),
            _ => "(unknown)".into(),
        };
        t.push_str(&format!("Seller: {seller}\n"));
        t.push_str(&format!("Infringement: {}\n", self.infringement.label()));
        t.push_str(&format!(
            "Evidence: page captured {} with SHA-256 {}\n",
            or_unknown(&self.captured_at),
            or_unknown(&self.evidence_sha256)
        ));
        t.push_str(&format!("Reasons (score {:.3}):\n", self.score));
        for r in &self.reasons {
            t.push_str(&format!("  - {r}\n"));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::Signal;

    #[test]
    fn counterfeit_notice_carries_registration_and_evidence() {
        let mark = Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            owner: Some("Zentrix Sports Ltd.".into()),
            registrations: vec![Registration {
                office: "USPTO".into(),
                number: "1234567".into(),
            }],
            ..Mark::default()
        };
        let listing = Listing {
            id: "L1".into(),
            title: "Z3ntrix replica".into(),
            url: Some("https://shop.example/L1".into()),
            ..Listing::default()
        };
        let finding = Finding {
            suppressed: None,
            mark_id: "zentrix".into(),
            mark: "Zentrix".into(),
            score: 0.9,
            signals: vec![Signal {
                kind: SignalKind::Keyword,
                detail: "counterfeit code word \"replica\"".into(),
                weight: 0.5,
                photo: None,
                region: None,
                text: None,
            }],
            spans: vec![],
        };
        let ev = Evidence {
            final_url: "https://shop.example/L1".into(),
            status: 200,
            fetched_at: "2026-11-27T08:00:00Z".into(),
            sha256: "ab".repeat(32),
            truncated: false,
            sources: Vec::new(),
            rendered: false,
        };
        let n = draft_notice(&listing, &finding, Some(&mark), Some(&ev));
        assert_eq!(n.infringement, Infringement::Counterfeit);
        let text = n.to_text();
        assert!(text.contains("USPTO No. 1234567"));
        assert!(text.contains("Zentrix Sports Ltd."));
        assert!(text.contains(&"ab".repeat(32)));
        assert!(text.contains("replica"));
    }
}
