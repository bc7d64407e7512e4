//! Takedown reports in the shapes marketplaces take: eBay's VeRO API v2
//! (`createVeroReport` request bodies), Amazon's Report Infringement form (one CSV
//! row per listing) and Alibaba's IP Protection platform batch complaints (CSV files
//! of at most [`ALIBABA_BATCH`] links). Each row carries the evidence the reviewer
//! confirmed: the listing as confirmed, its SHA-256 and when it was captured, and
//! the reasons the finding was raised.
//!
//! The marketplace-specific reasons live in one table, [`REASONS`]. eBay's VeRO
//! reason code ids differ by site and are read from its `getVeroReasonCodes`
//! call: without ids given (`ebay_codes=`), a report uses the documented
//! "Other — provide details" code with the reason written out in
//! `detailedMessage`, which every site accepts.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{json, Value};

use super::ReviewError;
use crate::report::{csv_cell, Infringement, Notice};

/// The most items one VeRO report request takes (eBay's limit for
/// `createVeroReport`).
pub const EBAY_BATCH: usize = 150;
/// The most links one Alibaba IPP batch complaint file takes.
pub const ALIBABA_BATCH: usize = 300;
/// Rows per Amazon file (one file; the form has no batch limit of its own).
pub const AMAZON_BATCH: usize = usize::MAX;
/// eBay's "Other — provide detailed information" trademark reason code, used
/// when the site's codes are not given.
pub const EBAY_OTHER_CODE: u64 = 9052;
/// The longest `messageToSeller` and `detailedMessage` eBay accepts.
const EBAY_MESSAGE_MAX: usize = 1000;

/// A marketplace's report shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// eBay VeRO API v2.
    EbayVero,
    /// Amazon's Report Infringement form.
    Amazon,
    /// Alibaba IP Protection (Alibaba.com, AliExpress, Taobao, Tmall, 1688).
    AlibabaIpp,
}

impl Platform {
    /// The name in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::EbayVero => "ebay-vero",
            Platform::Amazon => "amazon",
            Platform::AlibabaIpp => "alibaba-ipp",
        }
    }

    /// Items per file.
    pub fn batch(self) -> usize {
        match self {
            Platform::EbayVero => EBAY_BATCH,
            Platform::Amazon => AMAZON_BATCH,
            Platform::AlibabaIpp => ALIBABA_BATCH,
        }
    }

    /// Whether a listing on `marketplace` at `url` is this platform's: the host of
    /// its URL (or the marketplace's name) is one of the platform's domains.
    pub fn hosts(self, marketplace: Option<&str>, url: Option<&str>) -> bool {
        let domains: &[&str] = match self {
            Platform::EbayVero => &["ebay"],
            Platform::Amazon => &["amazon"],
            Platform::AlibabaIpp => &["alibaba", "aliexpress", "taobao", "tmall", "1688"],
        };
        // A host is the platform's when the platform's name is the label just
        // before its public suffix (`ebay.co.uk`, `de.aliexpress.com`), taken as
        // the trailing labels of at most three letters: `ebay.example.com` is not.
        let host = url
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let by_host = host.is_some_and(|h| {
            let labels: Vec<&str> = h.split('.').collect();
            labels.iter().enumerate().any(|(i, l)| {
                domains.contains(l)
                    && i + 1 < labels.len()
                    && labels[i + 1..].iter().all(|s| s.len() <= 3)
            })
        });
        // A marketplace's name (`eBay`, `Amazon DE`): one of its words.
        let by_name = marketplace.is_some_and(|m| {
            m.to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| domains.contains(&w))
        });
        by_host || by_name
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Platform, String> {
        match s {
            "ebay-vero" => Ok(Platform::EbayVero),
            "amazon" => Ok(Platform::Amazon),
            "alibaba-ipp" => Ok(Platform::AlibabaIpp),
            _ => Err(format!(
                "unknown platform {s:?}; expected ebay-vero, amazon or alibaba-ipp"
            )),
        }
    }
}

/// What each marketplace calls each kind of infringement: the one table of
/// marketplace-specific reasons (the wording of each platform's report form).
pub const REASONS: [(Platform, Infringement, &str); 9] = [
    (
        Platform::EbayVero,
        Infringement::Counterfeit,
        "Item(s) is a counterfeit product",
    ),
    (
        Platform::EbayVero,
        Infringement::TrademarkMisuse,
        "Listing(s) contains unlawful use of trademark",
    ),
    (
        Platform::EbayVero,
        Infringement::ImageCopy,
        "Listing(s) contains unauthorized copy of copyrighted image",
    ),
    (
        Platform::Amazon,
        Infringement::Counterfeit,
        "Trademark: the product is counterfeit",
    ),
    (
        Platform::Amazon,
        Infringement::TrademarkMisuse,
        "Trademark: the listing or product uses my trademark",
    ),
    (
        Platform::Amazon,
        Infringement::ImageCopy,
        "Copyright: the listing uses my copyrighted image",
    ),
    (
        Platform::AlibabaIpp,
        Infringement::Counterfeit,
        "Trademark - counterfeit goods",
    ),
    (
        Platform::AlibabaIpp,
        Infringement::TrademarkMisuse,
        "Trademark - unauthorized use of trademark",
    ),
    (
        Platform::AlibabaIpp,
        Infringement::ImageCopy,
        "Copyright - unauthorized use of images",
    ),
];

