//! One Parquet object from OCSF events of one class: the class's fixed schema, rows sorted by
//! `time`, ZSTD, 1 MiB data pages and row groups well under Security Lake's 256 MB (its
//! custom-source guidance).

use super::schema::class_schema;
use arrow_json::ReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use thiserror::Error;

pub use crate::limits::LAKE_DATA_PAGE_BYTES as DATA_PAGE_BYTES;
use crate::limits::LAKE_DECODE_BATCH_ROWS as DECODE_BATCH_ROWS;
pub use crate::limits::LAKE_ROW_GROUP_ROWS as ROW_GROUP_ROWS;

#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("class {0} has no Parquet schema")]
    UnknownClass(u32),
    #[error("an OCSF event does not fit its class's schema: {0}")]
    Schema(String),
}

impl EncodeError {
    /// The same events give the same failure: the relay's mapping or schema is at fault.
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Permanent
    }

    pub fn fault(&self) -> crate::Fault {
        crate::Fault::Relay
    }
}

/// Encodes events (each one line of lake JSON, see `LakeEvent`) of class `class_uid`, already
/// in `time` order, as one Parquet file.
pub fn encode(class_uid: u32, lines: &[&str]) -> Result<Vec<u8>, EncodeError> {
    let schema = class_schema(class_uid).ok_or(EncodeError::UnknownClass(class_uid))?;
    let schema_err = |e: &dyn std::fmt::Display| EncodeError::Schema(e.to_string());
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(DECODE_BATCH_ROWS)
        .build_decoder()
        .map_err(|e| schema_err(&e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer =
        ArrowWriter::try_new(Vec::new(), schema, Some(props)).map_err(|e| schema_err(&e))?;
    for chunk in lines.chunks(DECODE_BATCH_ROWS) {
        for line in chunk {
            decoder
                .decode(line.as_bytes())
                .map_err(|e| schema_err(&e))?;
        }
        if let Some(batch) = decoder.flush().map_err(|e| schema_err(&e))? {
            writer.write(&batch).map_err(|e| schema_err(&e))?;
        }
    }
    writer.into_inner().map_err(|e| schema_err(&e))
}
