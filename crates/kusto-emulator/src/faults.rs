//! Fault injection: rules that make requests to matching paths fail, throttle, wait or lose their
//! connection, a given number of times or with a probability.
//!
//! Rules are added through the library ([`Faults::add`]) or the control endpoint
//! `POST /_emulator/faults` with the JSON form of [`FaultRule`]:
//!
//! ```json
//! {"path": "/v2/rest/query", "method": "POST", "action": "status", "status": 503,
//!  "code": "ServiceUnavailable", "message": "injected", "permanent": false, "times": 2}
//! {"path": "/v1/rest/ingest/*", "action": "throttle", "retryAfterSeconds": 3, "probability": 0.5}
//! {"path": "*", "action": "delay", "delayMs": 500}
//! {"path": "/v1/rest/mgmt", "action": "drop", "times": 1}
//! {"path": "/v2/rest/query", "action": "truncate", "probability": 0.1}
//! ```
//!
//! `path` is matched against the request path (no query string); `*` matches any run of
//! characters. `delayMs` may accompany any action (the answer is delayed, then the action taken);
//! the `delay` action alone delays and then serves the request normally. The first matching
//! rule with remaining uses applies. `GET /_emulator/faults` lists the rules, `DELETE
//! /_emulator/faults` removes them all and `DELETE /_emulator/faults/{id}` one of them.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a matching fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum FaultAction {
    /// Answer with an HTTP status and a OneApi error body.
    #[serde(rename_all = "camelCase")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error `code` (default `InjectedFault`).
        #[serde(default = "default_code")]
        code: String,
        /// The error `@message` (default: a text naming the fault).
        #[serde(default = "default_message")]
        message: String,
        /// The error's `@permanent` flag.
        #[serde(default)]
        permanent: bool,
    },
    /// Answer 429 with `Retry-After`.
    #[serde(rename_all = "camelCase")]
    Throttle {
        /// Seconds in the `Retry-After` header.
        #[serde(default = "default_retry_after")]
        retry_after_seconds: u64,
    },
    /// Only wait (see [`FaultRule::delay_ms`]), then serve the request normally.
    Delay,
    /// Close the connection without answering.
    Drop,
    /// Serve the request, then cut the answer: the emulator sends the status line, the headers
    /// and the first half of the body (with the full `Content-Length`), then closes the
    /// connection; the storage proxy forwards the request to Azurite and closes the connection
    /// without answering (as [`Lose`](FaultAction::Lose)). The request took effect; a caller
    /// that saw the success status can know it, one that did not cannot.
    Truncate,
    /// Serve the request, then close the connection without sending anything back. The
    /// request took effect and the caller cannot know it: the fault behind doubled data.
    Lose,
}

fn default_code() -> String {
    "InjectedFault".to_string()
}

fn default_message() -> String {
    "A fault injected by the Kusto emulator".to_string()
}

fn default_retry_after() -> u64 {
    1
}

/// A fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Path pattern (`*` matches any characters).
    pub path: String,
    /// HTTP method to match (any when absent), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// What to do.
    #[serde(flatten)]
    pub action: FaultAction,
    /// Wait this long before acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Apply this many times, then stop (forever when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Apply to this fraction of matching requests (0.0 to 1.0; always when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl FaultRule {
    /// A rule for a path pattern and an action, applying to every matching request.
    pub fn new(path: impl Into<String>, action: FaultAction) -> Self {
        FaultRule {
            path: path.into(),
            method: None,
            action,
            delay_ms: None,
            times: None,
            probability: None,
        }
    }

    /// Only for this HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Apply `n` times only.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Apply with this probability.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// Wait before acting.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    fn validate(&self) -> Result<(), String> {
        if self.path.is_empty() {
            return Err("'path' must not be empty".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("'probability' must be between 0 and 1".into());
        }
        if let FaultAction::Status { status, .. } = &self.action
            && !(100..=599).contains(status)
        {
            return Err("'status' must be an HTTP status code".into());
        }
        Ok(())
    }
}

/// A rule with its id and remaining uses, as listed by `GET /_emulator/faults`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFault {
    /// The rule's id.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Uses left (`None` = unlimited).
    pub remaining: Option<u64>,
    /// How often it applied so far.
    pub applied: u64,
}

/// What to do with one request, decided by [`Faults::check`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub(crate) delay: Option<Duration>,
    pub(crate) action: FaultAction,
}

/// The set of fault rules of one emulator.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<(u64, Vec<ActiveFault>)>,
}

impl Faults {
    /// Adds a rule; returns its id. Fails on an invalid rule (empty path, probability out of
    /// range, bad status).
    pub fn add(&self, rule: FaultRule) -> Result<u64, String> {
        rule.validate()?;
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.0 += 1;
        let id = inner.0;
        let remaining = rule.times;
        inner.1.push(ActiveFault {
            id,
            rule,
            remaining,
            applied: 0,
        });
        Ok(id)
    }

