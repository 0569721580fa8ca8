//! OneApi error bodies with the shapes of a real cluster (kusto-protocol.md 5.2, 5.3, 13.2).

use uuid::Uuid;

use crate::kql::{KqlError, line_and_position};
use crate::time;
use crate::value::write_json_string;

/// Correlation data of one request, written into `@context`.
#[derive(Debug, Clone)]
pub(crate) struct Correlation {
    pub(crate) client_request_id: String,
    pub(crate) activity_id: Uuid,
    pub(crate) activity_type: &'static str,
}

/// A JSON object writer that keeps keys in insertion order.
pub(crate) struct Obj {
    out: String,
    first: bool,
}

impl Obj {
    pub(crate) fn new() -> Self {
        Obj {
            out: String::from("{"),
            first: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_json_string(key, &mut self.out);
        self.out.push(':');
    }

    pub(crate) fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        write_json_string(value, &mut self.out);
        self
    }

    pub(crate) fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    pub(crate) fn bool(self, key: &str, value: bool) -> Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    pub(crate) fn num(self, key: &str, value: i64) -> Self {
        self.raw(key, &value.to_string())
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// The `innererror` of a query-text failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InnerError {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) type_name: String,
    pub(crate) detail: String,
    /// `@line`, `@pos`, `@token` of syntax errors.
    pub(crate) position: Option<(usize, usize, String)>,
}

/// An error answered by the emulator: HTTP status and OneApi body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) type_name: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) permanent: bool,
    pub(crate) failure_code: Option<u16>,
    pub(crate) text: Option<String>,
    pub(crate) database: Option<String>,
    pub(crate) inner: Option<InnerError>,
    /// A gateway-level rejection: only `code`, `message` and `@context`; plain text when the
    /// client did not accept JSON.
    pub(crate) gateway: bool,
    /// `Retry-After` seconds (throttling).
    pub(crate) retry_after: Option<u64>,
}

pub(crate) const BAD_REQUEST_MESSAGE: &str = "Request is invalid and cannot be executed.";

impl ServiceError {
    /// A plain OneApi error.
    pub(crate) fn new(
        status: u16,
        code: &str,
        type_name: &str,
        detail: impl Into<String>,
        permanent: bool,
    ) -> Self {
        ServiceError {
            status,
            code: code.to_string(),
            message: if status == 400 {
                BAD_REQUEST_MESSAGE.to_string()
            } else {
                generic_message(status).to_string()
            },
            type_name: Some(type_name.to_string()),
            detail: Some(detail.into()),
            permanent,
            failure_code: None,
            text: None,
            database: None,
            inner: None,
            gateway: false,
            retry_after: None,
        }
    }