/// The platform's wording for `kind`.
pub fn reason(platform: Platform, kind: Infringement) -> &'static str {
    REASONS
        .iter()
        .find(|(p, k, _)| *p == platform && *k == kind)
        .map(|(_, _, r)| *r)
        .expect("the table names every platform and kind")
}

/// Options of an export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// eBay reason code ids per kind (from the site's `getVeroReasonCodes`).
    pub ebay_codes: HashMap<Infringement, u64>,
    /// Countries the infringement concerns (ISO 3166-1 alpha-2), for eBay.
    pub countries: Vec<String>,
    /// Whether eBay copies its notice to the rights owner.
    pub copy_to_rights_owner: bool,
}

impl ExportOptions {
    /// Reads `ebay_codes=counterfeit:1234,trademark_misuse:5678` and
    /// `countries=DE,FR`.
    pub fn parse(ebay_codes: Option<&str>, countries: Option<&str>) -> Result<Self, ReviewError> {
        let mut out = ExportOptions {
            copy_to_rights_owner: true,
            ..ExportOptions::default()
        };
        for pair in ebay_codes
            .unwrap_or("")
            .split(',')
            .filter(|p| !p.is_empty())
        {
            let (kind, code) = pair.split_once(':').ok_or_else(|| {
                ReviewError::BadInput(format!("ebay_codes: {pair:?} is not KIND:CODE"))
            })?;
            let kind: Infringement = serde_json::from_value(Value::String(kind.to_owned()))
                .map_err(|_| {
                    ReviewError::BadInput(format!(
                        "ebay_codes: {kind:?} is not counterfeit, trademark_misuse or image_copy"
                    ))
                })?;
            let code = code.parse().map_err(|_| {
                ReviewError::BadInput(format!("ebay_codes: {code:?} is not a reason code id"))
            })?;
            out.ebay_codes.insert(kind, code);
        }
        for c in countries.unwrap_or("").split(',').filter(|c| !c.is_empty()) {
            let c = c.trim().to_ascii_uppercase();
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ReviewError::BadInput(format!(
                    "countries: {c:?} is not an ISO 3166-1 alpha-2 code"
                )));
            }
            out.countries.push(c);
        }
        Ok(out)
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    /// A file name: `PLATFORM-PART-of-PARTS.EXT`.
    pub name: String,
    /// Its media type.
    pub content_type: &'static str,
    /// Its content.
    pub body: String,
}

/// The marketplace's item id of a listing: eBay's item number or Amazon's ASIN
/// from the listing's URL when it names one, the listing id otherwise.
pub fn item_id(platform: Platform, n: &Notice) -> String {
    let from_url = n.listing_url.as_deref().and_then(|u| {
        let parsed = url::Url::parse(u).ok()?;
        let segments: Vec<&str> = parsed.path_segments()?.collect();
        let after = |name: &str| {
            segments
                .iter()
                .position(|s| s.eq_ignore_ascii_case(name))
                .and_then(|i| segments.get(i + 1))
                .map(|s| (*s).to_owned())
        };
        match platform {
            // `/itm/123456789012` or `/itm/slug/123456789012`: the item number.
            Platform::EbayVero => {
                let start = segments
                    .iter()
                    .position(|s| s.eq_ignore_ascii_case("itm"))?;
                segments[start + 1..]
                    .iter()
                    .rev()
                    .find(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .map(|s| (*s).to_owned())
            }
            Platform::Amazon => after("dp").or_else(|| after("product")),
            Platform::AlibabaIpp => None,
        }
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
    });
    from_url.unwrap_or_else(|| n.listing_id.clone())
}

/// The evidence a report cites, in one line.
fn evidence_line(n: &Notice) -> String {
    let mut parts = Vec::new();
    if let Some(sha) = &n.evidence_sha256 {
        parts.push(format!("listing SHA-256 {sha}"));
    }
    if let Some(at) = &n.captured_at {
        parts.push(format!("captured {at}"));
    }
    if !n.reasons.is_empty() {
        parts.push(format!("evidence: {}", n.reasons.join("; ")));
    }
    parts.join("; ")
}

fn registrations(n: &Notice) -> String {
    n.registrations
        .iter()
        .map(|r| format!("{} {}", r.office, r.number))
        .collect::<Vec<_>>()
        .join("; ")
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The export of `notices` (finding id, notice) for `platform`: files of at most
/// [`Platform::batch`] items each, in listing order. No notice gives no file.
pub fn export(
    platform: Platform,
    notices: &[(String, Notice)],
    options: &ExportOptions,
) -> Result<Vec<ExportFile>, ReviewError> {
    let chunks: Vec<&[(String, Notice)]> = notices.chunks(platform.batch()).collect();
    let parts = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let (body, content_type, ext) = match platform {
                Platform::EbayVero => (ebay(chunk, options), "application/json", "json"),
                Platform::Amazon => (amazon(chunk)?, "text/csv; charset=utf-8", "csv"),
                Platform::AlibabaIpp => (alibaba(chunk)?, "text/csv; charset=utf-8", "csv"),
            };
            Ok(ExportFile {
                name: format!("{platform}-{}-of-{parts}.{ext}", i + 1),
                content_type,
                body,
            })
        })
        .collect()
}

