//! Web sessions: a random id in an HttpOnly, SameSite=Strict cookie, mapped to who
//! signed in and the session's CSRF token. Signed-in sessions are also kept in the
//! database (tree `ui/sessions`, keyed by the SHA-256 of the id, so the database holds
//! no usable cookie), and survive a restart of the service; sessions opened only to
//! show the sign-in form stay in memory, so anonymous visitors cannot fill the
//! database. Tokens never reach the browser after sign-in. Also the sign-in rate
//! limit: a few failed attempts per address per minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::review::Role;

/// The session cookie's name.
pub const COOKIE: &str = "markhound_session";
/// How long a session lives without use.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// How often a stored session's last use is written back (not on every request).
const TOUCH: Duration = Duration::from_secs(60);
/// Failed sign-ins allowed per address per [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(60);
/// Sessions kept at most; the oldest are dropped beyond it.
const MAX_SESSIONS: usize = 10_000;
/// The tree of signed-in sessions.
use crate::db::trees::SESSIONS as TREE;

/// A browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who signed in (none before sign-in).
    pub user: Option<(String, Role)>,
    /// The per-session CSRF token every form carries in a hidden field.
    pub csrf: String,
    /// The public id of the token signed in with: revoking the token ends the
    /// session at its next request.
    pub token: Option<String>,
    last_seen: Instant,
    /// When the stored copy's last use was last written.
    stored_at: Instant,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant-time).
    pub fn csrf_ok(&self, given: &str) -> bool {
        self.csrf.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

/// A signed-in session as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    name: String,
    role: Role,
    csrf: String,
    /// Last use, seconds since the Unix epoch.
    last_seen: u64,
    /// The public id of the token signed in with (absent in sessions stored by
    /// earlier versions: those must sign in again).
    #[serde(default)]
    token: Option<String>,
}

/// Addresses whose failed sign-ins are remembered at once; past it, finished
/// windows (then the oldest) are forgotten, so the map stays bounded.
const MAX_FAILURE_ENTRIES: usize = 10_000;

/// The client an address stands for when counting failed sign-ins: an IPv4
/// address, or an IPv6 address's /64 (one subscriber usually holds a whole /64, so
/// counting single IPv6 addresses would let one client try without limit).
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn stored_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// All sessions and the sign-in attempts.
#[derive(Debug, Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Where signed-in sessions are kept; none: memory only.
    tree: Option<sled::Tree>,
}

impl Sessions {
    /// Sessions kept in `db`; expired and unreadable stored sessions are dropped.
    pub fn open(db: &sled::Db) -> Result<Sessions, sled::Error> {
        let tree = db.open_tree(TREE)?;
        let now = unix_now();
        for entry in tree.iter() {
            let (key, value) = entry?;
            let live = serde_json::from_slice::<Stored>(&value)
                .is_ok_and(|s| now.saturating_sub(s.last_seen) < IDLE.as_secs());
            if !live {
                tree.remove(key)?;
            }
        }
        Ok(Sessions {
            tree: Some(tree),
            ..Sessions::default()
        })
    }

    fn store(&self, id: &str, session: &Session) {
        let (Some(tree), Some((name, role))) = (&self.tree, &session.user) else {
            return;
        };
        let stored = Stored {
            name: name.clone(),
            role: *role,
            csrf: session.csrf.clone(),
            last_seen: unix_now(),
            token: session.token.clone(),
        };
        let value = serde_json::to_vec(&stored).expect("a session serialises");
        if let Err(e) = tree.insert(stored_key(id), value) {
            // The session still works until a restart.
            tracing::warn!("storing a session: {e}");
        }
    }

