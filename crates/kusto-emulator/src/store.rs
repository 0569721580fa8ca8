//! In-memory databases and tables, ingestion mappings, streaming-ingestion policies and the list of
//! ingestion failures.
//!
//! The [`Store`] is shared behind an `Arc` by the HTTP front end and by anything else that ingests
//! (the data-management worker of part 2 appends rows through [`Store::append_rows`] and reports
//! failures through [`Store::record_ingestion_failure`]). Database names are case-insensitive,
//! table and column names case-sensitive, as in Kusto.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use uuid::Uuid;

use crate::mapping::{IngestionMapping, MappingKind};
use crate::value::{KustoType, Value};

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name (case-sensitive).
    pub name: String,
    /// Column type.
    pub ty: KustoType,
}

impl Column {
    /// A column with a name and a type.
    pub fn new(name: impl Into<String>, ty: KustoType) -> Self {
        Column {
            name: name.into(),
            ty,
        }
    }
}

/// One row: one value per column, in column order.
pub type Row = Vec<Value>;

/// A consistent copy of a table taken for a query.
#[derive(Debug, Clone)]
pub struct TableSnapshot {
    /// The table's name.
    pub name: String,
    /// The table's columns.
    pub columns: Vec<Column>,
    /// The rows at the time of the snapshot (shared, not copied).
    pub rows: Arc<Vec<Row>>,
}

/// Whether an ingestion failure may succeed on retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Retrying the same data will fail again.
    Permanent,
    /// Retrying may succeed.
    Transient,
}

impl FailureKind {
    /// `Permanent` or `Transient`, as shown by `.show ingestion failures`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Permanent => "Permanent",
            FailureKind::Transient => "Transient",
        }
    }
}

/// One entry of `.show ingestion failures`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionFailure {
    /// The ingestion operation.
    pub operation_id: Uuid,
    /// Target database.
    pub database: String,
    /// Target table.
    pub table: String,
    /// When it failed (datetime ticks).
    pub failed_on: i64,
    /// The source: a blob URL without its query, or a description of a streamed body.
    pub ingestion_source_path: String,
    /// Human-readable details.
    pub details: String,
    /// Permanent or transient.
    pub failure_kind: FailureKind,
    /// Activity id of the request that ingested.
    pub root_activity_id: Uuid,
    /// `DataIngestPull` (queued and `.ingest` commands) or `StreamingIngestion`.
    pub operation_kind: String,
    /// The ingestion error code name (kusto-protocol.md 6.8), e.g. `Stream_WrongNumberOfFields`.
    pub error_code: String,
    /// Whether a retry may help.
    pub should_retry: bool,
    /// The ingestion properties, as JSON text.
    pub ingestion_properties: String,
}

/// A data shard of a table: the rows of one ingestion, with its tags and creation time.
///
/// A table's rows are the rows of its extents, in the order the extents were added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent {
    /// The extent id.
    pub id: Uuid,
    /// How many rows it holds.
    pub row_count: usize,
    /// Its tags (`ingest-by:...`, `drop-by:...` and free tags), in the order given.
    pub tags: Vec<String>,
    /// Its creation time (datetime ticks): the ingestion's `creationTime` or the time it was
    /// appended.
    pub created_on: i64,
    /// When it was appended (datetime ticks): what KQL's `ingestion_time()` returns for its
    /// rows. Unlike `created_on`, the `creationTime` ingestion property does not change it.
    pub ingested_on: i64,
}

/// How an extent is added by [`Store::append_extent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtentOptions {
    /// Tags of the new extent.
    pub tags: Vec<String>,
    /// Its creation time (datetime ticks); now when `None`.
    pub created_on: Option<i64>,
    /// `ingestIfNotExists`: skip the append if any extent of the table already has the tag
    /// `ingest-by:<value>` for one of these values.
    pub ingest_if_not_exists: Vec<String>,
}

/// What [`Store::append_extent`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The rows were appended as a new extent.
    Appended {
        /// Rows appended.
        rows: usize,
        /// The new extent.
        extent_id: Uuid,
    },
    /// Nothing was appended: an extent already carries this `ingest-by:` tag.
    Skipped {
        /// The tag found (`ingest-by:<value>`).
        tag: String,
    },
}

