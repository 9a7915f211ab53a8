//! Login, Logout, the two cookies and the idle timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::wire::{SapError, SapResponse, Version};

/// The route id the fake load balancer pins sessions to.
pub const ROUTE_ID: &str = ".node1";

#[derive(Debug)]
struct Session {
    last_used: DateTime<Utc>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

/// Live sessions.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    rng: Mutex<StdRng>,
    /// Idle timeout.
    pub timeout: Duration,
}

/// Login credentials the fake accepts.
#[derive(Debug, Clone)]
pub struct Login {
    /// CompanyDB.
    pub company_db: String,
    /// UserName.
    pub user: String,
    /// Password.
    pub password: String,
}

/// Reads `name` from a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

impl Sessions {
    /// An empty session table.
    pub fn new(seed: u64, timeout: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x5E55)),
            timeout,
        }
    }

    fn new_id(&self) -> String {
        const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = self.rng.lock().expect("rng lock");
        let mut part = |n: usize| -> String {
            (0..n)
                .map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char)
                .collect()
        };
        format!(
            "{}-{}-{}-{}-{}",
            part(8),
            part(4),
            part(4),
            part(4),
            part(12)
        )
    }

    /// `POST /Login`.
    pub fn login(
        &self,
        body: &[u8],
        expected: &Login,
        version: Version,
        root: &str,
        now: DateTime<Utc>,
    ) -> SapResponse {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let field = |k: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let Some(_) = parsed.as_ref().and_then(Value::as_object) else {
            return SapResponse::error(&SapError::malformed("Invalid login request body"), version);
        };
        if field("CompanyDB") != expected.company_db
            || field("UserName") != expected.user
            || field("Password") != expected.password
        {
            return SapResponse::error(&SapError::new(401, "100000027", "Login failed"), version);
        }
        let id = self.new_id();
        self.map.lock().expect("sessions lock").insert(
            id.clone(),
            Session {
                last_used: now,
                lock: Arc::new(tokio::sync::Mutex::new(())),
            },
        );
        let (ann_key, ann) = match version {
            Version::V1 => (
                "odata.metadata",
                format!("{root}/$metadata#B1Sessions/@Element"),
            ),
            Version::V2 => (
                "@odata.context",
                format!("{root}/$metadata#B1Sessions/$entity"),
            ),
        };
        let mut body = json!({"SessionId": id, "Version": "1000280", "SessionTimeout": self.timeout.num_minutes()});
        body.as_object_mut()
            .expect("object")
            .insert(ann_key.to_string(), Value::from(ann));
        let mut resp = SapResponse::json(200, body);
        resp.headers
            .push(("Set-Cookie".into(), format!("B1SESSION={id};HttpOnly;")));
        resp.headers.push((
            "Set-Cookie".into(),
            format!("ROUTEID={ROUTE_ID}; path=/b1s"),
        ));
        resp
    }

    /// Checks both cookies and the idle timeout; returns the session id and its serialisation lock.
    pub fn authenticate(
        &self,
        cookie_header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(String, Arc<tokio::sync::Mutex<()>>), SapError> {
        let header = cookie_header.ok_or_else(SapError::session)?;
        let id = cookie(header, "B1SESSION").ok_or_else(SapError::session)?;
        if cookie(header, "ROUTEID") != Some(ROUTE_ID) {
            return Err(SapError::session());
        }
        let mut map = self.map.lock().expect("sessions lock");
        let Some(s) = map.get_mut(id) else {
            return Err(SapError::session());
        };
        if now - s.last_used > self.timeout {
            map.remove(id);
            return Err(SapError::session());
        }
        s.last_used = now;
        Ok((id.to_string(), s.lock.clone()))
    }

    /// `POST /Logout`.
    pub fn logout(&self, id: &str) {
        self.map.lock().expect("sessions lock").remove(id);
    }

    /// Expires the session named in a `Cookie` header.
    pub fn expire_cookie(&self, cookie_header: &str) {
        if let Some(id) = cookie(cookie_header, "B1SESSION") {
            self.map.lock().expect("sessions lock").remove(id);
        }
    }

    /// Expires every session.
    pub fn expire_all(&self) {
        self.map.lock().expect("sessions lock").clear();
    }

    /// Number of live sessions.
    pub fn count(&self) -> usize {
        self.map.lock().expect("sessions lock").len()
    }
}