    /// The stored session `id`, if it is live.
    fn load(&self, id: &str) -> Option<Session> {
        let tree = self.tree.as_ref()?;
        let value = tree.get(stored_key(id)).ok()??;
        let stored: Stored = serde_json::from_slice(&value).ok()?;
        let idle = unix_now().saturating_sub(stored.last_seen);
        if idle >= IDLE.as_secs() || stored.token.is_none() {
            let _ = tree.remove(stored_key(id));
            return None;
        }
        let now = Instant::now();
        Some(Session {
            user: Some((stored.name, stored.role)),
            csrf: stored.csrf,
            token: stored.token,
            last_seen: now.checked_sub(Duration::from_secs(idle)).unwrap_or(now),
            stored_at: now,
        })
    }

    fn unstore(&self, id: &str) {
        if let Some(tree) = &self.tree {
            if let Err(e) = tree.remove(stored_key(id)) {
                tracing::warn!("removing a stored session: {e}");
            }
        }
    }

    /// The live session `id`, touched.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match map.get_mut(id) {
            Some(s) if now.duration_since(s.last_seen) < IDLE => {
                s.last_seen = now;
                let session = s.clone();
                if now.duration_since(s.stored_at) >= TOUCH {
                    s.stored_at = now;
                    self.store(id, &session);
                }
                Some(session)
            }
            Some(_) => {
                map.remove(id);
                self.unstore(id);
                None
            }
            None => {
                // Signed in before the service restarted.
                let mut session = self.load(id)?;
                session.last_seen = now;
                self.store(id, &session);
                map.insert(id.to_owned(), session.clone());
                Some(session)
            }
        }
    }

    /// A new session before sign-in; returns its id.
    pub fn create_anonymous(&self) -> (String, Session) {
        self.create(None, None)
    }

    /// A new session for `user`, signed in with the token whose public id is
    /// `token`; returns its id.
    pub fn create_signed_in(&self, user: (String, Role), token: &str) -> (String, Session) {
        self.create(Some(user), Some(token.to_owned()))
    }

    fn create(&self, user: Option<(String, Role)>, token: Option<String>) -> (String, Session) {
        let id = random_hex();
        let now = Instant::now();
        let session = Session {
            user,
            token,
            csrf: random_hex(),
            last_seen: now,
            stored_at: now,
        };
        self.store(&id, &session);
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // Sessions before sign-in (anyone may open the sign-in page) and signed-in
        // sessions have a cap each, and make room only among their own kind: no
        // number of anonymous visits can sign a reviewer out.
        let signed_in = session.user.is_some();
        let same_kind = |s: &Session| s.user.is_some() == signed_in;
        if map.values().filter(|s| same_kind(s)).count() >= MAX_SESSIONS {
            let now = Instant::now();
            let mut expired = Vec::new();
            for (k, s) in map.iter() {
                if same_kind(s) && now.duration_since(s.last_seen) >= IDLE {
                    expired.push(k.clone());
                }
            }
            if expired.is_empty() {
                expired.extend(
                    map.iter()
                        .filter(|(_, s)| same_kind(s))
                        .min_by_key(|(_, s)| s.last_seen)
                        .map(|(k, _)| k.clone()),
                );
            }
            for k in expired {
                map.remove(&k);
                if signed_in {
                    self.unstore(&k);
                }
            }
        }
        map.insert(id.clone(), session.clone());
        (id, session)
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        self.unstore(id);
        // A sign-out must hold even if the service dies right after it.
        if let Some(tree) = &self.tree {
            if let Err(e) = tree.flush() {
                tracing::warn!("flushing a sign-out: {e}");
            }
        }
    }

    /// Whether `ip` may try to sign in now.
    pub fn may_try(&self, ip: IpAddr) -> bool {
        let ip = client_of(ip);
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip) {
            Some((since, n)) => since.elapsed() >= WINDOW || *n < MAX_FAILURES,
            None => true,
        }
    }

    /// Counts a failed sign-in from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let ip = client_of(ip);
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_FAILURE_ENTRIES && !map.contains_key(&ip) {
            // Forget windows that are over; if every entry is recent, the oldest.
            map.retain(|_, (since, _)| since.elapsed() < WINDOW);
            if map.len() >= MAX_FAILURE_ENTRIES {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (since, _))| *since)
                    .map(|(k, _)| *k)
                {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sign_ins_count_an_ipv6_slash_64_as_one_client_and_stay_bounded() {
        let s = Sessions::default();
        for i in 0..MAX_FAILURES {
            s.failed(format!("2001:db8:1:2::{i:x}").parse().unwrap());
        }
        assert!(!s.may_try("2001:db8:1:2:ffff::1".parse().unwrap()));
        assert!(s.may_try("2001:db8:1:3::1".parse().unwrap()));
        for i in 0..(MAX_FAILURE_ENTRIES as u32 + 100) {
            s.failed(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
        }
        assert!(s.failures.lock().unwrap().len() <= MAX_FAILURE_ENTRIES);
    }

    #[test]
    fn anonymous_visits_never_evict_a_signed_in_session() {
        let s = Sessions::default();
        let (id, _) = s.create_signed_in(("ana".into(), Role::Reviewer), "t1");
        for _ in 0..MAX_SESSIONS + 50 {
            s.create_anonymous();
        }
        assert!(s.get(&id).is_some(), "the reviewer was signed out");
        let anonymous = s
            .sessions
            .lock()
            .unwrap()
            .values()
            .filter(|x| x.user.is_none())
            .count();
        assert_eq!(anonymous, MAX_SESSIONS);
    }

    #[test]
    fn sessions_carry_a_csrf_token_and_end() {
        let s = Sessions::default();
        let (id, session) = s.create_signed_in(("ana".into(), Role::Reviewer), "t1");
        let got = s.get(&id).unwrap();
        assert!(got.csrf_ok(&session.csrf));
        assert!(!got.csrf_ok("") && !got.csrf_ok(&id));
        s.remove(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn signed_in_sessions_survive_a_restart_and_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let (id, session, anonymous) = {
            let s = Sessions::open(&db).unwrap();
            let (id, session) = s.create_signed_in(("ana".into(), Role::Reviewer), "t1");
            let (anonymous, _) = s.create_anonymous();
            (id, session, anonymous)
        };
        // The database holds a hash of the id, never the id itself.
        let tree = db.open_tree(TREE).unwrap();
        assert_eq!(tree.len(), 1, "only the signed-in session is stored");
        for entry in tree.iter() {
            let (key, value) = entry.unwrap();
            assert_ne!(&key[..], id.as_bytes());
            assert!(!String::from_utf8_lossy(&value).contains(&id));
        }
        let s = Sessions::open(&db).unwrap();
        let got = s.get(&id).expect("the session survives");
        assert_eq!(got.user, Some(("ana".into(), Role::Reviewer)));
        assert!(got.csrf_ok(&session.csrf));
        assert!(s.get(&anonymous).is_none());
        s.remove(&id);
        let s = Sessions::open(&db).unwrap();
        assert!(s.get(&id).is_none(), "signing out ends the stored session");
    }

    #[test]
    fn expired_or_unreadable_stored_sessions_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree(TREE).unwrap();
        let old = Stored {
            name: "ana".into(),
            role: Role::Reviewer,
            csrf: "x".into(),
            last_seen: unix_now() - IDLE.as_secs() - 1,
            token: Some("t1".into()),
        };
        tree.insert(stored_key("old"), serde_json::to_vec(&old).unwrap())
            .unwrap();
        tree.insert(stored_key("bad"), &b"not json"[..]).unwrap();
        let s = Sessions::open(&db).unwrap();
        assert!(s.get("old").is_none() && s.get("bad").is_none());
        assert!(tree.is_empty());
    }

    #[test]
    fn sign_in_is_limited_after_repeated_failures() {
        let s = Sessions::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(s.may_try(ip));
            s.failed(ip);
        }
        assert!(!s.may_try(ip));
        assert!(s.may_try("127.0.0.2".parse().unwrap()));
    }
}
