use super::*;

const PUBLIC: &str = "https://login.microsoftonline.com";

/// The Python SDK's table of trusted endpoints, restated by hand: (login endpoint, suffixes,
/// exact hostnames).
fn table() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (
            PUBLIC,
            vec![
                ".dxp.aad.azure.com",
                ".dxp-dev.aad.azure.com",
                ".kusto.azuresynapse.net",
                ".kusto.windows.net",
                ".kustodev.azuresynapse-dogfood.net",
                ".kustodev.windows.net",
                ".kustomfa.windows.net",
                ".playfabapi.com",
                ".playfab.com",
                ".azureplayfab.com",
                ".kusto.data.microsoft.com",
                ".kusto.fabric.microsoft.com",
                ".api.securityplatform.microsoft.com",
                ".securitycenter.windows.com",
                ".arg-int.core.windows.net",
                ".arg-df.core.windows.net",
                ".arg.core.windows.net",
            ],
            vec![
                "ade.applicationinsights.io",
                "ade.loganalytics.io",
                "adx.aimon.applicationinsights.azure.com",
                "adx.applicationinsights.azure.com",
                "adx.int.applicationinsights.azure.com",
                "adx.int.loganalytics.azure.com",
                "adx.int.monitor.azure.com",
                "adx.loganalytics.azure.com",
                "adx.monitor.azure.com",
                "kusto.aria.microsoft.com",
                "eu.kusto.aria.microsoft.com",
                "api.securityplatform.microsoft.com",
            ],
        ),
        (
            "https://login.microsoftonline.us",
            vec![
                ".kusto.usgovcloudapi.net",
                ".kustomfa.usgovcloudapi.net",
                ".arg.core.usgovcloudapi.net",
            ],
            vec![
                "adx.applicationinsights.azure.us",
                "adx.loganalytics.azure.us",
                "adx.monitor.azure.us",
            ],
        ),
        (
            "https://login.partner.microsoftonline.cn",
            vec![
                ".kusto.azuresynapse.azure.cn",
                ".kusto.chinacloudapi.cn",
                ".kustomfa.chinacloudapi.cn",
                ".playfab.cn",
                ".arg.core.chinacloudapi.cn",
            ],
            vec![
                "adx.applicationinsights.azure.cn",
                "adx.loganalytics.azure.cn",
                "adx.monitor.azure.cn",
            ],
        ),
        (
            "https://login.microsoftonline.eaglex.ic.gov",
            vec![
                ".kusto.core.eaglex.ic.gov",
                ".kustomfa.core.eaglex.ic.gov",
                ".arg.core.eaglex.ic.gov",
            ],
            vec![
                "adx.applicationinsights.azure.eaglex.ic.gov",
                "adx.loganalytics.azure.eaglex.ic.gov",
                "adx.monitor.azure.eaglex.ic.gov",
            ],
        ),
        (
            "https://login.microsoftonline.microsoft.scloud",
            vec![
                ".kusto.core.microsoft.scloud",
                ".kustomfa.core.microsoft.scloud",
                ".arg.core.microsoft.scloud",
            ],
            vec![
                "adx.applicationinsights.azure.microsoft.scloud",
                "adx.loganalytics.azure.microsoft.scloud",
                "adx.monitor.azure.microsoft.scloud",
            ],
        ),
        (
            "https://login.sovcloud-identity.fr",
            vec![".kusto.sovcloud-api.fr", ".kustomfa.sovcloud-api.fr"],
            vec![
                "adx.applicationinsights.azure.fr",
                "adx.loganalytics.azure.fr",
                "adx.monitor.azure.fr",
            ],
        ),
        (
            "https://login.sovcloud-identity.de",
            vec![".kusto.sovcloud-api.de", ".kustomfa.sovcloud-api.de"],
            vec![
                "adx.applicationinsights.azure.de",
                "adx.loganalytics.azure.de",
                "adx.monitor.azure.de",
            ],
        ),
        (
            "https://login.sovcloud-identity.sg",
            vec![".kusto.sovcloud-api.sg", ".kustomfa.sovcloud-api.sg"],
            vec![
                "adx.applicationinsights.azure.sg",
                "adx.loganalytics.azure.sg",
                "adx.monitor.azure.sg",
            ],
        ),
    ]
}

#[test]
fn embedded_list_is_the_reference_table() {
    let mut logins = well_known_login_endpoints().unwrap();
    logins.sort();
    let mut expected: Vec<String> = table().iter().map(|(l, _, _)| l.to_string()).collect();
    expected.sort();
    assert_eq!(logins, expected);
    let clouds = well_known().unwrap();
    for (login, suffixes, hosts) in table() {
        let cloud = clouds.iter().find(|c| c.login == login).unwrap();
        assert_eq!(cloud.suffixes, suffixes, "{login}");
        assert_eq!(cloud.hostnames, hosts, "{login}");
    }
}

