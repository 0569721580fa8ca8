//! Shared access signatures for Azure Storage, signed with the account key.
//!
//! The emulator hands out SAS URLs only, never account keys, exactly as a real cluster's
//! data-management service does. Three kinds are produced: service SAS for one blob container
//! (`sr=c`), for one queue and for one table (with `tn=`), plus an account SAS that the emulator
//! itself uses to create resources.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The storage service version the signatures are made for. Azurite 3.35 validates it.
pub const SAS_VERSION: &str = "2021-08-06";

/// The key of an Azurite account, masked in `Debug`.
#[derive(Clone)]
pub struct AccountKey(Vec<u8>);

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

impl AccountKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        AccountKey(bytes)
    }

    /// Reads a base64 account key.
    pub fn from_base64(key: &str) -> Option<Self> {
        STANDARD.decode(key.trim()).ok().map(AccountKey)
    }

    /// The key as base64 (as in `AZURITE_ACCOUNTS`).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    fn sign(&self, string_to_sign: &str) -> String {
        // HMAC takes keys of any length, so `new_from_slice` cannot fail; if it ever did, an
        // empty signature would be refused by the service rather than panicking here.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(string_to_sign.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// What a SAS may do, as the letters of `sp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions(pub &'static str);

fn format_time(at: OffsetDateTime) -> String {
    // Whole seconds, `Z`: the form every storage client writes.
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    serializer.finish()
}

/// A service SAS for one blob container (`sr=c`).
pub fn container_sas(
    account: &str,
    key: &AccountKey,
    container: &str,
    permissions: Permissions,
    expiry: OffsetDateTime,
) -> String {
    let expiry = format_time(expiry);
    let resource = format!("/blob/{account}/{container}");
    // Version 2020-12-06 and later: ... signedResource, snapshot time, encryption scope, then
    // the five response-header overrides.
    let string_to_sign = [
        permissions.0,
        "",
        &expiry,
        &resource,
        "",
        "",
        "",
        SAS_VERSION,
        "c",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let signature = key.sign(&string_to_sign);
    query(&[
        ("sv", SAS_VERSION),
        ("se", &expiry),
        ("sr", "c"),
        ("sp", permissions.0),
        ("sig", &signature),
    ])
}

/// A service SAS for one queue.
pub fn queue_sas(
    account: &str,
    key: &AccountKey,
    queue: &str,
    permissions: Permissions,
    expiry: OffsetDateTime,
) -> String {
    let expiry = format_time(expiry);
    let resource = format!("/queue/{account}/{queue}");
    let string_to_sign = [
        permissions.0,
        "",
        &expiry,
        &resource,
        "",
        "",
        "",
        SAS_VERSION,
    ]
    .join("\n");
    let signature = key.sign(&string_to_sign);
    query(&[
        ("sv", SAS_VERSION),
        ("se", &expiry),
        ("sp", permissions.0),
        ("sig", &signature),
    ])
}

/// A service SAS for one table (`tn=` names the table, as in the SAS a cluster hands out).
pub fn table_sas(
    account: &str,
    key: &AccountKey,
    table: &str,
    permissions: Permissions,
    expiry: OffsetDateTime,
) -> String {
    let expiry = format_time(expiry);
    let resource = format!("/table/{account}/{}", table.to_ascii_lowercase());
    let string_to_sign = [
        permissions.0,
        "",
        &expiry,
        &resource,
        "",
        "",
        "",
        SAS_VERSION,
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let signature = key.sign(&string_to_sign);
    query(&[
        ("sv", SAS_VERSION),
        ("tn", table),
        ("se", &expiry),
        ("sp", permissions.0),
        ("sig", &signature),
    ])
}

/// An account SAS for all three services and every resource type, used by the emulator to
/// create containers, queues and tables. Never handed to clients.
pub fn account_sas(account: &str, key: &AccountKey, expiry: OffsetDateTime) -> String {
    let expiry = format_time(expiry);
    let (permissions, services, types) = ("rwdlacup", "bqt", "sco");
    let string_to_sign = [
        account,
        permissions,
        services,
        types,
        "",
        &expiry,
        "",
        "",
        SAS_VERSION,
        "",
        "",
    ]
    .join("\n");
    let signature = key.sign(&string_to_sign);
    query(&[
        ("sv", SAS_VERSION),
        ("ss", services),
        ("srt", types),
        ("se", &expiry),
        ("sp", permissions),
        ("sig", &signature),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_deterministic_and_keys_masked() {
        let key = AccountKey::from_base64("a2V5MWtleTFrZXkxa2V5MQ==").unwrap();
        assert_eq!(format!("{key:?}"), "****");
        let expiry = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let a = container_sas("acct1", &key, "c1", Permissions("racwdl"), expiry);
        let b = container_sas("acct1", &key, "c1", Permissions("racwdl"), expiry);
        assert_eq!(a, b);
        assert!(a.starts_with("sv=2021-08-06&se=2030-03-17T17%3A46%3A40Z&sr=c&sp=racwdl&sig="));
        assert_ne!(
            a,
            container_sas("acct1", &key, "c2", Permissions("racwdl"), expiry)
        );
        assert!(
            table_sas("acct1", &key, "Status", Permissions("raud"), expiry).contains("tn=Status")
        );
    }
}
