//! Registry snapshots: the registry a curator's database holds (every mark with its
//! terms, reference-image hashes and their variants), written as one zstd-compressed
//! JSON object to the JetStream object store, with a key in the key-value bucket
//! naming the current version. Workers load the newest at start and follow the key.

use std::time::Instant;

use async_nats::jetstream::{self, kv, object_store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{js_err, NatsError, CURRENT_KEY, REGISTRY_BUCKET};
use crate::registry::Mark;

/// The format number of a snapshot object.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// A snapshot as stored (before compression).
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    version: u64,
    marks: Vec<Mark>,
}

/// The value of [`CURRENT_KEY`]: which snapshot is current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPointer {
    /// The registry version.
    pub version: u64,
    /// The object holding it.
    pub object: String,
    /// How many marks it holds.
    pub marks: usize,
    /// Its size in bytes (compressed).
    pub bytes: u64,
    /// SHA-256 of the object's bytes, checked when loading.
    pub sha256: String,
}

/// The object name of version `version`.
pub fn object_name(version: u64) -> String {
    format!("registry-v{version}")
}

/// Encodes `marks` at `version` (JSON, zstd).
pub fn encode(version: u64, marks: Vec<Mark>) -> Result<Vec<u8>, NatsError> {
    let bad = |reason: String| NatsError::Message {
        subject: format!("{REGISTRY_BUCKET}/{}", object_name(version)),
        reason,
    };
    let json = serde_json::to_vec(&Snapshot {
        format: SNAPSHOT_FORMAT,
        version,
        marks,
    })
    .map_err(|e| bad(e.to_string()))?;
    zstd::encode_all(&json[..], 3).map_err(|e| bad(format!("cannot compress: {e}")))
}

/// Decodes a snapshot object, checking its format and version.
pub fn decode(pointer: &SnapshotPointer, bytes: &[u8]) -> Result<Vec<Mark>, NatsError> {
    let bad = |reason: String| NatsError::Message {
        subject: format!("{REGISTRY_BUCKET}/{}", pointer.object),
        reason,
    };
    let sha = hex::encode(Sha256::digest(bytes));
    if sha != pointer.sha256 {
        return Err(bad(format!(
            "sha256: {sha}, the key {CURRENT_KEY} names {}",
            pointer.sha256
        )));
    }
    let json = zstd::decode_all(bytes).map_err(|e| bad(format!("cannot decompress: {e}")))?;
    let snapshot: Snapshot =
        serde_json::from_slice(&json).map_err(|e| bad(format!("not a snapshot: {e}")))?;
    if snapshot.format != SNAPSHOT_FORMAT {
        return Err(bad(format!(
            "format: {} is not {SNAPSHOT_FORMAT}; upgrade this markhound",
            snapshot.format
        )));
    }
    if snapshot.version != pointer.version {
        return Err(bad(format!(
            "version: {}, the key {CURRENT_KEY} names {}",
            snapshot.version, pointer.version
        )));
    }
    Ok(snapshot.marks)
}

/// The key-value bucket, created when missing.
pub async fn bucket(js: &jetstream::Context) -> Result<kv::Store, NatsError> {
    if let Ok(store) = js.get_key_value(REGISTRY_BUCKET).await {
        return Ok(store);
    }
    js.create_key_value(kv::Config {
        bucket: REGISTRY_BUCKET.into(),
        history: 10,
        ..Default::default()
    })
    .await
    .map_err(js_err(format!(
        "cannot create the key-value bucket {REGISTRY_BUCKET}"
    )))
}

/// The object store, created when missing.
pub async fn objects(js: &jetstream::Context) -> Result<object_store::ObjectStore, NatsError> {
    if let Ok(store) = js.get_object_store(REGISTRY_BUCKET).await {
        return Ok(store);
    }
    js.create_object_store(object_store::Config {
        bucket: REGISTRY_BUCKET.into(),
        ..Default::default()
    })
    .await
    .map_err(js_err(format!(
        "cannot create the object store {REGISTRY_BUCKET}"
    )))
}

/// Reads the pointer in a key-value entry.
pub fn parse_pointer(value: &[u8]) -> Result<SnapshotPointer, NatsError> {
    serde_json::from_slice(value).map_err(|e| NatsError::Message {
        subject: format!("{REGISTRY_BUCKET}/{CURRENT_KEY}"),
        reason: format!("not a snapshot pointer: {e}"),
    })
}