#[derive(Debug, Default)]
struct TableData {
    name: String,
    columns: Vec<Column>,
    rows: Arc<Vec<Row>>,
    extents: Vec<Extent>,
    mappings: Vec<IngestionMapping>,
    streaming_policy: Option<bool>,
}

#[derive(Debug, Default)]
struct Database {
    name: String,
    tables: BTreeMap<String, TableData>,
    streaming_policy: Option<bool>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keyed by lower-cased name.
    databases: BTreeMap<String, Database>,
    failures: Vec<IngestionFailure>,
}

/// Errors of store operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database does not exist.
    #[error("Database '{0}' was not found.")]
    DatabaseNotFound(String),
    /// The table does not exist.
    #[error("Entity ID '{table}' of kind 'Table' was not found.")]
    TableNotFound {
        /// Database name.
        database: String,
        /// Table name.
        table: String,
    },
    /// A name is not a valid entity name.
    #[error("The name '{0}' is not a valid entity name.")]
    InvalidName(String),
    /// A column exists with another type (`.create-merge table`).
    #[error(
        "Column '{column}' already exists with type '{existing}', cannot change it to '{requested}'."
    )]
    ColumnTypeConflict {
        /// Column name.
        column: String,
        /// Its current type.
        existing: KustoType,
        /// The requested type.
        requested: KustoType,
    },
    /// `.create table` of an existing table with a different schema.
    #[error("Table '{0}' already exists with a different schema.")]
    TableExists(String),
    /// A row does not have one value per column.
    #[error("A row has {actual} values but the table '{table}' has {expected} columns.")]
    RowWidth {
        /// Table name.
        table: String,
        /// Columns of the table.
        expected: usize,
        /// Values in the row.
        actual: usize,
    },
    /// A column is declared twice.
    #[error("Column '{0}' is declared more than once.")]
    DuplicateColumn(String),
}

/// Whether `name` is a valid Kusto entity name (1 to 1024 characters: letters, digits, `_`,
/// spaces, `.` and `-`).
pub(crate) fn is_valid_entity_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 1024
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '-'))
        && !name.trim().is_empty()
}

/// The in-memory state of the emulated cluster. Cheap to share: wrap it in an `Arc`.
#[derive(Debug, Default)]
pub struct Store {
    inner: RwLock<Inner>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the database if it does not exist; returns its canonical name.
    pub fn ensure_database(&self, name: &str) -> Result<String, StoreError> {
        if !is_valid_entity_name(name) {
            return Err(StoreError::InvalidName(name.to_string()));
        }
        let mut inner = self.write();
        let db = inner
            .databases
            .entry(name.to_lowercase())
            .or_insert_with(|| Database {
                name: name.to_string(),
                ..Database::default()
            });
        Ok(db.name.clone())
    }

    /// Drops a database and its tables; `false` if it did not exist.
    pub fn drop_database(&self, name: &str) -> bool {
        self.write()
            .databases
            .remove(&name.to_lowercase())
            .is_some()
    }

    /// The canonical name of an existing database.
    pub fn database_name(&self, name: &str) -> Option<String> {
        self.read()
            .databases
            .get(&name.to_lowercase())
            .map(|d| d.name.clone())
    }

    /// Names of all databases, sorted.
    pub fn database_names(&self) -> Vec<String> {
        self.read()
            .databases
            .values()
            .map(|d| d.name.clone())
            .collect()
    }

    fn with_db<T>(
        &self,
        db: &str,
        f: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let inner = self.read();
        let database = inner
            .databases
            .get(&db.to_lowercase())
            .ok_or_else(|| StoreError::DatabaseNotFound(db.to_string()))?;
        f(database)
    }

