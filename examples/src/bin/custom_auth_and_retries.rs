//! Custom authentication and retries.
//!
//! * A `TokenProvider` of your own (a secret store, a token broker, ...) plugged in with
//!   `Authentication::TokenProvider`; the SDK asks it for a token for the cluster's scope and
//!   caches tokens that carry an expiry (this one carries none, so it is asked before every
//!   request and its count shows how many requests were sent).
//! * A `RetryPolicy` on the client (attempts, backoff, overall deadline; `Retry-After` from the
//!   service honoured), and another for one request through `ClientRequestProperties`.
//! * Which errors are retried: transient ones (503, 429, network) are, permanent ones (a bad
//!   query, a refused token) never are; `Error::is_transient` / `is_permanent` tell which.
//!
//! Against the local emulator (the default) the emulator requires the bearer token
//! `example-token`, and its fault injection makes queries fail on purpose. Against a cluster,
//! set `KUSTO_CLUSTER_URL` (a URL), `KUSTO_DATABASE` and `KUSTO_ACCESS_TOKEN` (a token for it,
//! e.g. `az account get-access-token --resource https://CLUSTER.kusto.windows.net --query
//! accessToken -o tsv`); no faults are injected there, so every query succeeds first time.

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use kusto_data::auth::{AccessToken, Authentication, TokenProvider, TokenRequest};
use kusto_data::{ClientRequestProperties, KustoClient, RetryPolicy};
use kusto_emulator::{FaultAction, FaultRule};
use kusto_examples::Target;

const LOCAL_TOKEN: &str = "example-token";

/// A token provider of our own. A real one would ask a secret store or a token broker.
#[derive(Debug)]
struct MyTokenProvider {
    token: String,
    calls: AtomicU32,
}

impl TokenProvider for MyTokenProvider {
    fn token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> BoxFuture<'a, kusto_data::Result<AccessToken>> {
        Box::pin(async move {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                println!("token provider asked for scopes {:?}", request.scopes());
            }
            // No expiry: not cached, asked again for every request.
            Ok(AccessToken::new(self.token.clone(), None))
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custom_auth_and_retries: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let target = Target::start_requiring_token("Examples", LOCAL_TOKEN).await?;
    let token = match target.is_local() {
        true => LOCAL_TOKEN.to_owned(),
        false => std::env::var("KUSTO_ACCESS_TOKEN").map_err(|_| "set KUSTO_ACCESS_TOKEN")?,
    };
    let database = target.database.clone();

    // Without a token the cluster refuses the request: permanent, not retried.
    if target.is_local() {
        let anonymous = KustoClient::new(
            target
                .connection_string
                .clone()
                .with_authentication(Authentication::None),
        )?;
        let error = anonymous
            .query(&database, "print Answer = 42")
            .await
            .err()
            .ok_or("expected a 401")?;
        println!(
            "without a token: transient={} permanent={}: {error}",
            error.is_transient(),
            error.is_permanent()
        );
    }

    let provider = Arc::new(MyTokenProvider {
        token,
        calls: AtomicU32::new(0),
    });
    let connection_string = target
        .connection_string
        .clone()
        .with_authentication(Authentication::TokenProvider(provider.clone()));
    let policy = RetryPolicy::default()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(2))
        .with_deadline(Some(Duration::from_secs(30)));
    let client = KustoClient::builder(connection_string)
        .retry_policy(policy)
        .build()?;
    let requests = || provider.calls.load(Ordering::SeqCst);

    // 1. Two 503s, then success: retried with backoff.
    inject(
        &target,
        FaultAction::Status {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "try again".into(),
            permanent: false,
        },
        2,
    )?;
    let before = requests();
    let data = client.query(&database, "print Answer = 42").await?;
    let answer = data
        .primary_result()
        .and_then(|t| t.row(0))
        .ok_or("no row")?
        .get_i64("Answer")?;
    println!(
        "after two 503s: Answer = {answer:?} in {} requests",
        requests() - before
    );

    // 2. Throttled: the service's Retry-After (1 s here) is waited for.
    inject(
        &target,
        FaultAction::Throttle {
            retry_after_seconds: 1,
        },
        1,
    )?;
    let (before, started) = (requests(), Instant::now());
    client.query(&database, "print Answer = 42").await?;
    println!(
        "after a 429: succeeded in {} requests, waited at least 1 s: {}",
        requests() - before,
        started.elapsed() >= Duration::from_secs(1)
    );

    // 3. One request that must not wait: no retries for it alone.
    inject(
        &target,
        FaultAction::Status {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "try again".into(),
            permanent: false,
        },
        1,
    )?;
    let mut properties = ClientRequestProperties::new();
    properties.set_retry_policy(RetryPolicy::none());
    let before = requests();
    match client
        .query(&database, "print Answer = 42")
        .properties(&properties)
        .await
    {
        Ok(_) => println!(
            "RetryPolicy::none(): succeeded in {} request",
            requests() - before
        ),
        Err(e) => println!(
            "RetryPolicy::none(): failed after {} request, transient={}: {e}",
            requests() - before,
            e.is_transient()
        ),
    }

    // 4. A bad query is permanent: never retried, whatever the policy.
    let before = requests();
    let error = client
        .query(&database, "print Answer = ")
        .await
        .err()
        .ok_or("expected a syntax error")?;
    println!(
        "a bad query: {} request, transient={} permanent={}",
        requests() - before,
        error.is_transient(),
        error.is_permanent()
    );
    if let Some(service) = error.as_service_error() {
        println!("  service error: {service}");
    }
    target.stop().await;
    Ok(())
}

/// Makes the next `times` queries fail with `action` (local emulator only).
fn inject(target: &Target, action: FaultAction, times: u64) -> Result<(), Box<dyn Error>> {
    if let Some(emulator) = target.emulator() {
        emulator
            .faults()
            .add(FaultRule::new("/v2/rest/query", action).times(times))?;
    }
    Ok(())
}