/// The current snapshot's pointer, if one was published.
pub async fn current(js: &jetstream::Context) -> Result<Option<SnapshotPointer>, NatsError> {
    let kv = bucket(js).await?;
    let value = kv.get(CURRENT_KEY).await.map_err(js_err(format!(
        "cannot read {REGISTRY_BUCKET}/{CURRENT_KEY}"
    )))?;
    value.map(|v| parse_pointer(&v)).transpose()
}

/// Publishes `marks` as registry `version` and makes it current. Refuses a version
/// older than the current one (another database published a newer registry).
pub async fn publish(
    js: &jetstream::Context,
    version: u64,
    marks: Vec<Mark>,
) -> Result<SnapshotPointer, NatsError> {
    let kv = bucket(js).await?;
    let entry = kv
        .entry(CURRENT_KEY)
        .await
        .map_err(js_err(format!(
            "cannot read {REGISTRY_BUCKET}/{CURRENT_KEY}"
        )))?
        .filter(|e| !e.value.is_empty());
    if let Some(e) = &entry {
        let current = parse_pointer(&e.value)?;
        if current.version > version {
            return Err(NatsError::Message {
                subject: format!("{REGISTRY_BUCKET}/{CURRENT_KEY}"),
                reason: format!(
                    "version {} is current, newer than this registry's version {version}",
                    current.version
                ),
            });
        }
    }
    let count = marks.len();
    let bytes = tokio::task::spawn_blocking(move || encode(version, marks))
        .await
        .map_err(js_err("encoding the snapshot"))??;
    let pointer = SnapshotPointer {
        version,
        object: object_name(version),
        marks: count,
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    };
    let store = objects(js).await?;
    store
        .put(pointer.object.as_str(), &mut &bytes[..])
        .await
        .map_err(js_err(format!(
            "cannot write {REGISTRY_BUCKET}/{}",
            pointer.object
        )))?;
    let value = serde_json::to_vec(&pointer).map_err(|e| NatsError::Message {
        subject: format!("{REGISTRY_BUCKET}/{CURRENT_KEY}"),
        reason: e.to_string(),
    })?;
    // Only over the entry read above: two curators publishing at once cannot
    // both win.
    let what = format!("cannot update {REGISTRY_BUCKET}/{CURRENT_KEY}");
    match entry {
        Some(e) => kv
            .update(CURRENT_KEY, value.into(), e.revision)
            .await
            .map(drop)
            .map_err(js_err(what))?,
        None => kv
            .create(CURRENT_KEY, value.into())
            .await
            .map(drop)
            .map_err(js_err(what))?,
    }
    Ok(pointer)
}

/// Loads the snapshot `pointer` names; answers its marks and how long reading and
/// decoding took.
pub async fn load(
    js: &jetstream::Context,
    pointer: &SnapshotPointer,
) -> Result<(Vec<Mark>, std::time::Duration), NatsError> {
    let started = Instant::now();
    let store = objects(js).await?;
    let what = format!("cannot read {REGISTRY_BUCKET}/{}", pointer.object);
    let mut object = store
        .get(pointer.object.as_str())
        .await
        .map_err(js_err(what.clone()))?;
    let mut bytes = Vec::with_capacity(usize::try_from(pointer.bytes).unwrap_or(0).min(1 << 30));
    object.read_to_end(&mut bytes).await.map_err(js_err(what))?;
    let pointer = pointer.clone();
    let marks = tokio::task::spawn_blocking(move || decode(&pointer, &bytes))
        .await
        .map_err(js_err("decoding the snapshot"))??;
    Ok((marks, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_round_trips_and_is_checked() {
        let marks = vec![Mark {
            id: "zentrix".into(),
            name: "Zentrix".into(),
            aliases: vec!["ZTX".into()],
            ..Mark::default()
        }];
        let bytes = encode(4, marks.clone()).unwrap();
        let pointer = SnapshotPointer {
            version: 4,
            object: object_name(4),
            marks: 1,
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        };
        assert_eq!(decode(&pointer, &bytes).unwrap(), marks);
        let wrong = SnapshotPointer {
            sha256: "00".into(),
            ..pointer.clone()
        };
        let err = decode(&wrong, &bytes).unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
        let other = SnapshotPointer {
            version: 5,
            ..pointer
        };
        let err = decode(&other, &bytes).unwrap_err();
        assert!(err.to_string().contains("version: 4"), "{err}");
    }
}
