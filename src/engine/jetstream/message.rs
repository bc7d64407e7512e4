//! The messages on the engine's subjects and their deterministic ids: a listing
//! (the `match` input schema), a listing's result (its findings, or none, with the
//! registry version that found them) and the ids JetStream deduplicates by.

use async_nats::jetstream::message::PublishMessage;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{NatsError, LISTINGS_SUBJECT, RESULTS_SUBJECT};
use crate::image::Hash256;
use crate::listing::{KeptPhoto, Listing, PhotoRecord};
use crate::scoring::Finding;
use crate::store::Matched;

/// The format number of [`ListingResult`]; a consumer refuses others.
pub const RESULT_FORMAT: u32 = 1;

/// At most this many bytes of photo thumbnails travel with one result (NATS
/// messages are at most 1 MiB by default); photos past it keep their hashes only.
pub const MAX_THUMBNAIL_BYTES: usize = 512 * 1024;

/// At most this many listings travel in one message of [`LISTINGS_SUBJECT`]: the
/// per-message costs (a stream write, a delivery, an acknowledgement, the result's
/// write and delivery) are paid once for them. A hundred keeps a message of
/// photo-heavy listings within its worker's ack wait on one core.
pub const MAX_LISTINGS_PER_MESSAGE: usize = 100;

/// A message is filled up to this many bytes of JSON (NATS's default limit is
/// 1 MiB); a single listing or result larger than it travels alone.
pub const MESSAGE_BYTES: usize = 768 * 1024;

/// The header naming why a listing was dead-lettered.
pub const ERROR_HEADER: &str = "Markhound-Error";
/// The header giving how often a dead-lettered listing was delivered.
pub const DELIVERIES_HEADER: &str = "Markhound-Deliveries";

/// A short, header-safe key of a listing id (its id may hold any printable text).
fn id_key(id: &str) -> String {
    hex::encode(&Sha256::digest(id.as_bytes())[..12])
}

/// The message id of a listing put on the queue: its id and content, so the same
/// listing sent twice is queued once.
pub fn listing_message_id(listing_id: &str, sha256: &str) -> String {
    format!("listing.{}.{sha256}", id_key(listing_id))
}

/// The message id of a result: listing key, content hash and registry version, so a
/// redelivered listing's result is stored by JetStream once.
pub fn result_message_id(listing_id: &str, sha256: &str, registry_version: u64) -> String {
    format!("result.{}.{sha256}.{registry_version}", id_key(listing_id))
}

/// The messages that put `listings` on [`LISTINGS_SUBJECT`]: JSON arrays of at
/// most [`MAX_LISTINGS_PER_MESSAGE`] listings and about [`MESSAGE_BYTES`], in order,
/// each with a message id made of its listings' ids and contents, so the same
/// batch sent twice is queued once.
pub fn listing_messages(listings: &[Listing]) -> Result<Vec<PublishMessage>, NatsError> {
    Ok(publish_messages(listing_batches(listings)?))
}

/// The message ids and payloads of [`listing_messages`].
fn listing_batches(listings: &[Listing]) -> Result<Vec<(String, Vec<u8>)>, NatsError> {
    batches(
        listings,
        MAX_LISTINGS_PER_MESSAGE,
        "listings",
        LISTINGS_SUBJECT,
        |l| &l.id,
        // The JSON written is the one `listing_sha256` hashes.
        |l, json| listing_message_id(&l.id, &hex::encode(Sha256::digest(json))),
    )
}

/// Messages to publish, from their ids and payloads.
fn publish_messages(batches: Vec<(String, Vec<u8>)>) -> Vec<PublishMessage> {
    batches
        .into_iter()
        .map(|(id, payload)| {
            PublishMessage::build()
                .payload(payload.into())
                .message_id(id)
        })
        .collect()
}