    /// `General_BadRequest` / `KustoBadRequestException`.
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        ServiceError::new(
            400,
            "General_BadRequest",
            "Kusto.Data.Exceptions.KustoBadRequestException",
            detail,
            true,
        )
    }

    /// A gateway rejection (wrong endpoint for a command).
    pub(crate) fn gateway(message: &str) -> Self {
        ServiceError {
            status: 400,
            code: "Bad request".to_string(),
            message: message.to_string(),
            type_name: None,
            detail: None,
            permanent: true,
            failure_code: None,
            text: None,
            database: None,
            inner: None,
            gateway: true,
            retry_after: None,
        }
    }

    /// A query whose text failed to parse or bind: the `KustoBadRequestException` wrapper with the
    /// syntax or semantic error in `innererror`.
    pub(crate) fn query(err: &KqlError, query: &str, database: &str) -> Self {
        let inner = match err {
            KqlError::Syntax { offset, token } => {
                let (line, pos) = line_and_position(query, *offset);
                InnerError {
                    code: "SYN0002".into(),
                    message: "A recognition error occurred.".into(),
                    type_name: "Kusto.Data.Exceptions.SyntaxException".into(),
                    detail: format!(
                        "Syntax error: SYN0002: A recognition error occurred. [line:position={line}:{pos}]. Query: '{query}'"
                    ),
                    position: Some((line, pos, token.clone())),
                }
            }
            KqlError::Semantic { code, message } => InnerError {
                code: (*code).to_string(),
                message: message.clone(),
                type_name: "Kusto.Data.Exceptions.SemanticException".into(),
                detail: format!("Semantic error: {code}: {message}"),
                position: None,
            },
        };
        let mut e = ServiceError::bad_request(format!(
            "Request is invalid and cannot be processed: {}",
            inner.detail
        ));
        e.text = Some(query.to_string());
        e.database = Some(database.to_string());
        e.inner = Some(inner);
        e
    }

    /// An unparsable management command (`BadRequest_SyntaxError`, not wrapped).
    pub(crate) fn command_syntax(command: &str, reason: &str) -> Self {
        ServiceError::new(
            400,
            "BadRequest_SyntaxError",
            "Kusto.Data.Exceptions.SyntaxException",
            format!("Syntax error: Query could not be parsed: {reason}. Query: '{command}'"),
            true,
        )
    }

    /// 413 for a request body over the limit.
    pub(crate) fn payload_too_large(limit: usize) -> Self {
        ServiceError::new(
            413,
            "Payload too large",
            "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException",
            format!(
                "Request payload is too large: the request body exceeds the maximum allowed size of {limit} bytes"
            ),
            true,
        )
    }

    /// 429 with `Retry-After`.
    pub(crate) fn throttled(retry_after: u64) -> Self {
        let mut e = ServiceError::new(
            429,
            "TooManyRequests",
            "Kusto.Data.Exceptions.KustoRequestThrottledException",
            "The request was denied due to exceeding quota limitations. Retrying after some backoff might succeed.",
            false,
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// The JSON body.
    pub(crate) fn to_json(&self, corr: &Correlation) -> String {
        let context = context_json(corr);
        let mut obj = Obj::new()
            .str("code", &self.code)
            .str("message", &self.message);
        if self.gateway {
            return Obj::new()
                .raw("error", &obj.raw("@context", &context).finish())
                .finish();
        }
        if let Some(t) = &self.type_name {
            obj = obj.str("@type", t);
        }
        if let Some(d) = &self.detail {
            obj = obj.str("@message", d);
        }
        obj = obj
            .raw("@context", &context)
            .bool("@permanent", self.permanent);
        if let Some(f) = self.failure_code {
            obj = obj.num("@failureCode", i64::from(f));
        }
        if let Some(t) = &self.text {
            obj = obj.str("@text", t);
        }
        if let Some(d) = &self.database {
            obj = obj.str("@database", d);
        }
        if self.text.is_some() {
            obj = obj.str("@ClientRequestLogger", "");
        }
        if let Some(inner) = &self.inner {
            let mut i = Obj::new()
                .str("code", &inner.code)
                .str("message", &inner.message)
                .str("@type", &inner.type_name)
                .str("@message", &inner.detail)
                .raw("@context", &context)
                .bool("@permanent", true);
            if let Some((line, pos, token)) = &inner.position {
                i = i
                    .str("@line", &line.to_string())
                    .str("@pos", &pos.to_string());
                i = i
                    .str("@errorCode", &inner.code)
                    .str("@errorMessage", &inner.message);
                i = i.str("@token", token);
            } else {
                i = i
                    .str("@errorCode", &inner.code)
                    .str("@errorMessage", &inner.message);
            }
            obj = obj.raw("innererror", &i.finish());
        }
        Obj::new().raw("error", &obj.finish()).finish()
    }

    /// The plain-text body of a gateway error (`Bad request: ...`).
    pub(crate) fn to_text(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

fn generic_message(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        429 => "Too many requests",
        500 => "Internal service error",
        503 => "Service unavailable",
        504 => "Request execution timeout",
        _ => "Request failed",
    }
}

/// The `@context` object.
pub(crate) fn context_json(corr: &Correlation) -> String {
    let activity = corr.activity_id.to_string();
    Obj::new()
        .str("timestamp", &time::format_datetime(time::now_ticks()))
        .str("serviceAlias", "KUSTO-EMULATOR")
        .str("machineName", "KEmulator000000")
        .str("processName", "kusto-emulator")
        .num("processId", i64::from(std::process::id()))
        .num("threadId", 0)
        .str("clientRequestId", &corr.client_request_id)
        .str("activityId", &activity)
        .str("subActivityId", &activity)
        .str("activityType", corr.activity_type)
        .str("parentActivityId", &activity)
        .str(
            "activityStack",
            &format!(
                "(Activity stack: CRID={} ARID={activity} > {}/{activity})",
                corr.client_request_id, corr.activity_type
            ),
        )
        .finish()
}

/// The partial-failure error of a truncated result (`LimitsExceeded`, E_QUERY_RESULT_SET_TOO_LARGE).
pub(crate) fn truncation_error(limit_text: &str) -> ServiceError {
    ServiceError::new(
        400,
        "LimitsExceeded",
        "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
        format!(
            "Query execution has exceeded the allowed limits (80DA0003): The results of this query exceed the set limit of {limit_text}, so not all records were returned (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003)."
        ),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corr() -> Correlation {
        Correlation {
            client_request_id: "KRC.execute;1".into(),
            activity_id: Uuid::nil(),
            activity_type: "DN.FE.ExecuteQuery",
        }
    }

    #[test]
    fn query_syntax_error_shape() {
        let e = ServiceError::query(
            &KqlError::Syntax {
                offset: 9,
                token: "take".into(),
            },
            "PerfTest take 5",
            "PerfTest",
        );
        let json: serde_json::Value = serde_json::from_str(&e.to_json(&corr())).unwrap();
        let err = &json["error"];
        assert_eq!(err["code"], "General_BadRequest");
        assert_eq!(err["message"], "Request is invalid and cannot be executed.");
        assert_eq!(
            err["@type"],
            "Kusto.Data.Exceptions.KustoBadRequestException"
        );
        assert_eq!(
            err["@message"],
            "Request is invalid and cannot be processed: Syntax error: SYN0002: A recognition error occurred. [line:position=1:9]. Query: 'PerfTest take 5'"
        );
        assert_eq!(err["@permanent"], true);
        assert_eq!(err["innererror"]["code"], "SYN0002");
        assert_eq!(
            err["innererror"]["@type"],
            "Kusto.Data.Exceptions.SyntaxException"
        );
        assert_eq!(err["innererror"]["@line"], "1");
        assert_eq!(err["innererror"]["@pos"], "9");
        assert_eq!(err["innererror"]["@token"], "take");
        assert_eq!(err["@context"]["clientRequestId"], "KRC.execute;1");
        let text = e.to_json(&corr());
        assert!(
            text.starts_with("{\"error\":{\"code\":\"General_BadRequest\",\"message\":"),
            "{text}"
        );
    }

    #[test]
    fn gateway_error_shape() {
        let e = ServiceError::gateway(
            "Control commands (starting with a dot '.') do not support api_version=v2",
        );
        let json: serde_json::Value = serde_json::from_str(&e.to_json(&corr())).unwrap();
        let obj = json["error"].as_object().unwrap();
        assert_eq!(obj.len(), 3);
        assert_eq!(obj["code"], "Bad request");
        assert!(e.to_text().starts_with("Bad request: Control commands"));
    }
}
