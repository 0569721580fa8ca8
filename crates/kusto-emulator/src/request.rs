//! Query and management request bodies (kusto-protocol.md 2.1 and 2.2): `db`, `csl` and
//! `properties` (a JSON object or a JSON string holding one), keys in any casing.

use serde_json::{Map, Value as Json};

use crate::mapping::get_ci;

/// A parsed query or command request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct KustoRequest {
    pub(crate) db: Option<String>,
    pub(crate) csl: String,
    /// Options keyed by lower-cased name.
    pub(crate) options: Map<String, Json>,
    /// Parameters keyed by name as sent.
    pub(crate) parameters: Map<String, Json>,
}

impl KustoRequest {
    /// Parses a JSON request body.
    pub(crate) fn from_body(body: &[u8]) -> Result<KustoRequest, String> {
        let json: Json = serde_json::from_slice(body)
            .map_err(|e| format!("the request body is not valid JSON: {e}"))?;
        let obj = json.as_object().ok_or_else(|| {
            "the request body must be a JSON object with 'db', 'csl' and 'properties'".to_string()
        })?;
        let db = match get_ci(obj, "db") {
            Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Json::String(_) | Json::Null) | None => None,
            Some(_) => return Err("'db' must be a string".into()),
        };
        let csl = match get_ci(obj, "csl") {
            Some(Json::String(s)) => s.clone(),
            Some(_) => return Err("'csl' must be a string".into()),
            None => return Err("the request body has no 'csl' (the query or command text)".into()),
        };
        let mut request = KustoRequest {
            db,
            csl,
            ..KustoRequest::default()
        };
        if let Some(props) = get_ci(obj, "properties") {
            request.set_properties(props)?;
        }
        Ok(request)
    }

    /// Parses the query string of a GET request (`db`, `csl`, `properties`).
    pub(crate) fn from_query(query: &str) -> Result<KustoRequest, String> {
        let mut request = KustoRequest::default();
        let mut csl = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.to_ascii_lowercase().as_str() {
                "db" => request.db = Some(v.into_owned()).filter(|s| !s.is_empty()),
                "csl" => csl = Some(v.into_owned()),
                "properties" => request.set_properties(&Json::String(v.into_owned()))?,
                _ => {}
            }
        }
        request.csl = csl.ok_or_else(|| "the query string has no 'csl' parameter".to_string())?;
        Ok(request)
    }

    fn set_properties(&mut self, props: &Json) -> Result<(), String> {
        let parsed;
        let obj = match props {
            Json::Object(o) => o,
            Json::String(s) if s.trim().is_empty() => return Ok(()),
            Json::String(s) => {
                parsed = serde_json::from_str::<Json>(s).map_err(|e| {
                    format!("'properties' is a string that does not hold a JSON object: {e}")
                })?;
                parsed
                    .as_object()
                    .ok_or_else(|| "'properties' must be a JSON object".to_string())?
            }
            Json::Null => return Ok(()),
            _ => return Err("'properties' must be a JSON object or a string holding one".into()),
        };
        if let Some(options) = get_ci(obj, "Options") {
            let options = options
                .as_object()
                .ok_or_else(|| "'properties.Options' must be a JSON object".to_string())?;
            for (k, v) in options {
                self.options.insert(k.to_ascii_lowercase(), v.clone());
            }
        }
        if let Some(params) = get_ci(obj, "Parameters") {
            let params = params
                .as_object()
                .ok_or_else(|| "'properties.Parameters' must be a JSON object".to_string())?;
            self.parameters = params.clone();
        }
        Ok(())
    }

    /// A boolean option (`true`, `"true"`, `"True"`, `1`).
    pub(crate) fn option_bool(&self, name: &str) -> Option<bool> {
        match self.options.get(name)? {
            Json::Bool(b) => Some(*b),
            Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Json::Number(n) => n.as_i64().map(|i| i != 0),
            _ => None,
        }
    }

    /// A non-negative integer option (number or string).
    pub(crate) fn option_u64(&self, name: &str) -> Option<u64> {
        match self.options.get(name)? {
            Json::Number(n) => n.as_u64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A string option.
    pub(crate) fn option_str(&self, name: &str) -> Option<String> {
        match self.options.get(name)? {
            Json::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_as_object_or_string_any_casing() {
        let a = KustoRequest::from_body(
            br#"{"DB":"Emu","CSL":"T","Properties":{"options":{"NoTruncation":true},"parameters":{"n":"1"}}}"#,
        )
        .unwrap();
        let b = KustoRequest::from_body(
            br#"{"db":"Emu","csl":"T","properties":"{\"Options\":{\"notruncation\":\"True\"},\"Parameters\":{\"n\":\"1\"}}"}"#,
        )
        .unwrap();
        assert_eq!(a.db.as_deref(), Some("Emu"));
        assert_eq!(a.option_bool("notruncation"), Some(true));
        assert_eq!(b.option_bool("notruncation"), Some(true));
        assert_eq!(a.parameters, b.parameters);
        assert!(KustoRequest::from_body(b"{not json").is_err());
        assert!(KustoRequest::from_body(br#"{"db":"x"}"#).is_err());
        assert!(KustoRequest::from_body(br#"{"csl":"T","properties":"[1]"}"#).is_err());
        let g = KustoRequest::from_query("db=Emu&csl=T%20%7C%20count").unwrap();
        assert_eq!(g.csl, "T | count");
    }
}