/// `items` as JSON arrays, each item written straight into its message's body: a
/// message holds at most `max_items` and about [`MESSAGE_BYTES`] (an item larger
/// than that travels alone), in order. A message's id is `prefix` and the hash of
/// its items' ids, each given by `id` from the item and its JSON, so the same
/// items give the same messages. `name` names an item that cannot be written.
fn batches<T: Serialize>(
    items: &[T],
    max_items: usize,
    prefix: &str,
    subject: &str,
    name: impl Fn(&T) -> &str,
    id: impl Fn(&T, &[u8]) -> String,
) -> Result<Vec<(String, Vec<u8>)>, NatsError> {
    let mut out = Vec::new();
    let mut body: Vec<u8> = Vec::new();
    let mut ids = Sha256::new();
    let mut count = 0;
    let mut close = |body: Vec<u8>, ids: &mut Sha256| {
        let id = format!("{prefix}.{}", hex::encode(&ids.finalize_reset()[..16]));
        out.push((id, body));
    };
    for item in items {
        let mut start = body.len();
        body.push(if count == 0 { b'[' } else { b',' });
        serde_json::to_writer(&mut body, item).map_err(|e| NatsError::Message {
            subject: subject.into(),
            reason: format!("listing {:?}: {e}", name(item)),
        })?;
        // An item that fills the message, or takes it past its size, starts the
        // next one.
        if count > 0 && (count == max_items || body.len() + 1 > MESSAGE_BYTES) {
            let mut next = body.split_off(start);
            next[0] = b'[';
            body.push(b']');
            close(std::mem::replace(&mut body, next), &mut ids);
            count = 0;
            start = 0;
        }
        // The item's JSON, after its `[` or `,`.
        ids.update(id(item, &body[start + 1..]));
        ids.update(b"\n");
        count += 1;
    }
    if count > 0 {
        body.push(b']');
        close(body, &mut ids);
    }
    Ok(out)
}

/// The listings of one message: a JSON array of listings, or one listing (an
/// object), each still to be read as a listing. `Err` when the payload is not JSON
/// of either shape.
pub fn split_listings(payload: &[u8]) -> Result<Vec<Box<serde_json::value::RawValue>>, String> {
    let start = payload.iter().find(|b| !b.is_ascii_whitespace());
    if start == Some(&b'[') {
        serde_json::from_slice(payload).map_err(|e| format!("not a list of listings: {e}"))
    } else {
        let one: Box<serde_json::value::RawValue> =
            serde_json::from_slice(payload).map_err(|e| format!("not a listing: {e}"))?;
        Ok(vec![one])
    }
}

/// The messages of `results` on [`RESULTS_SUBJECT`]: JSON arrays of about
/// [`MESSAGE_BYTES`] at most, each with a message id made of its results' ids, so
/// the results of a redelivered message are stored by JetStream once.
pub fn result_messages(results: &[ListingResult]) -> Result<Vec<PublishMessage>, NatsError> {
    Ok(publish_messages(result_batches(results)?))
}

/// The message ids and payloads of [`result_messages`].
fn result_batches(results: &[ListingResult]) -> Result<Vec<(String, Vec<u8>)>, NatsError> {
    batches(
        results,
        usize::MAX,
        "results",
        RESULTS_SUBJECT,
        |r| &r.listing.id,
        |r, _| r.message_id(),
    )
}

/// A photo kept as evidence, its thumbnail in base64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptThumbnail {
    /// What is stored with the listing.
    pub record: PhotoRecord,
    /// The JPEG thumbnail, base64 (standard alphabet, padded).
    pub thumbnail: String,
}

/// One listing's result on [`RESULTS_SUBJECT`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingResult {
    /// [`RESULT_FORMAT`].
    pub format: u32,
    /// The listing as matched (bidi controls stripped).
    pub listing: Listing,
    /// SHA-256 of the listing's JSON, as the store computes it.
    pub sha256: String,
    /// The registry version the findings were computed against.
    pub registry_version: u64,
    /// The findings, highest score first; `[]` when nothing matched.
    pub findings: Vec<Finding>,
    /// The PDQ hashes of the listing's photos.
    #[serde(default)]
    pub photos: Vec<Hash256>,
    /// Their turned and mirrored copies.
    #[serde(default)]
    pub turned: Vec<Hash256>,
    /// Photos kept as evidence, up to [`MAX_THUMBNAIL_BYTES`] of thumbnails.
    #[serde(default)]
    pub kept: Vec<KeptThumbnail>,
    /// The sequence of the listing's message in the listings stream.
    pub intake_sequence: u64,
    /// How many times the listing had been delivered when this result was made.
    pub deliveries: i64,
    /// The worker that matched it.
    pub worker: String,
}