fn ebay(chunk: &[(String, Notice)], options: &ExportOptions) -> String {
    let items: Vec<Value> = chunk
        .iter()
        .map(|(_, n)| {
            let code = options.ebay_codes.get(&n.infringement).copied();
            let message = format!(
                "This listing infringes the registered trademark {}{}: {}. {}",
                n.mark,
                n.rights_owner
                    .as_deref()
                    .map(|o| format!(" of {o}"))
                    .unwrap_or_default(),
                reason(Platform::EbayVero, n.infringement).to_lowercase(),
                registrations(n),
            );
            let mut item = json!({
                "itemId": item_id(Platform::EbayVero, n),
                "veroReasonCodeId": code.unwrap_or(EBAY_OTHER_CODE),
                "messageToSeller": clip(message.trim(), EBAY_MESSAGE_MAX),
                "copyEmailToRightsOwner": options.copy_to_rights_owner,
            });
            if code.is_none() {
                let detail = format!(
                    "{}. {}",
                    reason(Platform::EbayVero, n.infringement),
                    evidence_line(n)
                );
                item["detailedMessage"] = clip(&detail, EBAY_MESSAGE_MAX).into();
            }
            if !options.countries.is_empty() {
                item["countries"] = options.countries.clone().into();
            }
            item
        })
        .collect();
    let body = json!({ "reportItems": items });
    serde_json::to_string_pretty(&body).expect("JSON values serialize")
}

