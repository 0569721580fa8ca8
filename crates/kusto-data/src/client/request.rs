//! [`KustoRequest`]: a query or management command, its options, and how its answer is read.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::kusto_client::{Endpoint, KustoClient};
use super::properties::ClientRequestProperties;
use crate::error::{Error, Result};
use crate::kql::QueryParameters;
use crate::response::{DataSet, V2EventStream};

/// What a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    Command,
}

/// A query or management command to send, made by [`KustoClient::query`],
/// [`KustoClient::mgmt`] or [`KustoClient::execute`]. Options are added with its methods (new
/// options become new methods, so code written today keeps compiling), then it is sent:
///
/// * `.await` collects every table into a [`DataSet`];
/// * [`stream`](Self::stream) reads a query's answer as a stream of events, in bounded memory;
/// * `arrow` (feature `arrow`) gives a query's primary results as Arrow record batches;
/// * [`v1`](Self::v1) sends a query to the v1 endpoint.
///
/// ```no_run
/// # async fn run(client: kusto_data::KustoClient) -> kusto_data::Result<()> {
/// use std::time::Duration;
/// use kusto_data::ClientRequestProperties;
/// use kusto_data::kql::QueryParameters;
///
/// let data = client.query("Samples", "StormEvents | take 10").await?;
/// let tables = client.mgmt("Samples", ".show tables").await?;
///
/// let mut properties = ClientRequestProperties::new();
/// properties.set_server_timeout(Duration::from_secs(90));
/// let parameters = QueryParameters::new().with("state", "TEXAS")?;
/// let texas = client
///     .query("Samples", "StormEvents | where State == state | take 10")
///     .properties(&properties)
///     .parameters(&parameters)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request is sent only when it is awaited or read"]
pub struct KustoRequest<'a> {
    client: &'a KustoClient,
    kind: Kind,
    database: &'a str,
    text: Cow<'a, str>,
    properties: Option<Cow<'a, ClientRequestProperties>>,
    parameters_on_command: bool,
}

impl fmt::Debug for KustoRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KustoRequest")
            .field("kind", &self.kind)
            .field("database", &self.database)
            .field("text", &self.text)
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}

impl<'a> KustoRequest<'a> {
    pub(super) fn query(client: &'a KustoClient, database: &'a str, text: &'a str) -> Self {
        Self::new(client, Kind::Query, database, text)
    }

    pub(super) fn command(client: &'a KustoClient, database: &'a str, text: &'a str) -> Self {
        Self::new(client, Kind::Command, database, text)
    }

    fn new(client: &'a KustoClient, kind: Kind, database: &'a str, text: &'a str) -> Self {
        KustoRequest {
            client,
            kind,
            database,
            text: Cow::Borrowed(text),
            properties: None,
            parameters_on_command: false,
        }
    }

    /// Sends the request with these properties: options, client request id, application and
    /// user for tracing, server timeout, retry policy. Replaces properties set before
    /// (parameters set with [`parameters`](Self::parameters) before are dropped with them).
    pub fn properties(mut self, properties: &'a ClientRequestProperties) -> Self {
        self.properties = Some(Cow::Borrowed(properties));
        self
    }

    /// Adds typed query parameters: their `declare query_parameters(...)` statement is written
    /// before the query text, and their values travel beside it, so no value can change the
    /// query. Queries only: a management command with parameters fails with
    /// [`Error::InvalidArgument`] when it is sent.
    pub fn parameters(mut self, parameters: &QueryParameters) -> Self {
        if self.kind == Kind::Command {
            self.parameters_on_command = true;
            return self;
        }
        parameters.write_to(self.properties.get_or_insert_default().to_mut());
        self.text = Cow::Owned(parameters.apply(&self.text));
        self
    }

    /// The properties the request will be sent with, if any.
    pub fn request_properties(&self) -> Option<&ClientRequestProperties> {
        self.properties.as_deref()
    }

    fn checked(&self, what: &str) -> Result<()> {
        if self.parameters_on_command {
            return Err(Error::InvalidArgument(
                "query parameters are for queries, not management commands".to_owned(),
            ));
        }
        if self.kind == Kind::Command && what != "collect" {
            return Err(Error::InvalidArgument(format!(
                "{what} is for queries; a management command's answer is collected with .await"
            )));
        }
        Ok(())
    }

    /// Sends the request and collects every table into a [`DataSet`] (what `.await` does).
    ///
    /// A query that fails part-way returns [`Error::PartialFailure`], which still holds the
    /// rows received. Queries and read-only commands (`.show`, `.get`, or the
    /// `request_readonly` option) are retried on transient failures with the client's retry
    /// policy; other commands only when the properties carry a retry policy.
    pub async fn collect(self) -> Result<DataSet> {
        self.checked("collect")?;
        let properties = self.properties.as_deref();
        match self.kind {
            Kind::Query => {
                self.client
                    .collect(Endpoint::QueryV2, self.database, &self.text, properties)
                    .await
            }
            Kind::Command => {
                self.client
                    .collect(Endpoint::Management, self.database, &self.text, properties)
                    .await
            }
        }
    }

    /// Sends a query and returns its answer as a stream of events, parsed as the bytes arrive:
    /// memory is bounded by the parser options' batch size, whatever the result size. Only the
    /// sending of the request is retried; once rows flow, a failure ends the stream with an
    /// error. The whole answer must arrive within the request's timeout (the server timeout,
    /// 4 minutes unless the properties set `servertimeout`, plus the margin), counted from the
    /// answer's headers. Use [`V2EventStream::primary_tables`] for the rows of the primary
    /// results in column-major chunks (the fastest row-by-row reading: typed getters or serde
    /// rows, no [`KustoValue`](crate::KustoValue) per cell), or
    /// [`V2EventStream::primary_batches`] for them as rows of values.
    pub async fn stream(self) -> Result<V2EventStream> {
        self.checked("stream")?;
        self.client
            .stream(self.database, &self.text, self.properties.as_deref())
            .await
    }

    /// Sends a query and returns the rows of its primary results as Arrow record batches,
    /// decoded by the columnar path as the bytes arrive: [`stream`](Self::stream) followed by
    /// [`V2EventStream::primary_record_batches`].
    #[cfg(feature = "arrow")]
    pub async fn arrow(
        self,
        options: crate::response::ArrowOptions,
    ) -> Result<crate::response::ArrowBatchStream> {
        self.checked("arrow")?;
        Ok(self.stream().await?.primary_record_batches(options))
    }

    /// Sends a query through the v1 endpoint (`POST /v1/rest/query`): result tables followed by
    /// `@ExtendedProperties`, `QueryStatus` and the table of contents.
    pub async fn v1(self) -> Result<DataSet> {
        self.checked("v1")?;
        self.client
            .collect(
                Endpoint::QueryV1,
                self.database,
                &self.text,
                self.properties.as_deref(),
            )
            .await
    }
}

impl<'a> IntoFuture for KustoRequest<'a> {
    type Output = Result<DataSet>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<DataSet>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.collect())
    }
}
