//! The model's enums as run log columns: written as their text, read back
//! from it. A value this version does not know (a newer Sluice wrote it,
//! or someone edited the database) is an error naming the value, not a
//! panic.

use std::fmt::Display;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{Category, Disposition, DlqStatus, Resolution, Stage};

/// A column value this version cannot read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UnknownValue(String);

fn parse<T: FromStr<Err = String>>(value: ValueRef<'_>) -> FromSqlResult<T> {
    value
        .as_str()?
        .parse()
        .map_err(|e| FromSqlError::Other(Box::new(UnknownValue(e))))
}

fn text<T: Display>(value: &T) -> ToSqlOutput<'static> {
    ToSqlOutput::from(value.to_string())
}

macro_rules! text_column {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                parse(value)
            }
        }

        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(text(self))
            }
        }
    )*};
}

text_column!(DlqStatus, Disposition, Resolution, Stage, Category);
