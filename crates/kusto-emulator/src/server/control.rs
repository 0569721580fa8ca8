//! The `/_emulator` control endpoints: faults, storage faults, and state for tests.

use http::Method;
use hyper::body::Incoming;

use super::State;
use super::listener::{Reply, RequestInfo, read_body};
use crate::faults::{FaultRule, Faults};

pub(super) async fn control(state: &State, incoming: &RequestInfo, body: Incoming) -> Reply {
    let mut path = incoming.path.trim_end_matches('/').to_owned();
    let not_found = || {
        Reply::json(
            404,
            "{\"error\":\"unknown emulator control endpoint\"}".into(),
        )
    };
    // `/_emulator/storage/{account}/faults[/{id}]`: the rules of an account's storage proxy,
    // with the same verbs and bodies as the emulator's own `/_emulator/faults`.
    let mut faults: &Faults = &state.faults;
    if let Some(rest) = path.strip_prefix("/_emulator/storage/") {
        let (account, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(account_faults) = state.dm.as_ref().and_then(|dm| dm.storage_faults(account))
        else {
            return Reply::json(
                404,
                serde_json::json!({"error": format!("no storage proxy for account '{account}' (is the emulator started with Azurite and the proxy on?)")}).to_string(),
            );
        };
        faults = account_faults;
        path = format!("/_emulator/{tail}");
    }
    let path = path.as_str();
    match (&incoming.method, path) {
        (&Method::GET, "/_emulator/health") => Reply::json(200, "{\"status\":\"ok\"}".into()),
        (&Method::GET, "/_emulator/faults") => Reply::json(
            200,
            serde_json::to_string(&faults.list()).unwrap_or_else(|_| "[]".into()),
        ),
        (&Method::DELETE, "/_emulator/faults") => {
            let removed = faults.list().len();
            faults.clear();
            Reply::json(200, format!("{{\"removed\":{removed}}}"))
        }
        (&Method::POST, "/_emulator/faults") => {
            let bytes = match read_body(body, 1 << 20).await {
                Ok(b) => b,
                Err(_) => {
                    return Reply::json(400, "{\"error\":\"the body could not be read\"}".into());
                }
            };
            let rules: Vec<FaultRule> = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Array(items)) => {
                    match items
                        .into_iter()
                        .map(serde_json::from_value)
                        .collect::<Result<Vec<_>, _>>()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            return Reply::json(
                                400,
                                serde_json::json!({"error": e.to_string()}).to_string(),
                            );
                        }
                    }
                }
                Ok(one) => match serde_json::from_value(one) {
                    Ok(r) => vec![r],
                    Err(e) => {
                        return Reply::json(
                            400,
                            serde_json::json!({"error": e.to_string()}).to_string(),
                        );
                    }
                },
                Err(e) => {
                    return Reply::json(
                        400,
                        serde_json::json!({"error": format!("invalid JSON: {e}")}).to_string(),
                    );
                }
            };
            let mut ids = Vec::new();
            for rule in rules {
                match faults.add(rule) {
                    Ok(id) => ids.push(id),
                    Err(e) => return Reply::json(400, serde_json::json!({"error": e}).to_string()),
                }
            }
            Reply::json(200, serde_json::json!({"ids": ids}).to_string())
        }
        (&Method::DELETE, p) => match p
            .strip_prefix("/_emulator/faults/")
            .and_then(|id| id.parse::<u64>().ok())
        {
            Some(id) if faults.remove(id) => Reply::json(200, format!("{{\"removed\":{id}}}")),
            _ => not_found(),
        },
        _ => not_found(),
    }
}
