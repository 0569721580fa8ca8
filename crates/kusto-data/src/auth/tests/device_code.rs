//! The device-code flow against the loopback login server. Time is paused: the polling
//! intervals (including `slow_down`'s extra 5 seconds) pass instantly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::server::{Recorded, Server, oauth_error};
use super::{assert_no_canary, authenticator, bearer, target};
use crate::auth::{AuthError, DeviceCodeInfo};
use crate::{ConnectionString, Error};

fn device_code_answer(expires_in: i64) -> (u16, Value) {
    (
        200,
        json!({
            "device_code": "CANARY-DEVICE-CODE",
            "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": expires_in,
            "interval": 1,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."
        }),
    )
}

fn success(token: &str, refresh: &str) -> (u16, Value) {
    (
        200,
        json!({
            "token_type": "Bearer",
            "scope": "https://kusto.kusto.windows.net/.default",
            "expires_in": 3600,
            "access_token": token,
            "refresh_token": refresh,
        }),
    )
}

fn device_code_cs(shown: Arc<Mutex<Vec<DeviceCodeInfo>>>) -> ConnectionString {
    ConnectionString::builder(super::TARGET)
        .with_device_code("organizations", move |info| {
            shown.lock().unwrap().push(info.clone())
        })
        .build()
        .unwrap()
}

fn grant(request: &Recorded) -> &str {
    request
        .form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or("")
}