    fn with_db_mut<T>(
        &self,
        db: &str,
        f: impl FnOnce(&mut Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.write();
        let database = inner
            .databases
            .get_mut(&db.to_lowercase())
            .ok_or_else(|| StoreError::DatabaseNotFound(db.to_string()))?;
        f(database)
    }

    fn with_table_mut<T>(
        &self,
        db: &str,
        table: &str,
        f: impl FnOnce(&mut TableData) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_db_mut(db, |database| {
            let data = database
                .tables
                .get_mut(table)
                .ok_or_else(|| StoreError::TableNotFound {
                    database: database.name.clone(),
                    table: table.to_string(),
                })?;
            f(data)
        })
    }

    /// Creates a table. With `merge` (`.create-merge table`) an existing table gains the missing
    /// columns; without it an existing table must have exactly this schema (`.create table` is
    /// idempotent). Returns the resulting columns.
    pub fn create_table(
        &self,
        db: &str,
        table: &str,
        columns: &[Column],
        merge: bool,
    ) -> Result<Vec<Column>, StoreError> {
        if !is_valid_entity_name(table) {
            return Err(StoreError::InvalidName(table.to_string()));
        }
        for (i, c) in columns.iter().enumerate() {
            if !is_valid_entity_name(&c.name) {
                return Err(StoreError::InvalidName(c.name.clone()));
            }
            if columns[..i].iter().any(|o| o.name == c.name) {
                return Err(StoreError::DuplicateColumn(c.name.clone()));
            }
        }
        self.with_db_mut(db, |database| match database.tables.get_mut(table) {
            None => {
                database.tables.insert(
                    table.to_string(),
                    TableData {
                        name: table.to_string(),
                        columns: columns.to_vec(),
                        ..TableData::default()
                    },
                );
                Ok(columns.to_vec())
            }
            Some(existing) if merge => {
                for c in columns {
                    match existing.columns.iter().find(|e| e.name == c.name) {
                        Some(e) if e.ty != c.ty => {
                            return Err(StoreError::ColumnTypeConflict {
                                column: c.name.clone(),
                                existing: e.ty,
                                requested: c.ty,
                            });
                        }
                        Some(_) => {}
                        None => {
                            existing.columns.push(c.clone());
                            let empty = crate::parse_value::parse_field("", c.ty);
                            let rows = Arc::make_mut(&mut existing.rows);
                            for row in rows.iter_mut() {
                                row.push(empty.clone());
                            }
                        }
                    }
                }
                Ok(existing.columns.clone())
            }
            Some(existing) if existing.columns == columns => Ok(existing.columns.clone()),
            Some(_) => Err(StoreError::TableExists(table.to_string())),
        })
    }

    /// Drops a table. Dropping a missing table fails unless `if_exists`.
    pub fn drop_table(&self, db: &str, table: &str, if_exists: bool) -> Result<(), StoreError> {
        self.with_db_mut(db, |database| {
            if database.tables.remove(table).is_none() && !if_exists {
                return Err(StoreError::TableNotFound {
                    database: database.name.clone(),
                    table: table.to_string(),
                });
            }
            Ok(())
        })
    }

    /// Names of the tables of a database, sorted.
    pub fn table_names(&self, db: &str) -> Result<Vec<String>, StoreError> {
        self.with_db(db, |d| Ok(d.tables.keys().cloned().collect()))
    }

    /// The columns of a table.
    pub fn table_schema(&self, db: &str, table: &str) -> Result<Vec<Column>, StoreError> {
        self.snapshot(db, table).map(|s| s.columns)
    }

    /// A snapshot of a table (columns and rows) for reading.
    pub fn snapshot(&self, db: &str, table: &str) -> Result<TableSnapshot, StoreError> {
        self.with_db(db, |d| {
            d.tables
                .get(table)
                .map(|t| TableSnapshot {
                    name: t.name.clone(),
                    columns: t.columns.clone(),
                    rows: Arc::clone(&t.rows),
                })
                .ok_or_else(|| StoreError::TableNotFound {
                    database: d.name.clone(),
                    table: table.to_string(),
                })
        })
    }

    /// A snapshot of a table and the ingestion time of each of its rows (the `ingested_on` of
    /// the row's extent), taken under one lock.
    pub fn snapshot_with_ingestion_times(
        &self,
        db: &str,
        table: &str,
    ) -> Result<(TableSnapshot, Vec<i64>), StoreError> {
        self.with_db(db, |d| {
            let t = d
                .tables
                .get(table)
                .ok_or_else(|| StoreError::TableNotFound {
                    database: d.name.clone(),
                    table: table.to_string(),
                })?;
            let mut times = Vec::with_capacity(t.rows.len());
            for extent in &t.extents {
                times.extend(std::iter::repeat_n(extent.ingested_on, extent.row_count));
            }
            times.resize(t.rows.len(), 0);
            let snapshot = TableSnapshot {
                name: t.name.clone(),
                columns: t.columns.clone(),
                rows: Arc::clone(&t.rows),
            };
            Ok((snapshot, times))
        })
    }

    /// Appends rows (each with one value per column, in column order) atomically as one new
    /// untagged extent: either every row is appended or none. Returns the number of rows appended.
    pub fn append_rows(&self, db: &str, table: &str, rows: Vec<Row>) -> Result<usize, StoreError> {
        match self.append_extent(db, table, rows, &ExtentOptions::default())? {
            AppendOutcome::Appended { rows, .. } => Ok(rows),
            AppendOutcome::Skipped { .. } => Ok(0),
        }
    }

    /// Appends rows atomically as one new extent with tags and a creation time, unless
    /// `ingest_if_not_exists` finds an extent with a matching `ingest-by:` tag (checked under the
    /// same lock as the append, so two concurrent ingestions with one tag append once).
    pub fn append_extent(
        &self,
        db: &str,
        table: &str,
        rows: Vec<Row>,
        options: &ExtentOptions,
    ) -> Result<AppendOutcome, StoreError> {
        self.with_table_mut(db, table, |t| {
            if let Some(bad) = rows.iter().find(|r| r.len() != t.columns.len()) {
                return Err(StoreError::RowWidth {
                    table: t.name.clone(),
                    expected: t.columns.len(),
                    actual: bad.len(),
                });
            }
            for value in &options.ingest_if_not_exists {
                let tag = format!("ingest-by:{value}");
                if t.extents.iter().any(|e| e.tags.contains(&tag)) {
                    return Ok(AppendOutcome::Skipped { tag });
                }
            }
            let count = rows.len();
            let extent_id = Uuid::new_v4();
            let now = crate::time::now_ticks();
            if count > 0 {
                Arc::make_mut(&mut t.rows).extend(rows);
                t.extents.push(Extent {
                    id: extent_id,
                    row_count: count,
                    tags: options.tags.clone(),
                    created_on: options.created_on.unwrap_or(now),
                    ingested_on: now,
                });
            }
            Ok(AppendOutcome::Appended {
                rows: count,
                extent_id,
            })
        })
    }

    /// The extents of a table, oldest first.
    pub fn extents(&self, db: &str, table: &str) -> Result<Vec<Extent>, StoreError> {
        self.with_db(db, |d| {
            d.tables
                .get(table)
                .map(|t| t.extents.clone())
                .ok_or_else(|| StoreError::TableNotFound {
                    database: d.name.clone(),
                    table: table.to_string(),
                })
        })
    }

    /// Drops the extents of a table that `select` chooses, with their rows. Returns the dropped
    /// extents.
    pub fn drop_extents(
        &self,
        db: &str,
        table: &str,
        select: impl Fn(&Extent) -> bool,
    ) -> Result<Vec<Extent>, StoreError> {
        self.with_table_mut(db, table, |t| {
            if !t.extents.iter().any(&select) {
                return Ok(Vec::new());
            }
            let mut kept_rows = Vec::with_capacity(t.rows.len());
            let mut kept = Vec::new();
            let mut dropped = Vec::new();
            let mut start = 0;
            for extent in t.extents.drain(..) {
                let end = (start + extent.row_count).min(t.rows.len());
                if select(&extent) {
                    dropped.push(extent);
                } else {
                    kept_rows.extend_from_slice(&t.rows[start..end]);
                    kept.push(extent);
                }
                start = end;
            }
            t.extents = kept;
            t.rows = Arc::new(kept_rows);
            Ok(dropped)
        })
    }

    /// Removes every row of a table (`.clear table T data`); returns how many were removed.
    pub fn clear_table(&self, db: &str, table: &str) -> Result<usize, StoreError> {
        self.with_table_mut(db, table, |t| {
            let count = t.rows.len();
            t.rows = Arc::new(Vec::new());
            t.extents.clear();
            Ok(count)
        })
    }

    /// Creates or replaces an ingestion mapping of a table.
    pub(crate) fn create_mapping(
        &self,
        db: &str,
        table: &str,
        mapping: IngestionMapping,
    ) -> Result<(), StoreError> {
        self.with_table_mut(db, table, |t| {
            t.mappings
                .retain(|m| !(m.name == mapping.name && m.kind == mapping.kind));
            t.mappings.push(mapping);
            Ok(())
        })
    }

    /// The ingestion mappings of a table, optionally of one kind.
    pub(crate) fn mappings(
        &self,
        db: &str,
        table: &str,
        kind: Option<MappingKind>,
    ) -> Result<Vec<IngestionMapping>, StoreError> {
        self.with_db(db, |d| {
            let t = d
                .tables
                .get(table)
                .ok_or_else(|| StoreError::TableNotFound {
                    database: d.name.clone(),
                    table: table.to_string(),
                })?;
            Ok(t.mappings
                .iter()
                .filter(|m| kind.is_none_or(|k| m.kind == k))
                .cloned()
                .collect())
        })
    }

    /// Finds a mapping by name (and kind, when given).
    pub(crate) fn find_mapping(
        &self,
        db: &str,
        table: &str,
        name: &str,
        kind: Option<MappingKind>,
    ) -> Result<Option<IngestionMapping>, StoreError> {
        Ok(self
            .mappings(db, table, kind)?
            .into_iter()
            .find(|m| m.name == name))
    }

    /// Drops a mapping; `false` if there was none.
    pub(crate) fn drop_mapping(
        &self,
        db: &str,
        table: &str,
        name: &str,
        kind: MappingKind,
    ) -> Result<bool, StoreError> {
        self.with_table_mut(db, table, |t| {
            let before = t.mappings.len();
            t.mappings.retain(|m| !(m.name == name && m.kind == kind));
            Ok(t.mappings.len() != before)
        })
    }

    /// Sets (or with `None` removes) the streaming-ingestion policy of a table.
    pub fn set_table_streaming_policy(
        &self,
        db: &str,
        table: &str,
        enabled: Option<bool>,
    ) -> Result<(), StoreError> {
        self.with_table_mut(db, table, |t| {
            t.streaming_policy = enabled;
            Ok(())
        })
    }

    /// Sets (or with `None` removes) the streaming-ingestion policy of a database.
    pub fn set_database_streaming_policy(
        &self,
        db: &str,
        enabled: Option<bool>,
    ) -> Result<(), StoreError> {
        self.with_db_mut(db, |d| {
            d.streaming_policy = enabled;
            Ok(())
        })
    }

    /// The policies set on a table and on its database (`None` = not set).
    pub fn streaming_policies(
        &self,
        db: &str,
        table: &str,
    ) -> Result<(Option<bool>, Option<bool>), StoreError> {
        self.with_db(db, |d| {
            let t = d
                .tables
                .get(table)
                .ok_or_else(|| StoreError::TableNotFound {
                    database: d.name.clone(),
                    table: table.to_string(),
                })?;
            Ok((t.streaming_policy, d.streaming_policy))
        })
    }

    /// The policy set on a database (`None` = not set).
    pub fn database_streaming_policy(&self, db: &str) -> Result<Option<bool>, StoreError> {
        self.with_db(db, |d| Ok(d.streaming_policy))
    }

    /// Records an ingestion failure (shown by `.show ingestion failures`).
    pub fn record_ingestion_failure(&self, failure: IngestionFailure) {
        self.write().failures.push(failure);
    }

    /// Every recorded ingestion failure, oldest first.
    pub fn ingestion_failures(&self) -> Vec<IngestionFailure> {
        self.read().failures.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_rows_and_merge() {
        let store = Store::new();
        assert_eq!(store.ensure_database("Emu").unwrap(), "Emu");
        assert_eq!(store.ensure_database("emu").unwrap(), "Emu");
        let cols = vec![Column::new("a", KustoType::Long)];
        store.create_table("EMU", "T", &cols, false).unwrap();
        assert_eq!(
            store
                .append_rows("emu", "T", vec![vec![Value::Long(1)]])
                .unwrap(),
            1
        );
        let err = store.append_rows("emu", "T", vec![vec![]]).unwrap_err();
        assert!(matches!(
            err,
            StoreError::RowWidth {
                expected: 1,
                actual: 0,
                ..
            }
        ));
        let merged = store
            .create_table("Emu", "T", &[Column::new("b", KustoType::String)], true)
            .unwrap();
        assert_eq!(merged.len(), 2);
        let snap = store.snapshot("Emu", "T").unwrap();
        assert_eq!(
            snap.rows[0],
            vec![Value::Long(1), Value::String(String::new())]
        );
        assert!(matches!(
            store.create_table("Emu", "T", &[Column::new("a", KustoType::Int)], true),
            Err(StoreError::ColumnTypeConflict { .. })
        ));
        assert!(matches!(
            store.snapshot("Emu", "t"),
            Err(StoreError::TableNotFound { .. })
        ));
        assert!(matches!(
            store.snapshot("Nope", "T"),
            Err(StoreError::DatabaseNotFound(_))
        ));
        assert_eq!(store.clear_table("Emu", "T").unwrap(), 1);
        store.drop_table("Emu", "T", false).unwrap();
        assert!(store.drop_table("Emu", "T", false).is_err());
        store.drop_table("Emu", "T", true).unwrap();
    }

    #[test]
    fn ingestion_times_follow_the_extents_not_their_creation_time() {
        let store = Store::new();
        store.ensure_database("Emu").unwrap();
        store
            .create_table("Emu", "T", &[Column::new("a", KustoType::Long)], false)
            .unwrap();
        let before = crate::time::now_ticks();
        let options = ExtentOptions {
            created_on: Some(1),
            ..ExtentOptions::default()
        };
        let rows = |n: i64| (0..n).map(|i| vec![Value::Long(i)]).collect();
        store.append_extent("Emu", "T", rows(2), &options).unwrap();
        store.append_rows("Emu", "T", rows(1)).unwrap();
        let extents = store.extents("Emu", "T").unwrap();
        assert_eq!(
            extents[0].created_on, 1,
            "creationTime sets the creation time"
        );
        assert!(
            extents[0].ingested_on >= before,
            "but not the ingestion time"
        );
        assert_eq!(extents[1].created_on, extents[1].ingested_on);
        let (snapshot, times) = store.snapshot_with_ingestion_times("Emu", "T").unwrap();
        assert_eq!(snapshot.rows.len(), 3);
        assert_eq!(
            times,
            [
                extents[0].ingested_on,
                extents[0].ingested_on,
                extents[1].ingested_on
            ]
        );
        store
            .drop_extents("Emu", "T", |e| e.id == extents[0].id)
            .unwrap();
        let (_, times) = store.snapshot_with_ingestion_times("Emu", "T").unwrap();
        assert_eq!(times, [extents[1].ingested_on]);
    }

    #[test]
    fn extents_tags_and_ingest_if_not_exists() {
        let store = Store::new();
        store.ensure_database("Emu").unwrap();
        store
            .create_table("Emu", "T", &[Column::new("a", KustoType::Long)], false)
            .unwrap();
        let rows = |values: &[i64]| values.iter().map(|v| vec![Value::Long(*v)]).collect();
        let tagged = ExtentOptions {
            tags: vec!["drop-by:old".into(), "ingest-by:batch1".into()],
            created_on: Some(42),
            ingest_if_not_exists: vec!["batch1".into()],
        };
        assert!(matches!(
            store
                .append_extent("Emu", "T", rows(&[1, 2]), &tagged)
                .unwrap(),
            AppendOutcome::Appended { rows: 2, .. }
        ));
        // The same ingest-by value again: skipped, nothing appended.
        assert_eq!(
            store
                .append_extent("Emu", "T", rows(&[9]), &tagged)
                .unwrap(),
            AppendOutcome::Skipped {
                tag: "ingest-by:batch1".into()
            }
        );
        store.append_rows("Emu", "T", rows(&[3])).unwrap();
        let extents = store.extents("Emu", "T").unwrap();
        assert_eq!(extents.len(), 2);
        assert_eq!(extents[0].created_on, 42);
        assert_eq!(extents[0].row_count, 2);
        assert!(extents[1].tags.is_empty());
        // Dropping by tag removes exactly that extent's rows.
        let dropped = store
            .drop_extents("Emu", "T", |e| e.tags.iter().any(|t| t == "drop-by:old"))
            .unwrap();
        assert_eq!(dropped.len(), 1);
        assert_eq!(
            *store.snapshot("Emu", "T").unwrap().rows,
            vec![vec![Value::Long(3)]]
        );
        assert_eq!(store.extents("Emu", "T").unwrap().len(), 1);
        // Empty appends add no extent.
        store.append_rows("Emu", "T", Vec::new()).unwrap();
        assert_eq!(store.extents("Emu", "T").unwrap().len(), 1);
        store.clear_table("Emu", "T").unwrap();
        assert!(store.extents("Emu", "T").unwrap().is_empty());
    }

    #[test]
    fn entity_names() {
        assert!(is_valid_entity_name("My Table-1.x"));
        assert!(!is_valid_entity_name(""));
        assert!(!is_valid_entity_name("a;b"));
        assert!(!is_valid_entity_name("   "));
    }
}