    /// Removes one rule; `false` if there was none with this id.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let before = inner.1.len();
        inner.1.retain(|f| f.id != id);
        inner.1.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clear();
    }

    /// The rules and their counters.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// Decides whether a request is faulted, consuming one use of the matching rule.
    pub(crate) fn check(&self, method: &str, path: &str) -> Option<Decision> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for fault in inner.1.iter_mut() {
            if fault.remaining == Some(0) {
                continue;
            }
            if fault
                .rule
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                continue;
            }
            if !glob_match(&fault.rule.path, path) {
                continue;
            }
            if let Some(p) = fault.rule.probability
                && rand::random::<f64>() >= p
            {
                continue;
            }
            if let Some(r) = fault.remaining.as_mut() {
                *r -= 1;
            }
            fault.applied += 1;
            return Some(Decision {
                delay: fault.rule.delay_ms.map(Duration::from_millis),
                action: fault.rule.action.clone(),
            });
        }
        None
    }
}

/// Matches `text` against a pattern where `*` matches any run of characters.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob_match("*", "/anything"));
        assert!(glob_match("/v1/rest/ingest/*", "/v1/rest/ingest/db/t"));
        assert!(!glob_match("/v1/rest/ingest/*", "/v1/rest/mgmt"));
        assert!(glob_match("/v*/rest/query", "/v2/rest/query"));
        assert!(glob_match("/v2/rest/query", "/v2/rest/query"));
        assert!(!glob_match("/v2/rest/query", "/v2/rest/query2"));
    }

    #[test]
    fn counted_and_probabilistic_rules() {
        let faults = Faults::default();
        let id = faults
            .add(FaultRule::new("/x", FaultAction::Drop).times(2))
            .unwrap();
        assert!(faults.check("GET", "/x").is_some());
        assert!(faults.check("POST", "/x").is_some());
        assert!(faults.check("POST", "/x").is_none());
        assert_eq!(faults.list()[0].applied, 2);
        assert!(faults.remove(id));
        faults
            .add(FaultRule::new("/y", FaultAction::Delay).probability(0.0))
            .unwrap();
        assert!(faults.check("GET", "/y").is_none());
        faults
            .add(FaultRule::new("/z", FaultAction::Delay).method("POST"))
            .unwrap();
        assert!(faults.check("GET", "/z").is_none());
        assert!(faults.check("post", "/z").is_some());
        assert!(
            faults
                .add(FaultRule::new("/p", FaultAction::Drop).probability(2.0))
                .is_err()
        );
        faults.clear();
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_probability_applies_to_about_that_fraction_of_requests() {
        let faults = Faults::default();
        faults
            .add(FaultRule::new("/p", FaultAction::Drop).probability(0.2))
            .unwrap();
        let hits = (0..10_000)
            .filter(|_| faults.check("GET", "/p").is_some())
            .count();
        // Expected 2000, standard deviation 40: the band is over 12 deviations wide on each
        // side (never missed in practice), and excludes the 8000 of an inverted comparison.
        assert!((1500..=2500).contains(&hits), "{hits} of 10000");
        assert_eq!(faults.list()[0].applied, hits as u64);
        // A request the probability skips falls through to the next matching rule.
        faults.clear();
        faults
            .add(FaultRule::new("/q", FaultAction::Drop).probability(0.5))
            .unwrap();
        faults
            .add(FaultRule::new("/q", FaultAction::Delay))
            .unwrap();
        let actions: Vec<FaultAction> = (0..200)
            .filter_map(|_| faults.check("GET", "/q").map(|d| d.action))
            .collect();
        assert_eq!(actions.len(), 200, "the second rule catches the rest");
        assert!(actions.contains(&FaultAction::Drop));
        assert!(actions.contains(&FaultAction::Delay));
    }

    #[test]
    fn json_form() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"path":"/v2/rest/query","action":"status","status":503,"permanent":false,"times":1,"delayMs":10}"#,
        )
        .unwrap();
        assert_eq!(rule.times, Some(1));
        assert_eq!(rule.delay_ms, Some(10));
        assert!(
            matches!(rule.action, FaultAction::Status { status: 503, ref code, .. } if code == "InjectedFault")
        );
        let t: FaultRule =
            serde_json::from_str(r#"{"path":"*","action":"throttle","retryAfterSeconds":3}"#)
                .unwrap();
        assert_eq!(
            t.action,
            FaultAction::Throttle {
                retry_after_seconds: 3
            }
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"path":"*","action":"explode"}"#).is_err());
    }
}