#[tokio::test(start_paused = true)]
async fn device_code_polls_until_signed_in_then_refreshes_silently() {
    let token_calls = Arc::new(Mutex::new(0usize));
    let t = token_calls.clone();
    let server = Server::start(move |request, _| {
        if request.path.ends_with("/devicecode") {
            return device_code_answer(900);
        }
        let mut n = t.lock().unwrap();
        *n += 1;
        match (*n, grant(request)) {
            (1, _) => oauth_error(400, "authorization_pending", "AADSTS70016: pending"),
            (2, _) => oauth_error(400, "slow_down", "slow down"),
            (3, _) => oauth_error(400, "authorization_pending", "AADSTS70016: pending"),
            (4, _) => success("device-token-1", "CANARY-REFRESH-1"),
            (_, "refresh_token") => success("device-token-2", "CANARY-REFRESH-2"),
            _ => oauth_error(400, "invalid_request", "unexpected"),
        }
    })
    .await;
    let shown = Arc::new(Mutex::new(Vec::new()));
    let cs = device_code_cs(shown.clone());
    let auth = authenticator(&cs, &server);
    let started = tokio::time::Instant::now();
    let header = auth.authorization_header(&target()).await.unwrap().unwrap();
    assert_eq!(header.expose(), "Bearer device-token-1");
    // Intervals: 1 s, 1 s, then 6 s after slow_down, then 6 s.
    assert!(
        started.elapsed() >= Duration::from_secs(14),
        "{:?}",
        started.elapsed()
    );

    let shown = shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].user_code, "ABCD-EFGH");
    assert_eq!(
        shown[0].verification_uri,
        "https://microsoft.com/devicelogin"
    );
    assert!(shown[0].message.contains("ABCD-EFGH"));

    let requests = server.requests();
    assert_eq!(requests[0].path, "/organizations/oauth2/v2.0/devicecode");
    assert_eq!(
        requests[0].form["client_id"],
        "db662dc1-0cfe-4e1c-a843-19a68e65be58"
    );
    assert_eq!(
        requests[0].form["scope"],
        "https://kusto.kusto.windows.net/.default offline_access"
    );
    for poll in &requests[1..] {
        assert_eq!(poll.path, "/organizations/oauth2/v2.0/token");
        assert_eq!(grant(poll), "urn:ietf:params:oauth:grant-type:device_code");
        assert_eq!(poll.form["device_code"], "CANARY-DEVICE-CODE");
        assert_eq!(
            poll.form["client_id"],
            "db662dc1-0cfe-4e1c-a843-19a68e65be58"
        );
    }
    assert_eq!(requests.len(), 5);

    // Cached; then refreshed with the refresh token, without showing a new code.
    auth.authorization_header(&target()).await.unwrap();
    assert_eq!(server.requests().len(), 5);
    tokio::time::advance(Duration::from_secs(3600 - 60)).await;
    let header = auth.authorization_header(&target()).await.unwrap().unwrap();
    assert_eq!(header.expose(), "Bearer device-token-2");
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    assert_eq!(grant(&requests[5]), "refresh_token");
    assert_eq!(requests[5].form["refresh_token"], "CANARY-REFRESH-1");
    assert_eq!(server.count("/devicecode"), 1);
    assert_no_canary(&format!("{auth:?} {cs:?} {cs}"));
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_token_starts_the_flow_again() {
    let server = Server::start(move |request, index| {
        if request.path.ends_with("/devicecode") {
            return device_code_answer(900);
        }
        match (index, grant(request)) {
            (_, "refresh_token") => oauth_error(400, "invalid_grant", "AADSTS70008: expired"),
            (0, _) => success("first", "CANARY-R1"),
            _ => success("second", "CANARY-R2"),
        }
    })
    .await;
    let shown = Arc::new(Mutex::new(Vec::new()));
    let auth = authenticator(&device_code_cs(shown.clone()), &server);
    assert_eq!(bearer(&auth).await, "Bearer first");
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(bearer(&auth).await, "Bearer second");
    assert_eq!(server.count("/devicecode"), 2);
    assert_eq!(shown.lock().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn expired_declined_and_unknown_errors_end_the_flow() {
    for (answer, check) in [
        (
            oauth_error(400, "expired_token", "AADSTS70019: expired"),
            (|e: &AuthError| matches!(e, AuthError::DeviceCodeExpired)) as fn(&AuthError) -> bool,
        ),
        (
            oauth_error(400, "authorization_declined", "AADSTS70000: declined"),
            |e| matches!(e, AuthError::DeviceCodeDeclined { error } if error == "authorization_declined"),
        ),
        (
            oauth_error(400, "access_denied", "denied"),
            |e| matches!(e, AuthError::DeviceCodeDeclined { error } if error == "access_denied"),
        ),
        (
            oauth_error(400, "bad_verification_code", "AADSTS70000: bad code"),
            |e| matches!(e, AuthError::TokenRequestFailed { error, status: 400, .. } if error == "bad_verification_code"),
        ),
    ] {
        let server = Server::start(move |request, _| {
            if request.path.ends_with("/devicecode") {
                device_code_answer(900)
            } else {
                answer.clone()
            }
        })
        .await;
        let auth = authenticator(&device_code_cs(Arc::default()), &server);
        let error = auth.authorization_header(&target()).await.unwrap_err();
        match &error {
            Error::Auth(e) => assert!(check(e), "{e:?}"),
            other => panic!("{other:?}"),
        }
        assert!(error.is_permanent());
        assert_no_canary(&format!("{error} {error:?}"));
    }
}

#[tokio::test(start_paused = true)]
async fn the_flow_gives_up_when_the_code_expires() {
    let server = Server::start(|request, _| {
        if request.path.ends_with("/devicecode") {
            device_code_answer(5)
        } else {
            oauth_error(400, "authorization_pending", "pending")
        }
    })
    .await;
    let auth = authenticator(&device_code_cs(Arc::default()), &server);
    let error = auth.authorization_header(&target()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Auth(e) if matches!(**e, AuthError::DeviceCodeExpired)),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the device code expired before the sign-in was completed"
    );
    // Polled at 1, 2, 3, 4 seconds; at 5 the code has expired.
    assert_eq!(server.count("/token"), 4);
}

#[tokio::test]
async fn device_code_endpoint_errors_are_typed() {
    let server =
        Server::start(|_, _| oauth_error(400, "invalid_scope", "AADSTS70011: bad scope")).await;
    let auth = authenticator(&device_code_cs(Arc::default()), &server);
    let error = auth.authorization_header(&target()).await.unwrap_err();
    assert!(error.to_string().contains("invalid_scope"), "{error}");
    assert!(
        error
            .to_string()
            .contains("/organizations/oauth2/v2.0/devicecode"),
        "{error}"
    );

    let server = Server::start(|_, _| (200, json!({"user_code": "X"}))).await;
    let auth = authenticator(&device_code_cs(Arc::default()), &server);
    let error = auth.authorization_header(&target()).await.unwrap_err();
    assert!(
        matches!(error, Error::MalformedResponse { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("device_code"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_sign_in_and_one_refresh_of_an_expired_token() {
    let server = Server::start(move |request, index| {
        if request.path.ends_with("/devicecode") {
            return device_code_answer(900);
        }
        match (grant(request), index) {
            ("refresh_token", _) => success("device-token-2", "CANARY-REFRESH-2"),
            (_, 0) => oauth_error(400, "authorization_pending", "AADSTS70016: pending"),
            _ => success("device-token-1", "CANARY-REFRESH-1"),
        }
    })
    .await;
    let shown = Arc::new(Mutex::new(Vec::new()));
    let auth = authenticator(&device_code_cs(shown.clone()), &server);
    let (a, b) = (auth.clone(), auth.clone());
    let target = target();
    // Both callers find no token; one runs the flow while the other waits for its result.
    let (first, second) = tokio::join!(
        a.authorization_header(&target),
        b.authorization_header(&target)
    );
    for header in [first, second] {
        assert_eq!(header.unwrap().unwrap().expose(), "Bearer device-token-1");
    }
    assert_eq!(server.count("/devicecode"), 1);
    assert_eq!(server.count("/token"), 2, "{:?}", server.requests());
    assert_eq!(shown.lock().unwrap().len(), 1, "the code was shown once");

    // The token expires; both callers again share one request, a silent refresh.
    tokio::time::advance(Duration::from_secs(3600 + 1)).await;
    let (first, second) = tokio::join!(
        a.authorization_header(&target),
        b.authorization_header(&target)
    );
    for header in [first, second] {
        assert_eq!(header.unwrap().unwrap().expose(), "Bearer device-token-2");
    }
    let requests = server.requests();
    let refreshes: Vec<_> = requests
        .iter()
        .filter(|r| grant(r) == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 1, "{requests:?}");
    assert_eq!(refreshes[0].form["refresh_token"], "CANARY-REFRESH-1");
    assert_eq!(server.count("/devicecode"), 1);
    assert_eq!(shown.lock().unwrap().len(), 1);
}
