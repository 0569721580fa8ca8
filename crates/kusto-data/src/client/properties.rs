//! Per-request settings: options, query parameters, request id, application and user.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::RetryPolicy;
use crate::error::{Error, Result};

/// The largest server timeout the service accepts (1 hour).
pub const MAX_SERVER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Settings of one request: the `Options` and `Parameters` sent in the body's `properties`, and
/// the values of the `x-ms-client-request-id`, `x-ms-app` and `x-ms-user` headers.
///
/// Options are passed through to the service as given (names are compared case-insensitively, as
/// the service does); the client itself reads `servertimeout` and `norequesttimeout` to derive its
/// own timeout, and `request_readonly` to decide whether a management command may be retried.
///
/// ```
/// use std::time::Duration;
/// use kusto_data::ClientRequestProperties;
///
/// let mut properties = ClientRequestProperties::new();
/// properties.set_option("truncationmaxrecords", 1000);
/// properties.set_server_timeout(Duration::from_secs(90));
/// properties.set_client_request_id("MyApp.report;42");
/// assert_eq!(properties.server_timeout().unwrap(), Some(Duration::from_secs(90)));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientRequestProperties {
    options: BTreeMap<String, Value>,
    parameters: BTreeMap<String, String>,
    client_request_id: Option<String>,
    application: Option<String>,
    user: Option<String>,
    retry_policy: Option<RetryPolicy>,
}

/// Option name of the server-side timeout.
pub const OPTION_SERVER_TIMEOUT: &str = "servertimeout";
/// Option name that asks for the maximum server timeout.
pub const OPTION_NO_REQUEST_TIMEOUT: &str = "norequesttimeout";
/// Option name that marks a request as read-only.
pub const OPTION_READONLY: &str = "request_readonly";
/// Option name that suppresses partial-failure markers in the data.
pub const OPTION_DEFER_PARTIAL_QUERY_FAILURES: &str = "deferpartialqueryfailures";

impl ClientRequestProperties {
    /// Empty properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an option (`properties.Options`), replacing any option of the same name in any
    /// letter case.
    pub fn set_option(&mut self, name: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        let name = name.into();
        self.options.retain(|k, _| !k.eq_ignore_ascii_case(&name));
        self.options.insert(name, value.into());
        self
    }

    /// The value of an option, looked up case-insensitively.
    pub fn option(&self, name: &str) -> Option<&Value> {
        self.options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Removes an option; returns its value.
    pub fn remove_option(&mut self, name: &str) -> Option<Value> {
        let key = self
            .options
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()?;
        self.options.remove(&key)
    }

    /// All options.
    pub fn options(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.options.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets a query parameter from its KQL literal text (`properties.Parameters`), as it travels
    /// on the wire. Prefer [`QueryParameters`](crate::kql::QueryParameters), which renders
    /// literals safely and writes the `declare query_parameters(...)` statement.
    pub fn set_parameter_literal(
        &mut self,
        name: impl Into<String>,
        literal: impl Into<String>,
    ) -> &mut Self {
        self.parameters.insert(name.into(), literal.into());
        self
    }

    /// All parameters as name and literal text.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets the `x-ms-client-request-id` of the request (otherwise `KRC.execute;<uuid>`).
    pub fn set_client_request_id(&mut self, id: impl Into<String>) -> &mut Self {
        self.client_request_id = Some(id.into());
        self
    }

    /// The client request id, if one was set.
    pub fn client_request_id(&self) -> Option<&str> {
        self.client_request_id.as_deref()
    }

    /// Overrides the application name sent in `x-ms-app`.
    pub fn set_application(&mut self, application: impl Into<String>) -> &mut Self {
        self.application = Some(application.into());
        self
    }

    /// The application name override, if any.
    pub fn application(&self) -> Option<&str> {
        self.application.as_deref()
    }

    /// Overrides the user name sent in `x-ms-user`.
    pub fn set_user(&mut self, user: impl Into<String>) -> &mut Self {
        self.user = Some(user.into());
        self
    }

    /// The user name override, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Overrides the client's retry policy for this request only. This setting stays on the
    /// client; it is not sent. It is also the way to opt in to retries of management commands
    /// that change state (by default only queries and read-only commands are retried, because
    /// sending an `.append` twice can ingest twice).
    pub fn set_retry_policy(&mut self, policy: RetryPolicy) -> &mut Self {
        self.retry_policy = Some(policy);
        self
    }

    /// The per-request retry policy, if one was set.
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry_policy.as_ref()
    }

    /// Sets `servertimeout`, clamped to the 1 hour maximum, in the `[d.]hh:mm:ss[.fffffff]` form.
    pub fn set_server_timeout(&mut self, timeout: Duration) -> &mut Self {
        let timeout = timeout.min(MAX_SERVER_TIMEOUT);
        self.set_option(OPTION_SERVER_TIMEOUT, format_timespan(timeout))
    }

    /// The server timeout these properties ask for: `servertimeout` in any spelling the service
    /// accepts (`00:04:00`, `0:04:00`, `01:00:00.0000000`, `1.00:00:00`, `50m`, `1.5h`, `90s`,
    /// a number of seconds...), or the maximum when `norequesttimeout` is true; `None` when
    /// neither is set. Values above one hour are clamped to one hour, as the service does.
    pub fn server_timeout(&self) -> Result<Option<Duration>> {
        if self
            .option(OPTION_NO_REQUEST_TIMEOUT)
            .is_some_and(is_true_value)
        {
            return Ok(Some(MAX_SERVER_TIMEOUT));
        }
        let Some(value) = self.option(OPTION_SERVER_TIMEOUT) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::String(text) => parse_timeout(text),
            Value::Number(n) => n.as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok()),
            _ => None,
        };
        match parsed {
            Some(timeout) => Ok(Some(timeout.min(MAX_SERVER_TIMEOUT))),
            None => Err(Error::InvalidArgument(format!(
                "option {OPTION_SERVER_TIMEOUT} has a value that is not a timespan: {value}"
            ))),
        }
    }

    /// True when the `request_readonly` option is set to true.
    pub fn is_readonly(&self) -> bool {
        self.option(OPTION_READONLY).is_some_and(is_true_value)
    }

    /// The `properties` object of the request body: `{"Options": {...}, "Parameters": {...}}`.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        let options: Map<String, Value> = self
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        object.insert("Options".into(), Value::Object(options));
        if !self.parameters.is_empty() {
            let parameters: Map<String, Value> = self
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            object.insert("Parameters".into(), Value::Object(parameters));
        }
        Value::Object(object)
    }
}

