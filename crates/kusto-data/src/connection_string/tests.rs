use super::*;
use crate::Error;
use crate::auth::{ApplicationCertificate, Authentication, ManagedIdentity, WorkloadIdentity};
use std::sync::Arc;

const CLUSTER: &str = "https://mycluster.kusto.windows.net";

fn parse(text: &str) -> ConnectionString {
    match ConnectionString::parse(text) {
        Ok(cs) => cs,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn parse_err(text: &str) -> ConnectionStringError {
    match ConnectionString::parse(text) {
        Ok(cs) => panic!("{text} parsed as {cs:?}"),
        Err(e) => e,
    }
}

/// Every way of writing `name`: as is, upper case, lower case, with extra spaces.
fn spellings(name: &str) -> Vec<String> {
    let spaced: String = name.chars().flat_map(|c| [c, ' ']).collect();
    vec![
        name.to_owned(),
        name.to_uppercase(),
        name.to_lowercase(),
        format!("  {spaced}  "),
    ]
}

/// Every name of `keyword` (canonical and aliases), in every spelling.
fn all_names(keyword: Keyword) -> Vec<String> {
    std::iter::once(keyword.name())
        .chain(keyword.aliases().iter().copied())
        .flat_map(spellings)
        .collect()
}

/// For each supported keyword: a connection string that uses it as `{}` and a check of where
/// its value ended up.
fn check_keyword(keyword: Keyword, name: &str) {
    use Keyword as K;
    let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
    let text = match keyword {
        K::DataSource => format!("{name}={CLUSTER}"),
        K::InitialCatalog => format!("Data Source={CLUSTER};{name}=Samples"),
        K::FederatedSecurity => format!("Data Source={CLUSTER};{name}=False"),
        K::ApplicationClientId => {
            format!("Data Source={CLUSTER};{name}=the-app;Application Key=k;Authority Id=t")
        }
        K::ApplicationKey => {
            format!("Data Source={CLUSTER};Application Client Id=a;{name}=the-key;Authority Id=t")
        }
        K::UserId => format!("Data Source={CLUSTER};{name}=alice@contoso.com;Password=p"),
        K::Password => format!("Data Source={CLUSTER};User ID=alice;{name}=the-password"),
        K::AuthorityId => {
            format!(
                "Data Source={CLUSTER};Application Client Id=a;Application Key=k;{name}=tenant-x"
            )
        }
        K::ApplicationToken => format!("Data Source={CLUSTER};{name}=app-token"),
        K::UserToken => format!("Data Source={CLUSTER};{name}=user-token"),
        K::ApplicationCertificateBlob => {
            format!("Data Source={CLUSTER};Application Client Id=a;{name}={pem};Authority Id=t")
        }
        K::ApplicationCertificateSendX5c => format!(
            "Data Source={CLUSTER};Application Client Id=a;Application Certificate Blob={pem};\
             {name}=true;Authority Id=t"
        ),
        K::ApplicationCertificateThumbprint => format!(
            "Data Source={CLUSTER};Application Client Id=a;Application Certificate Blob={pem};\
             {name}=0E691C14;Authority Id=t"
        ),
        K::ApplicationNameForTracing => format!("Data Source={CLUSTER};{name}=my app"),
        K::UserNameForTracing => format!("Data Source={CLUSTER};{name}=my user"),
        other => panic!("no check for {other}"),
    };
    let cs = parse(&text);
    let auth = cs.authentication();
    let ok = match keyword {
        K::DataSource => cs.data_source().as_str() == "https://mycluster.kusto.windows.net/",
        K::InitialCatalog => cs.database() == Some("Samples"),
        K::FederatedSecurity => auth.is_none(),
        K::ApplicationClientId => {
            matches!(auth, Authentication::ApplicationKey { client_id, .. } if client_id == "the-app")
        }
        K::ApplicationKey => {
            matches!(auth, Authentication::ApplicationKey { key, .. } if key.expose() == "the-key")
        }
        K::UserId => {
            matches!(auth, Authentication::UserPassword { user, .. } if user == "alice@contoso.com")
        }
        K::Password => matches!(auth, Authentication::UserPassword { password, .. }
            if password.expose() == "the-password"),
        K::AuthorityId => {
            matches!(auth, Authentication::ApplicationKey { authority, .. } if authority == "tenant-x")
        }
        K::ApplicationToken => {
            matches!(auth, Authentication::ApplicationToken(t) if t.expose() == "app-token")
        }
        K::UserToken => matches!(auth, Authentication::UserToken(t) if t.expose() == "user-token"),
        K::ApplicationCertificateBlob => matches!(auth,
            Authentication::ApplicationCertificate { certificate, .. }
            if certificate.pem().expose() == pem),
        K::ApplicationCertificateSendX5c => matches!(auth,
            Authentication::ApplicationCertificate { certificate, .. }
            if certificate.sends_certificate_chain()),
        K::ApplicationCertificateThumbprint => matches!(auth,
            Authentication::ApplicationCertificate { certificate, .. }
            if certificate.thumbprint().map(|t| t.expose()) == Some("0E691C14")),
        K::ApplicationNameForTracing => cs.application_name_for_tracing() == Some("my app"),
        K::UserNameForTracing => cs.user_name_for_tracing() == Some("my user"),
        _ => false,
    };
    assert!(ok, "{keyword} written as {name:?}: {cs:?}");
    // The canonical form names the keyword by its canonical name.
    assert!(
        cs.to_string().contains(&format!("{}=", keyword.name())),
        "{cs}"
    );
}

#[test]
fn every_supported_keyword_and_alias_in_every_spelling() {
    let mut checked = 0;
    for keyword in Keyword::all().filter(|k| k.is_supported()) {
        for name in all_names(keyword) {
            check_keyword(keyword, &name);
            checked += 1;
        }
    }
    // 15 supported keywords, 45 names in all, 4 spellings each.
    assert_eq!(checked, 45 * 4);
}

#[test]
fn every_unsupported_keyword_and_alias_is_its_own_error() {
    let mut checked = 0;
    for keyword in Keyword::all().filter(|k| !k.is_supported()) {
        for name in all_names(keyword) {
            let error = parse_err(&format!("Data Source={CLUSTER};{name}=x"));
            assert_eq!(
                error,
                ConnectionStringError::UnsupportedKeyword { keyword },
                "{name}"
            );
            assert_eq!(
                error.to_string(),
                format!("keyword '{}' is not supported by this SDK", keyword.name())
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 19 * 4);
}

#[test]
fn keyword_table_flags() {
    use Keyword as K;
    let secrets: Vec<Keyword> = Keyword::all().filter(|k| k.is_secret()).collect();
    assert_eq!(
        secrets,
        [
            K::ApplicationKey,
            K::Password,
            K::ApplicationToken,
            K::UserToken,
            K::ApplicationCertificateBlob,
            K::ApplicationCertificateThumbprint,
            K::ApplicationCertificateIssuerDistinguishedName,
            K::ApplicationCertificateSubjectDistinguishedName,
        ]
    );
    let bools: Vec<Keyword> = Keyword::all()
        .filter(|k| k.value_type() == KeywordType::Bool)
        .collect();
    assert_eq!(
        bools,
        [
            K::FederatedSecurity,
            K::ApplicationCertificateSendX5c,
            K::DstsFederatedSecurity,
            K::Streaming,
            K::Uncompressed,
            K::EnforceMfa,
            K::Accept,
            K::QueryConsistency,
        ]
    );
    assert_eq!(Keyword::all().filter(|k| k.is_supported()).count(), 15);
}

#[test]
fn bare_url_and_values_with_equals_signs() {
    let cs = parse(CLUSTER);
    assert_eq!(
        cs.data_source().as_str(),
        "https://mycluster.kusto.windows.net/"
    );
    assert!(matches!(
        cs.authentication(),
        Authentication::DefaultChain(_)
    ));

    let cs = parse(&format!(
        "{CLUSTER};AppClientId=a;AppKey=abc==;Authority Id=t"
    ));
    assert!(matches!(cs.authentication(),
        Authentication::ApplicationKey { key, .. } if key.expose() == "abc=="));

    let cs = parse("Data Source = mycluster.kusto.windows.net ; Initial Catalog = db1 ");
    assert_eq!(
        cs.data_source().as_str(),
        "https://mycluster.kusto.windows.net/"
    );
    assert_eq!(cs.database(), Some("db1"));

    let cs = parse("Data Source=https://c.kusto.windows.net:8443");
    assert_eq!(
        cs.data_source().as_str(),
        "https://c.kusto.windows.net:8443/"
    );
}

#[test]
fn bools_are_case_insensitive_true_or_false() {
    for (value, expected_none) in [
        ("true", false),
        ("True", false),
        ("TRUE", false),
        ("false", true),
        ("False", true),
        ("fAlSe", true),
    ] {
        let cs = parse(&format!("{CLUSTER};Fed={value}"));
        assert_eq!(cs.authentication().is_none(), expected_none, "{value}");
    }
    for bad in ["yes", "1", "0", "on", "truee", "t"] {
        assert_eq!(
            parse_err(&format!("{CLUSTER};Fed={bad}")),
            ConnectionStringError::InvalidBool {
                keyword: Keyword::FederatedSecurity,
                value: bad.to_owned()
            }
        );
    }
    let pem = "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----";
    assert_eq!(
        parse_err(&format!(
            "{CLUSTER};AppClientId=a;Application Certificate Blob={pem};SendX5c=maybe;Authority=t"
        )),
        ConnectionStringError::InvalidBool {
            keyword: Keyword::ApplicationCertificateSendX5c,
            value: "maybe".to_owned()
        }
    );
}

#[test]
fn database_from_the_url_path() {
    let cs = parse("Data Source=https://help.kusto.windows.net/Samples");
    assert_eq!(cs.data_source().as_str(), "https://help.kusto.windows.net/");
    assert_eq!(cs.database(), Some("Samples"));

    let cs = parse("https://help.kusto.windows.net/Samples/");
    assert_eq!(cs.database(), Some("Samples"));
    assert_eq!(cs.data_source().as_str(), "https://help.kusto.windows.net/");

    let cs = parse("https://help.kusto.windows.net/My%20Db");
    assert_eq!(cs.database(), Some("My Db"));
    let cs = parse("https://help.kusto.windows.net/D%C3%A9j%C3%A0");
    assert_eq!(cs.database(), Some("Déjà"));
    // A `%` not followed by two hex digits is kept as it is (as Python's `unquote` does).
    let cs = parse("https://help.kusto.windows.net/100%25%zz");
    assert_eq!(cs.database(), Some("100%%zz"));

    // An explicit Initial Catalog wins, whatever the order.
    let cs = parse("Initial Catalog=Other;Data Source=https://help.kusto.windows.net/Samples");
    assert_eq!(cs.database(), Some("Other"));
    assert_eq!(cs.data_source().as_str(), "https://help.kusto.windows.net/");
    let cs = parse("Data Source=https://help.kusto.windows.net/Samples;Initial Catalog=Other");
    assert_eq!(cs.database(), Some("Other"));

    // Two segments: a path prefix, kept (without its trailing slash).
    let cs = parse("https://proxy.contoso.com/kusto/cluster1/");
    assert_eq!(cs.database(), None);
    assert_eq!(
        cs.data_source().as_str(),
        "https://proxy.contoso.com/kusto/cluster1"
    );
    assert_eq!(
        cs.to_string(),
        "Data Source=https://proxy.contoso.com/kusto/cluster1;AAD Federated Security=True"
    );

    let cs = parse(CLUSTER);
    assert_eq!(cs.database(), None);
    assert_eq!(DEFAULT_DATABASE, "NetDefaultDB");
}

#[test]
fn bad_input_gives_typed_errors() {
    use ConnectionStringError as E;
    let cases: Vec<(String, E)> = vec![
        (String::new(), E::Empty),
        ("   ".into(), E::Empty),
        (format!("{CLUSTER};"), E::TrailingSemicolon),
        (format!("{CLUSTER};Fed=True; "), E::TrailingSemicolon),
        (format!("{CLUSTER};;Fed=True"), E::EmptySegment { index: 2 }),
        (";Data Source=x".into(), E::EmptySegment { index: 1 }),
        (format!("{CLUSTER};Fed"), E::MissingEquals { index: 2 }),
        (
            format!("{CLUSTER};Colour=blue"),
            E::UnknownKeyword {
                keyword: "Colour".into(),
            },
        ),
        (
            format!("{CLUSTER};Streaming=true"),
            E::UnsupportedKeyword {
                keyword: Keyword::Streaming,
            },
        ),
        (
            format!("{CLUSTER};Fed=maybe"),
            E::InvalidBool {
                keyword: Keyword::FederatedSecurity,
                value: "maybe".into(),
            },
        ),
        (
            format!("{CLUSTER};Initial Catalog=a;Database=b"),
            E::DuplicateKeyword {
                keyword: Keyword::InitialCatalog,
            },
        ),
        (
            format!("Data Source={CLUSTER};Server={CLUSTER}"),
            E::DuplicateKeyword {
                keyword: Keyword::DataSource,
            },
        ),
        (
            format!("{CLUSTER};Initial Catalog= "),
            E::EmptyValue {
                keyword: Keyword::InitialCatalog,
            },
        ),
        (
            "Data Source=".into(),
            E::EmptyValue {
                keyword: Keyword::DataSource,
            },
        ),
        ("Initial Catalog=db".into(), E::MissingDataSource),
        (
            format!("{CLUSTER};User ID=u;Password=p;AppClientId=a;AppKey=k;Authority=t"),
            E::ConflictingKeywords {
                first: Keyword::Password,
                second: Keyword::ApplicationKey,
            },
        ),
        (
            format!("{CLUSTER};User Token=u;Application Token=a"),
            E::ConflictingKeywords {
                first: Keyword::UserToken,
                second: Keyword::ApplicationToken,
            },
        ),
        (
            format!("{CLUSTER};Fed=False;User Token=u"),
            E::ConflictingKeywords {
                first: Keyword::FederatedSecurity,
                second: Keyword::UserToken,
            },
        ),
        (
            format!("{CLUSTER};Password=p"),
            E::MissingKeyword {
                missing: Keyword::UserId,
                required_by: Keyword::Password,
            },
        ),
        (
            format!("{CLUSTER};AppKey=k;Authority=t"),
            E::MissingKeyword {
                missing: Keyword::ApplicationClientId,
                required_by: Keyword::ApplicationKey,
            },
        ),
        (
            format!("{CLUSTER};AppClientId=a;AppKey=k"),
            E::MissingKeyword {
                missing: Keyword::AuthorityId,
                required_by: Keyword::ApplicationKey,
            },
        ),
        (
            format!("{CLUSTER};AppClientId=a"),
            E::MissingKeyword {
                missing: Keyword::ApplicationKey,
                required_by: Keyword::ApplicationClientId,
            },
        ),
        (
            format!("{CLUSTER};AppClientId=a;AppCert=0E69;Authority=t"),
            E::MissingKeyword {
                missing: Keyword::ApplicationCertificateBlob,
                required_by: Keyword::ApplicationCertificateThumbprint,
            },
        ),
        (
            "http://kusto.contoso.internal:8080".into(),
            E::AuthenticationRequired {
                host: "kusto.contoso.internal".into(),
            },
        ),
        (
            "Data Source=http://kusto.contoso.internal;Fed=True".into(),
            E::TokenOverHttp {
                host: "kusto.contoso.internal".into(),
            },
        ),
        (
            "Data Source=http://10.0.0.4;User Token=t".into(),
            E::TokenOverHttp {
                host: "10.0.0.4".into(),
            },
        ),
        (
            format!("{CLUSTER};AppClientId=a;AppKey=k;Authority=evil.example/x"),
            E::InvalidValue {
                keyword: Keyword::AuthorityId,
                reason: "'evil.example/x': a tenant id or domain name has only ASCII letters, \
                         digits, '-', '.' and '_'"
                    .into(),
            },
        ),
        (
            format!("{CLUSTER};Tenant=.."),
            E::InvalidValue {
                keyword: Keyword::AuthorityId,
                reason: "'..': a domain name cannot have an empty label".into(),
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_err(&text), expected, "{text:?}");
    }
}

#[test]
fn malformed_urls_are_invalid_data_sources() {
    for text in [
        "https://",
        "Data Source=https://exa mple.com",
        "Data Source=https://[::1",
        "Data Source=https://host:99999",
        "Data Source=ftp://files.contoso.com",
        "Data Source=https://user:pw@c.kusto.windows.net",
        "Data Source=https://c.kusto.windows.net/?a=b",
        "Data Source=https://c.kusto.windows.net/#frag",
        "Data Source=https://c.kusto.windows.net/%FF",
        "Data Source=file:///etc/passwd",
    ] {
        let error = parse_err(text);
        assert!(
            matches!(error, ConnectionStringError::InvalidDataSource { .. }),
            "{text}: {error:?}"
        );
        assert!(!error.to_string().contains("pw@"), "{error}");
    }
    // The crate error wraps it, and `?` converts.
    let error: Error = "Data Source=ftp://x"
        .parse::<ConnectionString>()
        .unwrap_err()
        .into();
    assert!(matches!(
        error,
        Error::ConnectionString(ConnectionStringError::InvalidDataSource { .. })
    ));
    assert!(error.is_permanent());
}

#[test]
fn default_authentication_depends_on_scheme_and_host() {
    assert!(matches!(
        parse(CLUSTER).authentication(),
        Authentication::DefaultChain(_)
    ));
    for local in [
        "http://localhost:8080",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "http://127.1.2.3",
    ] {
        assert!(parse(local).authentication().is_none(), "{local}");
    }
    assert!(matches!(
        parse("Data Source=http://localhost:8080;Fed=True").authentication(),
        Authentication::DefaultChain(_)
    ));
    assert!(
        parse("Data Source=http://kusto.contoso.internal;Fed=False")
            .authentication()
            .is_none()
    );
    assert!(
        parse(&format!("{CLUSTER};Fed=False"))
            .authentication()
            .is_none()
    );
    // User ID alone is a login hint; Authority Id alone is kept.
    let cs = parse(&format!(
        "{CLUSTER};User ID=alice@contoso.com;Authority Id=contoso.com"
    ));
    assert!(matches!(
        cs.authentication(),
        Authentication::DefaultChain(_)
    ));
    assert_eq!(cs.login_hint(), Some("alice@contoso.com"));
    assert_eq!(cs.authority_id(), Some("contoso.com"));
    assert_eq!(
        cs.to_string(),
        "Data Source=https://mycluster.kusto.windows.net;AAD Federated Security=True;\
         User ID=alice@contoso.com;Authority Id=contoso.com"
    );
    // User and password default to the organizations authority.
    let cs = parse(&format!("{CLUSTER};User ID=u;Password=p"));
    assert!(matches!(cs.authentication(),
        Authentication::UserPassword { authority, .. } if authority == DEFAULT_AUTHORITY));
}

#[test]
fn canonical_form_and_round_trip() {
    let text = "addr=https://help.kusto.windows.net/Samples;AppClientId=app-1;appkey=K3y==;\
                tid=contoso.com;TraceAppName=svc;TraceUserName=bob";
    let cs = parse(text);
    assert_eq!(
        cs.to_string(),
        "Data Source=https://help.kusto.windows.net;Initial Catalog=Samples;\
         AAD Federated Security=True;Application Client Id=app-1;Application Key=****;\
         Authority Id=contoso.com;Application Name for Tracing=svc;User Name for Tracing=bob"
    );
    let unmasked = cs.to_unmasked_string().unwrap();
    assert_eq!(
        unmasked.expose(),
        "Data Source=https://help.kusto.windows.net;Initial Catalog=Samples;\
         AAD Federated Security=True;Application Client Id=app-1;Application Key=K3y==;\
         Authority Id=contoso.com;Application Name for Tracing=svc;User Name for Tracing=bob"
    );
    let again = parse(unmasked.expose());
    assert_eq!(again.to_unmasked_string().unwrap(), unmasked);
    // Every text-representable method round-trips.
    let pem = "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----";
    for text in [
        format!("{CLUSTER};Fed=False"),
        format!("{CLUSTER};Fed=True"),
        format!("{CLUSTER};User ID=u;Password=p;Authority Id=t"),
        format!("{CLUSTER};User Token=ut"),
        format!("{CLUSTER};Application Token=at"),
        format!(
            "{CLUSTER};AppClientId=a;Application Certificate Blob={pem};SendX5c=True;AppCert=0E69;Authority=t"
        ),
    ] {
        let cs = parse(&text);
        let unmasked = cs.to_unmasked_string().unwrap();
        assert_eq!(
            parse(unmasked.expose()).to_unmasked_string().unwrap(),
            unmasked,
            "{text}"
        );
    }
}

#[test]
fn methods_without_keywords_print_as_federated_and_cannot_be_unmasked() {
    let cs = ConnectionString::builder(CLUSTER)
        .with_managed_identity(ManagedIdentity::SystemAssigned)
        .build()
        .unwrap();
    assert_eq!(
        cs.to_string(),
        "Data Source=https://mycluster.kusto.windows.net;AAD Federated Security=True"
    );
    assert_eq!(
        cs.to_unmasked_string().unwrap_err(),
        ConnectionStringError::NotRepresentable {
            reason: "managed identity authentication has no connection-string keywords".into()
        }
    );
    // A `;` in a value set through the builder cannot be written either.
    let cs = ConnectionString::builder(CLUSTER)
        .with_application_key("a", "x;y", "t")
        .build()
        .unwrap();
    let error = cs.to_unmasked_string().unwrap_err();
    assert_eq!(
        error.to_string(),
        "the connection string cannot be written as text: the value of 'Application Key' contains ';'"
    );
    assert!(!error.to_string().contains("x;y"));
}

#[test]
fn every_builder_method() {
    let build = |b: ConnectionStringBuilder| b.build().unwrap();
    let b = || ConnectionString::builder(CLUSTER);
    let cases: Vec<(ConnectionString, &str)> = vec![
        (build(b().with_no_authentication()), "no authentication"),
        (
            build(b().with_default_chain(crate::auth::DefaultChain::new())),
            "default chain",
        ),
        (
            build(b().with_application_key("a", "k", "t")),
            "application key",
        ),
        (
            build(b().with_application_certificate(
                "a",
                ApplicationCertificate::from_pem("pem").with_thumbprint("0E69"),
                "t",
            )),
            "application certificate",
        ),
        (
            build(b().with_user_password("u", "p", DEFAULT_AUTHORITY)),
            "user and password",
        ),
        (
            build(b().with_managed_identity(ManagedIdentity::ClientId("c".into()))),
            "managed identity",
        ),
        (build(b().with_azure_cli()), "Azure CLI"),
        (build(b().with_azure_cli_in_tenant("t")), "Azure CLI"),
        (build(b().with_developer_tools()), "developer tools"),
        (
            build(b().with_workload_identity(WorkloadIdentity::default())),
            "workload identity",
        ),
        (build(b().with_user_token("ut")), "user token"),
        (build(b().with_application_token("at")), "application token"),
        (
            build(
                b().with_token_callback(|_| async { Ok(crate::auth::AccessToken::new("t", None)) }),
            ),
            "token callback",
        ),
        (
            build(b().with_token_credential(Arc::new(FakeCredential))),
            "token credential",
        ),
        (
            build(b().with_token_provider(Arc::new(crate::auth::StaticTokenProvider::new("t")))),
            "token provider",
        ),
        (
            build(b().with_device_code(DEFAULT_AUTHORITY, |_| {})),
            "device code",
        ),
    ];
    assert_eq!(cases.len(), 16);
    for (cs, method) in &cases {
        assert_eq!(cs.authentication().method_name(), *method);
        assert_eq!(
            cs.data_source().as_str(),
            "https://mycluster.kusto.windows.net/"
        );
    }
    // Specific fields.
    assert!(
        matches!(cases[7].0.authentication(), Authentication::AzureCli { tenant: Some(t) } if t == "t")
    );
    assert_eq!(cases[7].0.authority_id(), Some("t"));
    assert_eq!(cases[2].0.authority_id(), Some("t"));
    assert!(matches!(cases[5].0.authentication(),
        Authentication::ManagedIdentity(ManagedIdentity::ClientId(c)) if c == "c"));

    // Database, tracing names, and a database in the path.
    let cs = ConnectionString::builder("https://help.kusto.windows.net/Samples")
        .application_name_for_tracing("app")
        .user_name_for_tracing("user")
        .build()
        .unwrap();
    assert_eq!(cs.database(), Some("Samples"));
    assert_eq!(cs.application_name_for_tracing(), Some("app"));
    assert_eq!(cs.user_name_for_tracing(), Some("user"));
    let cs = ConnectionString::builder("https://help.kusto.windows.net/Samples")
        .database("Other")
        .build()
        .unwrap();
    assert_eq!(cs.database(), Some("Other"));

    // Back to a builder.
    let again = ConnectionStringBuilder::from(cs.clone()).build().unwrap();
    assert_eq!(again.to_string(), cs.to_string());
    // A login hint and a lone Authority Id survive the trip through the builder.
    let parsed = parse(&format!(
        "{CLUSTER};User ID=alice@contoso.com;Authority Id=contoso.com;TraceAppName=a"
    ));
    let again = ConnectionStringBuilder::from(parsed.clone())
        .build()
        .unwrap();
    assert_eq!(again.login_hint(), Some("alice@contoso.com"));
    assert_eq!(again.authority_id(), Some("contoso.com"));
    assert_eq!(again.to_string(), parsed.to_string());
}

#[test]
fn builder_errors_are_typed() {
    let err = |b: ConnectionStringBuilder| match b.build() {
        Err(Error::ConnectionString(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        err(ConnectionString::builder("ftp://x")),
        ConnectionStringError::InvalidDataSource { .. }
    ));
    assert_eq!(
        err(ConnectionString::builder(CLUSTER).with_application_key("", "k", "t")),
        ConnectionStringError::EmptyValue {
            keyword: Keyword::ApplicationClientId
        }
    );
    assert_eq!(
        err(ConnectionString::builder(CLUSTER).with_user_password("u", "", "t")),
        ConnectionStringError::EmptyValue {
            keyword: Keyword::Password
        }
    );
    assert_eq!(
        err(ConnectionString::builder(CLUSTER).with_user_token(" ")),
        ConnectionStringError::EmptyValue {
            keyword: Keyword::UserToken
        }
    );
    assert_eq!(
        err(ConnectionString::builder("http://kusto.internal")),
        ConnectionStringError::AuthenticationRequired {
            host: "kusto.internal".into()
        }
    );
    assert_eq!(
        err(ConnectionString::builder("http://kusto.internal").with_azure_cli()),
        ConnectionStringError::TokenOverHttp {
            host: "kusto.internal".into()
        }
    );
    // The tenant becomes a path segment of the token endpoint: only a tenant id or domain.
    for tenant in ["a/b", "t?x", "t#", "..", "a b", "t%2F"] {
        for builder in [
            ConnectionString::builder(CLUSTER).with_application_key("a", "k", tenant),
            ConnectionString::builder(CLUSTER).with_user_password("u", "p", tenant),
            ConnectionString::builder(CLUSTER).with_application_certificate(
                "a",
                ApplicationCertificate::from_pem("pem"),
                tenant,
            ),
            ConnectionString::builder(CLUSTER).with_device_code(tenant, |_| {}),
            ConnectionString::builder(CLUSTER).with_azure_cli_in_tenant(tenant),
        ] {
            let error = err(builder);
            assert!(
                matches!(
                    error,
                    ConnectionStringError::InvalidValue {
                        keyword: Keyword::AuthorityId,
                        ..
                    }
                ),
                "{tenant}: {error:?}"
            );
        }
    }
    assert_eq!(
        err(ConnectionString::builder(CLUSTER).with_device_code(" ", |_| {})),
        ConnectionStringError::EmptyValue {
            keyword: Keyword::AuthorityId
        }
    );
    // Explicitly no authentication is fine on any host.
    let cs = ConnectionString::builder("http://kusto.internal")
        .with_no_authentication()
        .build()
        .unwrap();
    assert!(cs.authentication().is_none());
    assert_eq!(
        cs.to_string(),
        "Data Source=http://kusto.internal;AAD Federated Security=False"
    );
}

const CANARIES: [&str; 7] = [
    "CANARY-APPKEY-1",
    "CANARY-PASSWORD-2",
    "CANARY-APPTOKEN-3",
    "CANARY-USERTOKEN-4",
    "CANARY-CERTBLOB-5",
    "CANARY-THUMB-6",
    "CANARY-PUBLICKEY-7",
];

fn assert_no_canary(text: &str) {
    for canary in CANARIES {
        assert!(!text.contains(canary), "{canary} leaked in {text}");
    }
    assert!(!text.contains("CANARY"), "a canary leaked in {text}");
}

#[test]
fn every_secret_is_masked_in_display_debug_and_errors() {
    let pem = "-----BEGIN PRIVATE KEY-----\nCANARY-CERTBLOB-5\n-----END PRIVATE KEY-----";
    let strings = [
        format!("{CLUSTER};AppClientId=a;AppKey=CANARY-APPKEY-1;Authority=t"),
        format!("{CLUSTER};User ID=u;Password=CANARY-PASSWORD-2"),
        format!("{CLUSTER};AppToken=CANARY-APPTOKEN-3"),
        format!("{CLUSTER};UsrToken=CANARY-USERTOKEN-4"),
        format!(
            "{CLUSTER};AppClientId=a;Application Certificate Blob={pem};AppCert=CANARY-THUMB-6;Authority=t"
        ),
    ];
    for text in &strings {
        let cs = parse(text);
        let shown = format!("{cs} {cs:?} {cs:#?} {:?}", cs.authentication());
        assert_no_canary(&shown);
        assert!(shown.contains("****"), "{shown}");
        // The secret is still there for the one place that needs it.
        assert!(cs.to_unmasked_string().unwrap().expose().contains("CANARY"));
        assert_no_canary(&format!("{:?}", cs.to_unmasked_string().unwrap()));
    }
    // Through the builder, with methods that have no keywords too.
    let builders = [
        ConnectionString::builder(CLUSTER).with_application_key("a", "CANARY-APPKEY-1", "t"),
        ConnectionString::builder(CLUSTER).with_user_password("u", "CANARY-PASSWORD-2", "t"),
        ConnectionString::builder(CLUSTER).with_application_token("CANARY-APPTOKEN-3"),
        ConnectionString::builder(CLUSTER).with_user_token("CANARY-USERTOKEN-4"),
        ConnectionString::builder(CLUSTER).with_application_certificate(
            "a",
            ApplicationCertificate::from_pem(pem)
                .with_thumbprint("CANARY-THUMB-6")
                .with_public_certificate(
                    "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----",
                ),
            "t",
        ),
        ConnectionString::builder(CLUSTER).with_default_chain(
            crate::auth::DefaultChain::new().with_environment([
                ("AZURE_CLIENT_SECRET", "CANARY-APPKEY-1"),
                ("AZURE_CLIENT_ID", "c"),
            ]),
        ),
    ];
    for builder in builders {
        let debug_builder = format!("{builder:?}");
        assert_no_canary(&debug_builder);
        let cs = builder.build().unwrap();
        assert_no_canary(&format!("{cs} {cs:?} {cs:#?}"));
    }
    // Errors that involve secret keywords never quote the secret.
    let errors = [
        format!("{CLUSTER};AppKey=CANARY-APPKEY-1;AppKey=CANARY-APPKEY-1"),
        format!("{CLUSTER};Password=CANARY-PASSWORD-2"),
        format!("{CLUSTER};User ID=u;Password=CANARY;PASSWORD-2"),
        format!("{CLUSTER};User ID=u;Password=CANARY;PASSWORD=-2"),
        format!("{CLUSTER};AppToken=CANARY-APPTOKEN-3;UsrToken=CANARY-USERTOKEN-4"),
        format!("{CLUSTER};Fed=False;UsrToken=CANARY-USERTOKEN-4"),
        format!("{CLUSTER};AppKey=CANARY-APPKEY-1"),
        format!("{CLUSTER};AppKey="),
        format!("{CLUSTER};AppClientId=a;AppKey=CANARY-APPKEY-1"),
        "Data Source=https://u:CANARY-PASSWORD-2@c.kusto.windows.net".to_string(),
        "Data Source=http://remote.example.com;UsrToken=CANARY-USERTOKEN-4".to_string(),
    ];
    for text in &errors {
        let error = parse_err(text);
        let wrapped = Error::from(error.clone());
        assert_no_canary(&format!("{error} {error:?} {wrapped} {wrapped:?}"));
    }
    // The segment after a secret that does not parse is reported by position only.
    assert_eq!(
        parse_err(&format!("{CLUSTER};User ID=u;Password=CANARY;PASSWORD-2")),
        ConnectionStringError::SecretContainsSemicolon {
            keyword: Keyword::Password,
            index: 4
        }
    );
    assert_eq!(
        parse_err(&format!("{CLUSTER};AppKey=ab;CANARY=x")),
        ConnectionStringError::SecretContainsSemicolon {
            keyword: Keyword::ApplicationKey,
            index: 3
        }
    );
}

#[derive(Debug)]
struct FakeCredential;

#[async_trait::async_trait]
impl azure_core::credentials::TokenCredential for FakeCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        Ok(azure_core::credentials::AccessToken::new(
            "fake",
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[test]
fn arbitrary_input_never_panics() {
    let pieces = [
        "",
        ";",
        "=",
        "Data Source",
        "https://c.kusto.windows.net",
        "http://[::1]",
        "%",
        "%F",
        "[",
        "é",
        " ",
        "Fed",
        "true",
        "://",
        "AppKey",
        "User ID",
        "/db/",
        "\u{0}",
        "Initial Catalog",
        "%20",
        "Password",
        "localhost",
        ".",
        "/",
    ];
    let mut parsed = 0;
    for a in pieces {
        for b in pieces {
            for c in pieces {
                for d in pieces {
                    let text = format!("{a}{b}{c}{d}");
                    if let Ok(cs) = ConnectionString::parse(&text) {
                        parsed += 1;
                        // Whatever parses prints and re-parses to the same thing.
                        let again = ConnectionString::parse(&cs.to_string()).unwrap();
                        assert_eq!(again.to_string(), cs.to_string(), "{text:?}");
                    }
                }
            }
        }
    }
    assert!(parsed > 0);
}