fn write_csv(header: &[&str], rows: Vec<Vec<String>>) -> Result<String, ReviewError> {
    let csv_error = |e: csv::Error| ReviewError::BadInput(format!("cannot write the CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(csv_error)?;
    for row in rows {
        w.write_record(row.iter().map(|c| csv_cell(c)))
            .map_err(csv_error)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReviewError::BadInput(format!("cannot write the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ReviewError::BadInput(format!("CSV: {e}")))
}

fn amazon(chunk: &[(String, Notice)]) -> Result<String, ReviewError> {
    let rows = chunk
        .iter()
        .map(|(id, n)| {
            vec![
                n.rights_owner.clone().unwrap_or_default(),
                n.mark.clone(),
                registrations(n),
                reason(Platform::Amazon, n.infringement).to_owned(),
                item_id(Platform::Amazon, n),
                n.listing_url.clone().unwrap_or_default(),
                n.seller_name
                    .clone()
                    .or_else(|| n.seller_id.clone())
                    .unwrap_or_default(),
                evidence_line(n),
                id.clone(),
            ]
        })
        .collect();
    write_csv(
        &[
            "rights_owner",
            "brand_name",
            "trademark_registration_numbers",
            "infringement_type",
            "asin",
            "listing_url",
            "seller",
            "evidence",
            "finding_id",
        ],
        rows,
    )
}

fn alibaba(chunk: &[(String, Notice)]) -> Result<String, ReviewError> {
    let rows = chunk
        .iter()
        .map(|(id, n)| {
            vec![
                n.listing_url
                    .clone()
                    .unwrap_or_else(|| n.listing_id.clone()),
                match n.infringement {
                    Infringement::ImageCopy => "Copyright",
                    _ => "Trademark",
                }
                .to_owned(),
                registrations(n),
                n.mark.clone(),
                reason(Platform::AlibabaIpp, n.infringement).to_owned(),
                evidence_line(n),
                id.clone(),
            ]
        })
        .collect();
    write_csv(
        &[
            "infringing_link",
            "ipr_type",
            "ipr_registration_numbers",
            "brand",
            "complaint_reason",
            "remarks",
            "finding_id",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(url: &str, kind: Infringement) -> Notice {
        Notice {
            rights_owner: Some("Zentrix Audio GmbH".into()),
            mark: "Zentrix".into(),
            mark_id: "zentrix".into(),
            registrations: Vec::new(),
            listing_id: "L1".into(),
            listing_url: Some(url.into()),
            marketplace: None,
            seller_id: Some("s1".into()),
            seller_name: None,
            infringement: kind,
            evidence_sha256: Some("ab".repeat(32)),
            captured_at: Some("2026-01-02T03:04:05.000Z".into()),
            score: 0.8,
            reasons: vec!["counterfeit code word \"replica\"".into()],
        }
    }

    #[test]
    fn every_platform_names_every_kind() {
        for p in [Platform::EbayVero, Platform::Amazon, Platform::AlibabaIpp] {
            for k in [
                Infringement::Counterfeit,
                Infringement::TrademarkMisuse,
                Infringement::ImageCopy,
            ] {
                assert!(!reason(p, k).is_empty());
            }
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
        assert!("vero".parse::<Platform>().is_err());
    }

    #[test]
    fn listings_are_sorted_to_their_platform_by_host() {
        let on = |p: Platform, url: &str| p.hosts(None, Some(url));
        assert!(on(Platform::EbayVero, "https://www.ebay.de/itm/1234"));
        assert!(on(
            Platform::AlibabaIpp,
            "https://de.aliexpress.com/item/1.html"
        ));
        assert!(on(
            Platform::AlibabaIpp,
            "https://detail.1688.com/offer/1.html"
        ));
        assert!(!on(Platform::EbayVero, "https://ebay-deals.example.com/x"));
        assert!(!on(Platform::Amazon, "https://shop.example/amazonite-ring"));
        assert!(Platform::Amazon.hosts(Some("Amazon"), None));
    }

    #[test]
    fn item_ids_come_from_the_marketplace_url() {
        let n = notice(
            "https://www.ebay.com/itm/zentrix-headphones/123456789012?hash=x",
            Infringement::Counterfeit,
        );
        assert_eq!(item_id(Platform::EbayVero, &n), "123456789012");
        let n = notice(
            "https://www.amazon.de/Zentrix/dp/B0ABCDEF12/ref=x",
            Infringement::Counterfeit,
        );
        assert_eq!(item_id(Platform::Amazon, &n), "B0ABCDEF12");
        let n = notice("https://shop.example/p/9", Infringement::Counterfeit);
        assert_eq!(item_id(Platform::EbayVero, &n), "L1");
    }

    #[test]
    fn ebay_reports_use_the_given_codes_or_other_with_details() {
        let rows = vec![(
            "f1".to_owned(),
            notice("https://www.ebay.com/itm/123", Infringement::Counterfeit),
        )];
        let opts = ExportOptions::parse(None, Some("de,FR")).unwrap();
        let files = export(Platform::EbayVero, &rows, &opts).unwrap();
        let v: Value = serde_json::from_str(&files[0].body).unwrap();
        let item = &v["reportItems"][0];
        assert_eq!(item["itemId"], "123");
        assert_eq!(item["veroReasonCodeId"], EBAY_OTHER_CODE);
        assert!(item["detailedMessage"]
            .as_str()
            .unwrap()
            .contains("counterfeit"));
        assert_eq!(item["countries"], json!(["DE", "FR"]));
        let opts = ExportOptions::parse(Some("counterfeit:1234"), None).unwrap();
        let files = export(Platform::EbayVero, &rows, &opts).unwrap();
        let v: Value = serde_json::from_str(&files[0].body).unwrap();
        assert_eq!(v["reportItems"][0]["veroReasonCodeId"], 1234);
        assert!(v["reportItems"][0].get("detailedMessage").is_none());
        assert!(ExportOptions::parse(Some("fake:1"), None).is_err());
        assert!(ExportOptions::parse(None, Some("Germany")).is_err());
    }

    #[test]
    fn alibaba_batches_hold_at_most_300_links() {
        let rows: Vec<(String, Notice)> = (0..701)
            .map(|i| {
                (
                    format!("f{i}"),
                    notice(
                        &format!("https://www.aliexpress.com/item/{i}.html"),
                        Infringement::TrademarkMisuse,
                    ),
                )
            })
            .collect();
        let files = export(Platform::AlibabaIpp, &rows, &ExportOptions::default()).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[2].name, "alibaba-ipp-3-of-3.csv");
        let counts: Vec<usize> = files
            .iter()
            .map(|f| {
                csv::Reader::from_reader(f.body.as_bytes())
                    .records()
                    .count()
            })
            .collect();
        assert_eq!(counts, vec![300, 300, 101]);
        assert!(
            export(Platform::Amazon, &rows, &ExportOptions::default())
                .unwrap()
                .len()
                == 1
        );
        assert!(export(Platform::Amazon, &[], &ExportOptions::default())
            .unwrap()
            .is_empty());
    }
}