#[test]
fn each_cloud_trusts_its_hosts_and_only_with_its_login_endpoint() {
    let policy = TrustedEndpoints::new();
    let table = table();
    for (login, suffixes, hosts) in &table {
        let mut candidates: Vec<String> =
            suffixes.iter().map(|s| format!("mycluster{s}")).collect();
        candidates.extend(suffixes.iter().map(|s| format!("A.B{}", s.to_uppercase())));
        candidates.extend(hosts.iter().map(|h| h.to_string()));
        candidates.extend(hosts.iter().map(|h| format!("{}.", h.to_uppercase())));
        for host in &candidates {
            assert_eq!(
                policy.precheck(host).unwrap(),
                TrustDecision::NeedsLoginEndpoint,
                "{host}"
            );
            policy
                .check_login_endpoint(host, login)
                .unwrap_or_else(|e| panic!("{host} with {login}: {e}"));
            policy
                .validate(host, &format!("{}/", login.to_uppercase()))
                .unwrap();
            // The other clouds' login endpoints do not vouch for it (unless their lists match
            // too, which none of the table's do).
            for (other, _, _) in table.iter().filter(|(l, _, _)| l != login) {
                let error = policy.check_login_endpoint(host, other).unwrap_err();
                match error {
                    Error::UntrustedEndpoint {
                        host: h,
                        login_endpoint,
                    } => {
                        assert_eq!(h, normalize_host(host));
                        assert_eq!(login_endpoint.as_deref(), Some(*other));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        // Exact hostnames do not match as suffixes.
        for host in hosts {
            let sub = format!("x.{host}");
            let covered = suffixes.iter().any(|s| sub.ends_with(s));
            if !covered {
                assert_eq!(
                    policy.precheck(&sub).unwrap(),
                    TrustDecision::Untrusted,
                    "{sub}"
                );
            }
        }
    }
}

#[test]
fn unknown_hosts_are_refused_without_cloud_info() {
    let policy = TrustedEndpoints::new();
    for host in [
        "evil.example.com",
        "kusto.windows.net.evil.com",
        "evilkusto.windows.net",
        "kusto.windows.net",
        "ade.applicationinsights.io.evil.com",
        "10.0.0.4",
        "192.168.1.10",
        "",
    ] {
        assert_eq!(
            policy.precheck(host).unwrap(),
            TrustDecision::Untrusted,
            "{host:?}"
        );
        let error = policy.validate(host, PUBLIC).unwrap_err();
        let message = error.to_string();
        assert!(matches!(
            error,
            Error::UntrustedEndpoint {
                login_endpoint: None,
                ..
            }
        ));
        assert!(message.contains(&format!("'{host}'")), "{message}");
        assert!(
            message.contains("TrustedEndpoints::allow_host"),
            "{message}"
        );
        assert!(
            message.contains("https://aka.ms/kustotrustedendpoints"),
            "{message}"
        );
    }
}

#[test]
fn loopback_is_always_trusted_even_under_a_refusing_override() {
    let refuse_all = TrustedEndpoints::new().with_override_policy(|_| false);
    for host in [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "127.0.0.1",
        "127.0.0.53",
        "127.255.255.254",
        "::1",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
    ] {
        assert!(is_loopback_host(host), "{host}");
        assert_eq!(
            TrustedEndpoints::new().precheck(host).unwrap(),
            TrustDecision::Trusted
        );
        assert_eq!(
            refuse_all.precheck(host).unwrap(),
            TrustDecision::Trusted,
            "{host}"
        );
        refuse_all.validate(host, "https://login.example").unwrap();
    }
    for host in [
        "128.0.0.1",
        "localhost.evil.com",
        "my-localhost",
        "10.0.0.1",
        "::2",
        "0.0.0.0",
    ] {
        assert!(!is_loopback_host(host), "{host}");
    }
}

#[test]
fn additional_hosts_and_suffixes_are_per_policy() {
    let policy = TrustedEndpoints::new()
        .allow_host("kusto.contoso.internal")
        .allow_suffix(".adx.fabrikam.net")
        .allow(MatchRule::host("EXACT.Example.Org"));
    for host in [
        "kusto.contoso.internal",
        "KUSTO.contoso.internal.",
        "a.adx.fabrikam.net",
        "b.c.adx.fabrikam.net",
        "exact.example.org",
    ] {
        assert_eq!(
            policy.precheck(host).unwrap(),
            TrustDecision::Trusted,
            "{host}"
        );
        // Trusted whatever the login endpoint.
        policy
            .validate(host, "https://login.somewhere.else")
            .unwrap();
    }
    for host in [
        "x.kusto.contoso.internal",
        "adx.fabrikam.net.evil",
        "sub.exact.example.org",
    ] {
        assert_eq!(
            policy.precheck(host).unwrap(),
            TrustDecision::Untrusted,
            "{host}"
        );
    }
    // The built-in list still applies.
    assert_eq!(
        policy.precheck("mycluster.kusto.windows.net").unwrap(),
        TrustDecision::NeedsLoginEndpoint
    );
    // Another policy value does not see these rules: nothing is global.
    assert_eq!(
        TrustedEndpoints::new()
            .precheck("kusto.contoso.internal")
            .unwrap(),
        TrustDecision::Untrusted
    );
    assert_eq!(policy.additional_rules().len(), 3);
    assert!(!MatchRule::suffix("").matches("anything"));
}

#[test]
fn an_override_policy_replaces_the_built_in_list() {
    let policy = TrustedEndpoints::new()
        .with_override_policy(|host| host.ends_with(".corp.example"))
        .allow_host("extra.example.net");
    assert_eq!(
        policy.precheck("adx.corp.example").unwrap(),
        TrustDecision::Trusted
    );
    assert_eq!(
        policy.precheck("ADX.CORP.EXAMPLE.").unwrap(),
        TrustDecision::Trusted
    );
    assert_eq!(
        policy.precheck("extra.example.net").unwrap(),
        TrustDecision::Trusted
    );
    // Not consulted: a public-cloud host is refused by this override.
    assert_eq!(
        policy.precheck("mycluster.kusto.windows.net").unwrap(),
        TrustDecision::Untrusted
    );
    let all = TrustedEndpoints::allow_all();
    for host in [
        "anything.example",
        "10.1.2.3",
        "mycluster.kusto.windows.net",
    ] {
        assert_eq!(
            all.precheck(host).unwrap(),
            TrustDecision::Trusted,
            "{host}"
        );
    }
    let debug = format!("{policy:?}");
    assert!(debug.contains("override_policy: true"), "{debug}");
}