impl ListingResult {
    /// The result of matching `listing` (whose JSON hashes to `sha256`).
    pub fn new(
        listing: Listing,
        sha256: String,
        registry_version: u64,
        matched: Matched,
        intake_sequence: u64,
        deliveries: i64,
        worker: &str,
    ) -> ListingResult {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut budget = MAX_THUMBNAIL_BYTES;
        let kept = matched
            .kept
            .into_iter()
            .filter(|k| {
                let fits = k.thumbnail.len() <= budget;
                budget = budget.saturating_sub(k.thumbnail.len());
                fits
            })
            .map(|k| KeptThumbnail {
                thumbnail: b64.encode(&k.thumbnail),
                record: k.record,
            })
            .collect();
        ListingResult {
            format: RESULT_FORMAT,
            listing,
            sha256,
            registry_version,
            findings: matched.findings,
            photos: matched.photos,
            turned: matched.turned,
            kept,
            intake_sequence,
            deliveries,
            worker: worker.to_owned(),
        }
    }

    /// Reads a result, refusing another format.
    pub fn parse(payload: &[u8]) -> Result<ListingResult, NatsError> {
        let bad = |reason: String| NatsError::Message {
            subject: RESULTS_SUBJECT.into(),
            reason,
        };
        let result: ListingResult =
            serde_json::from_slice(payload).map_err(|e| bad(format!("not a result: {e}")))?;
        if result.format != RESULT_FORMAT {
            return Err(bad(format!(
                "format: {} is not {RESULT_FORMAT}; upgrade this markhound",
                result.format
            )));
        }
        Ok(result)
    }

