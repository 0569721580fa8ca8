//! The tracing headers every request carries: `x-ms-app`, `x-ms-user`, `x-ms-client-version`.

/// Name of this client in `x-ms-client-version`.
pub(crate) const CLIENT_NAME: &str = "Kusto.Rust.Client";

/// Formats tracing fields in the service's "unified" format: `Key:{Value}` pairs joined by `|`,
/// where every run of whitespace, `{`, `}` or `|` inside a value becomes `_`.
///
/// ```
/// use kusto_data::client::format_tracing_fields;
/// assert_eq!(
///     format_tracing_fields(&[("Kusto.MyConnector", "1.0"), ("App.{my app}", "2 | beta")]),
///     "Kusto.MyConnector:{1.0}|App.{my app}:{2_beta}"
/// );
/// ```
pub fn format_tracing_fields(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(key, value)| format!("{key}:{{{}}}", escape_tracing_value(value)))
        .collect::<Vec<_>>()
        .join("|")
}

fn escape_tracing_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_run = false;
    for c in value.chars() {
        if c.is_whitespace() || matches!(c, '{' | '}' | '|') {
            if !in_run {
                out.push('_');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// The `x-ms-client-version` value of this SDK.
pub(crate) fn client_version() -> String {
    let runtime = format!("{}_{}", std::env::consts::OS, std::env::consts::ARCH);
    format_tracing_fields(&[
        (CLIENT_NAME, env!("CARGO_PKG_VERSION")),
        ("Runtime.Rust", &runtime),
    ])
}

/// The default application name: the running executable's file name, else `[none]`.
pub(crate) fn default_application() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "[none]".to_owned())
}

/// The default user name: `USER` / `USERNAME` (with `USERDOMAIN\` on Windows), else `[none]`.
pub(crate) fn default_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|s| !s.is_empty());
    match (user, std::env::var("USERDOMAIN").ok()) {
        (Some(user), Some(domain)) if !domain.is_empty() => format!("{domain}\\{user}"),
        (Some(user), _) => user,
        (None, _) => "[none]".to_owned(),
    }
}

/// Makes a value safe for an HTTP header as the other SDKs do: every character outside
/// printable ASCII becomes `?`.
pub(crate) fn header_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_like_the_other_sdks() {
        assert_eq!(escape_tracing_value("a  b\t\n{c}|d"), "a_b_c_d");
        assert_eq!(
            format_tracing_fields(&[("Kusto.X", "1"), ("App.{y}", "[none]")]),
            "Kusto.X:{1}|App.{y}:{[none]}"
        );
        let version = client_version();
        assert!(
            version.starts_with(&format!(
                "Kusto.Rust.Client:{{{}}}|Runtime.Rust:{{",
                env!("CARGO_PKG_VERSION")
            )),
            "{version}"
        );
    }

    #[test]
    fn non_ascii_header_characters_become_question_marks() {
        assert_eq!(header_safe("Jürgen\u{1F600}\r\nx"), "J?rgen???x");
    }
}
