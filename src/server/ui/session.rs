//! Web sessions: a random id in an HttpOnly, SameSite=Strict cookie, mapped in
//! memory to who signed in and the session's CSRF token. Sessions do not survive a
//! restart (reviewers sign in again); tokens never reach the browser after sign-in.
//! Also the sign-in rate limit: a few failed attempts per address per minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::review::Role;

/// The session cookie's name.
pub const COOKIE: &str = "markhound_session";
/// How long a session lives without use.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// Failed sign-ins allowed per address per [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(60);
/// Sessions kept at most; the oldest are dropped beyond it.
const MAX_SESSIONS: usize = 10_000;

/// A browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who signed in (none before sign-in).
    pub user: Option<(String, Role)>,
    /// The per-session CSRF token every form carries in a hidden field.
    pub csrf: String,
    last_seen: Instant,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant-time).
    pub fn csrf_ok(&self, given: &str) -> bool {
        self.csrf.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// All sessions and the sign-in attempts.
#[derive(Debug, Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Sessions {
    /// The live session `id`, touched.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match map.get_mut(id) {
            Some(s) if now.duration_since(s.last_seen) < IDLE => {
                s.last_seen = now;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// A new session for `user`; returns its id.
    pub fn create(&self, user: Option<(String, Role)>) -> (String, Session) {
        let id = random_hex();
        let session = Session {
            user,
            csrf: random_hex(),
            last_seen: Instant::now(),
        };
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SESSIONS {
            let now = Instant::now();
            map.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
            if map.len() >= MAX_SESSIONS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
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
    }

    /// Whether `ip` may try to sign in now.
    pub fn may_try(&self, ip: IpAddr) -> bool {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip) {
            Some((since, n)) => since.elapsed() >= WINDOW || *n < MAX_FAILURES,
            None => true,
        }
    }

    /// Counts a failed sign-in from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
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
    fn sessions_carry_a_csrf_token_and_end() {
        let s = Sessions::default();
        let (id, session) = s.create(Some(("ana".into(), Role::Reviewer)));
        let got = s.get(&id).unwrap();
        assert!(got.csrf_ok(&session.csrf));
        assert!(!got.csrf_ok("") && !got.csrf_ok(&id));
        s.remove(&id);
        assert!(s.get(&id).is_none());
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