    /// Reads the results of one message: a JSON array of results, or one result.
    pub fn parse_all(payload: &[u8]) -> Result<Vec<ListingResult>, NatsError> {
        match payload.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => {
                let items: Vec<Box<serde_json::value::RawValue>> = serde_json::from_slice(payload)
                    .map_err(|e| NatsError::Message {
                        subject: RESULTS_SUBJECT.into(),
                        reason: format!("not a list of results: {e}"),
                    })?;
                items
                    .iter()
                    .map(|i| ListingResult::parse(i.get().as_bytes()))
                    .collect()
            }
            _ => Ok(vec![ListingResult::parse(payload)?]),
        }
    }

    /// The message id JetStream deduplicates this result by.
    pub fn message_id(&self) -> String {
        result_message_id(&self.listing.id, &self.sha256, self.registry_version)
    }

    /// What the store keeps of it.
    pub fn matched(&self) -> Result<Matched, NatsError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let kept = self
            .kept
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Ok(KeptPhoto {
                    record: k.record.clone(),
                    thumbnail: b64.decode(&k.thumbnail).map_err(|e| NatsError::Message {
                        subject: RESULTS_SUBJECT.into(),
                        reason: format!("kept[{i}].thumbnail: {e}"),
                    })?,
                })
            })
            .collect::<Result<Vec<_>, NatsError>>()?;
        Ok(Matched {
            findings: self.findings.clone(),
            photos: self.photos.clone(),
            turned: self.turned.clone(),
            kept,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_travel_in_bounded_batches_with_stable_ids() {
        let listings: Vec<Listing> = (0..250)
            .map(|i| Listing {
                id: format!("L{i}"),
                title: "t".into(),
                ..Listing::default()
            })
            .collect();
        let a = listing_batches(&listings).unwrap();
        assert_eq!(a.len(), 3);
        // A message's id hashes the ids of its hundred listings, each named by
        // the listing's id and the hash the store keeps of it.
        let mut want = Sha256::new();
        for l in &listings[..MAX_LISTINGS_PER_MESSAGE] {
            want.update(listing_message_id(&l.id, &crate::review::listing_sha256(l)));
            want.update(b"\n");
        }
        assert_eq!(
            a[0].0,
            format!("listings.{}", hex::encode(&want.finalize()[..16]))
        );
        assert_eq!(
            a,
            listing_batches(&listings).unwrap(),
            "the same batch, the same ids"
        );
        let mut other = listings.clone();
        other[0].title = "changed".into();
        let b = listing_batches(&other).unwrap();
        assert_ne!(a[0].0, b[0].0);
        assert_eq!(a[1].0, b[1].0);
        let parts = split_listings(&a[2].1).unwrap();
        assert_eq!(parts.len(), 50);
        assert_eq!(listing_messages(&listings).unwrap().len(), 3);
        assert_eq!(split_listings(b" {\"id\": \"x\"}").unwrap().len(), 1);
        assert!(split_listings(b"[1,").is_err());
    }

    #[test]
    fn results_fill_messages_up_to_their_size_and_keep_their_order() {
        let result = |i: usize, size: usize| {
            let listing = Listing {
                id: format!("L{i}"),
                title: "x".repeat(size),
                ..Listing::default()
            };
            let sha = crate::review::listing_sha256(&listing);
            ListingResult::new(listing, sha, 1, Matched::default(), 1, 1, "w")
        };
        // Two of these fit in a message, three do not; one larger than a message
        // travels alone.
        let sizes = [300_000, 300_000, 300_000, 900_000, 10, 10];
        let results: Vec<ListingResult> = sizes
            .iter()
            .enumerate()
            .map(|(i, s)| result(i, *s))
            .collect();
        let messages = result_batches(&results).unwrap();
        let mut back = Vec::new();
        let mut counts = Vec::new();
        for (_, payload) in &messages {
            let part = ListingResult::parse_all(payload).unwrap();
            assert!(payload.len() <= MESSAGE_BYTES || part.len() == 1);
            counts.push(part.len());
            back.extend(part);
        }
        assert_eq!(counts, [2, 1, 1, 2]);
        assert_eq!(back, results);
        assert_eq!(
            messages,
            result_batches(&results).unwrap(),
            "the same results, the same ids"
        );
        assert_eq!(result_messages(&results).unwrap().len(), 4);
        assert!(result_messages(&[]).unwrap().is_empty());
    }

    #[test]
    fn ids_name_listing_content_and_version() {
        let a = result_message_id("L1", "ab", 3);
        assert_eq!(a, result_message_id("L1", "ab", 3));
        assert_ne!(a, result_message_id("L1", "ab", 4));
        assert_ne!(a, result_message_id("L2", "ab", 3));
        assert_ne!(a, result_message_id("L1", "ac", 3));
        // Header-safe whatever the id holds.
        let odd = result_message_id("id with spaces\u{00e9}:/", "ab", 1);
        assert!(odd.bytes().all(|b| b.is_ascii_graphic()), "{odd}");
    }

    #[test]
    fn a_result_round_trips_and_other_formats_are_refused() {
        let listing = Listing {
            id: "L1".into(),
            title: "t".into(),
            ..Listing::default()
        };
        let matched = Matched {
            kept: vec![KeptPhoto {
                record: PhotoRecord {
                    index: 0,
                    source: "http://x/a.png".into(),
                    sha256: "00".into(),
                    width: 1,
                    height: 1,
                },
                thumbnail: vec![1, 2, 3],
            }],
            ..Matched::default()
        };
        let r = ListingResult::new(listing, "ab".into(), 2, matched.clone(), 7, 1, "w");
        let json = serde_json::to_vec(&r).unwrap();
        let back = ListingResult::parse(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.matched().unwrap(), matched);
        let mut other = serde_json::to_value(&r).unwrap();
        other["format"] = 9.into();
        let err = ListingResult::parse(other.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("format: 9"), "{err}");
        let err = ListingResult::parse(b"{}").unwrap_err();
        assert!(err.to_string().starts_with(RESULTS_SUBJECT), "{err}");
    }
}
