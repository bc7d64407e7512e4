//! Reading a batch of posted listings: a JSON array, or JSON lines. The whole batch
//! is read and checked before anything is stored, and the first bad item is named by
//! its index, so a client can fix it and send the batch again.

use serde_json::value::RawValue;

use super::ReviewError;
use crate::listing::Listing;

/// The most listings one request may carry.
pub const MAX_BATCH: usize = 5_000;
/// The most photo URLs one request may name in all (each listing at most
/// [`crate::listing::limits::PHOTOS`]): a batch is matched under one ingest permit,
/// so its photos bound how long it holds it.
pub const MAX_BATCH_PHOTOS: usize = 5_000;

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// A JSON array of listings.
    JsonArray,
    /// One listing per line (`application/x-ndjson`); blank lines are skipped.
    JsonLines,
}

/// Parses and checks a batch. Errors name the 0-based index of the first bad item.
pub fn parse_batch(body: &[u8], format: BatchFormat) -> Result<Vec<Listing>, ReviewError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ReviewError::BadInput(format!("body: not UTF-8 ({e})")))?;
    let items: Vec<&str> = match format {
        BatchFormat::JsonArray => {
            let raw: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
                ReviewError::BadInput(format!("body: expected a JSON array of listings ({e})"))
            })?;
            raw.into_iter().map(RawValue::get).collect()
        }
        BatchFormat::JsonLines => text.lines().filter(|l| !l.trim().is_empty()).collect(),
    };
    if items.len() > MAX_BATCH {
        return Err(ReviewError::BadInput(format!(
            "body: {} listings, at most {MAX_BATCH} per request",
            items.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    let mut photos = 0;
    for (index, item) in items.into_iter().enumerate() {
        let bad = |reason: String| ReviewError::BadItem { index, reason };
        let mut de = serde_json::Deserializer::from_str(item);
        let mut listing: Listing =
            serde_path_to_error::deserialize(&mut de).map_err(|e| bad(e.to_string()))?;
        listing.check().map_err(bad)?;
        if listing.title.trim().is_empty() {
            return Err(bad("title: must not be empty".into()));
        }
        listing.strip_bidi_controls();
        photos += listing.images.len();
        if photos > MAX_BATCH_PHOTOS {
            return Err(bad(format!(
                "images: the batch names more than {MAX_BATCH_PHOTOS} photos; send fewer listings per request"
            )));
        }
        if !seen.insert(listing.id.clone()) {
            return Err(bad(format!(
                "id: {:?} appears twice in the batch",
                listing.id
            )));
        }
        out.push(listing);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_lines_parse_alike() {
        let array = br#"[{"id":"a","title":"x"},{"id":"b","title":"y"}]"#;
        let lines = b"{\"id\":\"a\",\"title\":\"x\"}\n\n{\"id\":\"b\",\"title\":\"y\"}\n";
        let a = parse_batch(array, BatchFormat::JsonArray).unwrap();
        let l = parse_batch(lines, BatchFormat::JsonLines).unwrap();
        assert_eq!(a, l);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn photos_are_bounded_per_listing_and_per_batch() {
        let photos: Vec<String> = (0..32)
            .map(|i| format!("http://p.example/{i}.png"))
            .collect();
        let line = |id: usize| {
            serde_json::json!({"id": format!("l{id}"), "title": "x", "images": photos}).to_string()
        };
        // 156 listings of 32 photos: 4,992 photos, within the batch's 5,000.
        let body: Vec<String> = (0..156).map(line).collect();
        assert!(parse_batch(body.join("\n").as_bytes(), BatchFormat::JsonLines).is_ok());
        let body: Vec<String> = (0..157).map(line).collect();
        let err = parse_batch(body.join("\n").as_bytes(), BatchFormat::JsonLines).unwrap_err();
        assert!(err.to_string().contains("more than 5000 photos"), "{err}");
        // 33 photos in one listing: that listing is refused, by index and field.
        let mut many = photos.clone();
        many.push("http://p.example/extra.png".into());
        let body = serde_json::json!([{"id": "a", "title": "x", "images": many}]).to_string();
        let err = parse_batch(body.as_bytes(), BatchFormat::JsonArray).unwrap_err();
        assert!(
            matches!(err, ReviewError::BadItem { index: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("images"), "{err}");
    }

    #[test]
    fn a_bad_item_is_named_by_index_and_field() {
        let body = br#"[{"id":"a","title":"x"},{"id":"b"}]"#;
        let err = parse_batch(body, BatchFormat::JsonArray).unwrap_err();
        assert!(
            matches!(err, ReviewError::BadItem { index: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("title"), "{err}");

        let body = br#"[{"id":"a","title":"x"},{"id":"a","title":"y"}]"#;
        let err = parse_batch(body, BatchFormat::JsonArray).unwrap_err();
        assert!(
            matches!(err, ReviewError::BadItem { index: 1, .. }),
            "{err}"
        );

        let good = "0f".repeat(32);
        let body = format!(
            r#"[{{"id":"a","title":"x","image_hashes":["{good}"]}},{{"id":"b","title":"y","image_hashes":["{good}","{}"]}}]"#,
            "0g".repeat(32)
        );
        let err = parse_batch(body.as_bytes(), BatchFormat::JsonArray).unwrap_err();
        assert!(
            matches!(err, ReviewError::BadItem { index: 1, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("item 1: image_hashes[1]: character 1 ('g') is not a hex digit"),
            "{err}"
        );

        let body = br#"[{"id":"","title":"x"}]"#;
        assert!(parse_batch(body, BatchFormat::JsonArray).is_err());
        assert!(parse_batch(b"{}", BatchFormat::JsonArray).is_err());
    }
}
