//! Amazon settlement reports to balanced accounting postings.
//!
//! `settlement-mapper` reads the flat-file settlement report Amazon publishes for every disbursement
//! (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`, and the legacy V1 flat file) and turns it into
//! neutral accounting postings: a customer receipt per order, balanced journal entries for fees,
//! refunds, reimbursements, reserves and every other charge, and the deposit — so the bank deposit
//! ties out to the cent. It does no I/O beyond the bytes it is given: no network, no clock, no
//! database; the same input always gives the same output.
//!
//! Layout:
//! - [`amount`] / [`date`]: exact, locale-aware cell parsers that refuse to guess.
//! - [`reader`]: the streaming reader (header by name, summary row, V1 rows converted to V2 rows).
//! - [`mapping`]: the mapping table (TOML, with a shipped default) and its policies.
//! - [`mapper`]: folds rows into [`postings`], the output model.
//! - [`synth`]: a generator of realistic settlement files for tests and benchmarks.
//!
//! ```no_run
//! use settlement_mapper::{MappingTable, map_settlement};
//!
//! let file = std::io::BufReader::new(std::fs::File::open("settlement.txt")?);
//! let postings = map_settlement(file, &MappingTable::default_table())?;
//! assert!(postings.ties_out);
//! for je in &postings.journal_entries {
//!     assert!(je.is_balanced());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod amount;
pub mod date;
pub mod error;
pub mod mapper;
pub mod mapping;
pub mod postings;
pub mod reader;
pub mod synth;

pub use error::{ReadError, ReadErrorKind};
pub use mapper::map_settlement;
pub use mapping::{MappingError, MappingTable, PostingDate, UnmappedPolicy};
pub use postings::{SettlementPostings, Status};
pub use reader::{Layout, SettlementReader, SettlementRow, Summary};