fn is_true_value(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// Formats a duration as a .NET TimeSpan (`[d.]hh:mm:ss[.fffffff]`), in whole 100 ns ticks.
pub(crate) fn format_timespan(duration: Duration) -> String {
    // Durations beyond the TimeSpan range (about 29,000 years) are clamped to its maximum.
    crate::KustoTimespan::from_std(duration)
        .unwrap_or(crate::KustoTimespan::from_ticks(i64::MAX))
        .to_string()
}

/// Parses a timeout given as a .NET TimeSpan (`[d.]h:mm:ss[.f...]`), a KQL timespan literal
/// (`50m`, `1.5h`, `2d`, `90s`, `100ms`, `timespan(...)`) or a bare number of seconds.
fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let text = text
        .strip_prefix("timespan(")
        .or_else(|| text.strip_prefix("time("))
        .and_then(|t| t.strip_suffix(')'))
        .map(str::trim)
        .unwrap_or(text);
    if text.contains(':') {
        return parse_dotnet_timespan(text);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "second" | "seconds" => number,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => number / 1000.0,
        "m" | "min" | "minute" | "minutes" => number * 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => number * 3600.0,
        "d" | "day" | "days" => number * 86_400.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

fn parse_dotnet_timespan(text: &str) -> Option<Duration> {
    let mut parts = text.split(':');
    let (first, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (days, hours) = match first.split_once('.') {
        Some((d, h)) => (d.parse::<u64>().ok()?, h.parse::<u64>().ok()?),
        None => (0, first.parse::<u64>().ok()?),
    };
    let minutes: u64 = minutes.parse().ok()?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let whole: u64 = whole.parse().ok()?;
    if hours > 23 || minutes > 59 || whole > 59 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = format!("{fraction:0<9}")
        .get(..9)
        .and_then(|d| d.parse::<u32>().ok())?;
    let seconds = days
        .checked_mul(86_400)?
        .checked_add(hours * 3600 + minutes * 60 + whole)?;
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_timeout_in_every_spelling() {
        let cases = [
            (json!("00:04:00"), 240.0),
            (json!("0:04:00"), 240.0),
            (json!("01:00:00.0000000"), 3600.0),
            (json!("00:00:01.5"), 1.5),
            (json!("50m"), 3000.0),
            (json!("1.5h"), 3600.0),
            (json!("90s"), 90.0),
            (json!("100ms"), 0.1),
            (json!("timespan(00:02:00)"), 120.0),
            (json!("2d"), 3600.0),
            (json!("1.00:00:00"), 3600.0),
            (json!(30), 30.0),
        ];
        for (value, seconds) in cases {
            let mut properties = ClientRequestProperties::new();
            properties.set_option("ServerTimeout", value.clone());
            let timeout = properties.server_timeout().unwrap().unwrap();
            assert!(
                (timeout.as_secs_f64() - seconds).abs() < 1e-9,
                "{value}: {timeout:?}"
            );
        }
    }

    #[test]
    fn bad_server_timeout_is_a_typed_error() {
        for bad in [
            json!("soon"),
            json!("25:00:00"),
            json!(true),
            json!("-5m"),
            json!("1:2"),
            json!(-1),
            json!(1e300),
            json!("99999999999999999999999d"),
        ] {
            let mut properties = ClientRequestProperties::new();
            properties.set_option("servertimeout", bad.clone());
            assert!(
                matches!(properties.server_timeout(), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn norequesttimeout_means_the_maximum() {
        let mut properties = ClientRequestProperties::new();
        assert_eq!(properties.server_timeout().unwrap(), None);
        properties.set_option("norequesttimeout", true);
        assert_eq!(
            properties.server_timeout().unwrap(),
            Some(MAX_SERVER_TIMEOUT)
        );
    }

    #[test]
    fn options_are_case_insensitive_and_serialised() {
        let mut properties = ClientRequestProperties::new();
        properties.set_option("QueryConsistency", "weakconsistency");
        properties.set_option("queryconsistency", "strongconsistency");
        properties.set_server_timeout(Duration::from_secs(90061));
        properties.set_parameter_literal("n", "long(5)");
        assert_eq!(
            properties.to_json(),
            json!({"Options": {"queryconsistency": "strongconsistency", "servertimeout": "01:00:00"},
                   "Parameters": {"n": "long(5)"}})
        );
        assert_eq!(
            format_timespan(Duration::new(90061, 500)),
            "1.01:01:01.0000005"
        );
        assert!(!properties.is_readonly());
        properties.set_option("request_readonly", "True");
        assert!(properties.is_readonly());
    }
}
