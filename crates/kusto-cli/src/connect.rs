//! `--cluster` and `--auth`: the connection string.

use kusto_data::ConnectionString;
use kusto_data::auth::{Authentication, DeviceCodeCallback, InteractiveLogin, ManagedIdentity};
use kusto_data::connection_string::DEFAULT_AUTHORITY;

use crate::cli::{AuthMethod, ClusterArgs};
use crate::error::CliError;

/// The connection string of `--cluster`, with the method of `--auth` when given.
pub(crate) fn connection_string(args: &ClusterArgs) -> Result<ConnectionString, CliError> {
    let text = args.cluster.trim();
    let parsed = if text.contains(';') || text.contains('=') {
        ConnectionString::parse(text)
            .map_err(|e| CliError::Usage(format!("--cluster: invalid connection string: {e}")))?
    } else {
        ConnectionString::builder(text)
            .build()
            .map_err(|e| CliError::Usage(format!("--cluster: {e}")))?
    };
    let Some(method) = args.auth else {
        return Ok(parsed);
    };
    let authentication = match method {
        AuthMethod::None => Authentication::None,
        AuthMethod::AzCli => Authentication::AzureCli {
            tenant: args.authority.clone(),
        },
        AuthMethod::ManagedIdentity => Authentication::ManagedIdentity(match &args.client_id {
            Some(id) => ManagedIdentity::ClientId(id.clone()),
            None => ManagedIdentity::SystemAssigned,
        }),
        AuthMethod::DeviceCode => Authentication::InteractiveLogin(
            InteractiveLogin::device_code(DeviceCodeCallback::new(|info| {
                eprintln!("kusto: {}", info.message)
            }))
            .with_tenant(
                args.authority
                    .clone()
                    .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned()),
            )
            .with_sign_in_cache(crate::token_cache::sign_in_cache(args.token_cache)),
        ),
        AuthMethod::Browser => {
            let mut login = InteractiveLogin::browser()
                .with_sign_in_cache(crate::token_cache::sign_in_cache(args.token_cache));
            if let Some(tenant) = args.authority.as_deref().or(parsed.authority_id()) {
                login = login.with_tenant(tenant);
            }
            if let Some(hint) = args.login_hint.as_deref().or(parsed.login_hint()) {
                login = login.with_login_hint(hint);
            }
            if let Some(command) = &args.browser_command {
                let mut words = command.split_whitespace();
                let program = words
                    .next()
                    .ok_or_else(|| CliError::Usage("--browser-command is empty".to_owned()))?;
                login = login.open_with_command(program, words);
            }
            Authentication::InteractiveLogin(login)
        }
        AuthMethod::AppKey => {
            let client_id = args
                .client_id
                .clone()
                .ok_or_else(|| CliError::Usage("--auth app-key needs --client-id".to_owned()))?;
            let authority = args.authority.clone().ok_or_else(|| {
                CliError::Usage("--auth app-key needs --authority (the tenant id)".to_owned())
            })?;
            let key = std::env::var(&args.secret_env)
                .ok()
                .filter(|k| !k.is_empty());
            let key = key.ok_or_else(|| {
                CliError::Usage(format!(
                    "--auth app-key reads the client secret from the environment variable {}, which is not set",
                    args.secret_env
                ))
            })?;
            Authentication::ApplicationKey {
                client_id,
                key: key.into(),
                authority,
            }
        }
    };
    Ok(parsed.with_authentication(authentication))
}
