//! The sandbox's state on disk ([`SandboxConfig::state_file`]), so that a restarted sandbox is the
//! same fake SAP and fake Amazon.
//!
//! The world is not stored: it is regenerated from seed, order count and anchor (plus the orders
//! added since), which `World::generate` makes deterministic; a fingerprint catches a generator
//! that changed in between. Stored: the SAP database with its numbering (user tables, their fields
//! and rows are ordinary sets in it; a file without them restores none), the Amazon side (catalog,
//! pending listing changes, feeds and their documents, created reports, LWA access tokens, a
//! revoked refresh token), the sandbox time and the id counter. Not stored: SAP sessions, token
//! buckets, faults.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::amazon::SavedAmazon;
use crate::sap::store::{SapDb, SavedDb};
use crate::world::{World, WorldKind, sap_seed};
use crate::{SandboxConfig, SandboxError, Shared};

/// Version of the file layout; a file of another version is refused, not half-read. Format 2
/// added the world kind (format 1 files hold EU worlds of an earlier generator).
const FORMAT: u32 = 2;

/// Orders added with `Sandbox::add_orders`, replayed on the regenerated world.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct OrderAddition {
    pub(crate) count: usize,
    pub(crate) now: DateTime<Utc>,
    pub(crate) salt: u64,
}

#[derive(Debug, Deserialize)]
struct Header {
    format: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    format: u32,
    /// `na` / `eu`.
    world: String,
    seed: u64,
    orders: usize,
    anchor: DateTime<Utc>,
    order_additions: Vec<OrderAddition>,
    world_fingerprint: String,
    /// How many times the state was restored: seeds session ids and tokens so that a restarted
    /// sandbox does not hand out those of an earlier run again.
    generation: u64,
    now: DateTime<Utc>,
    counter: u64,
    sap: SavedDb,
    amazon: SavedAmazon,
}

/// What a sandbox starts from: a fresh world or a restored state.
#[derive(Debug)]
pub(crate) struct Initial {
    pub(crate) world: World,
    pub(crate) order_additions: Vec<OrderAddition>,
    pub(crate) generation: u64,
    pub(crate) now: DateTime<Utc>,
    pub(crate) counter: u64,
    pub(crate) sap: SapDb,
    pub(crate) amazon: Option<SavedAmazon>,
}

impl Initial {
    /// A newly generated world and its SAP company.
    pub(crate) fn fresh(config: &SandboxConfig) -> Self {
        let now = config.start_time.unwrap_or_else(Utc::now);
        let world = World::generate(config.world, config.seed, config.orders, now);
        Self {
            sap: sap_seed::seed(&world),
            world,
            order_additions: Vec::new(),
            generation: 0,
            now,
            counter: 1,
            amazon: None,
        }
    }

    /// Whether this is a restored state.
    pub(crate) fn is_restored(&self) -> bool {
        self.amazon.is_some()
    }
}

fn io_error(path: &Path, source: io::Error) -> SandboxError {
    SandboxError::StateIo {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the state file at `path` (`None` if there is none yet) and regenerates its world.
pub(crate) fn load(path: &Path, config: &SandboxConfig) -> Result<Option<Initial>, SandboxError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error(path, source)),
    };
    let corrupt = |message: String| SandboxError::StateCorrupt {
        path: path.to_path_buf(),
        message,
    };
    let header: Header = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if header.format != FORMAT {
        return Err(corrupt(format!(
            "format {} (this sandbox reads format {FORMAT})",
            header.format
        )));
    }
    let file: StateFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let file_world: WorldKind = file.world.parse().map_err(corrupt)?;
    if file_world != config.world || file.seed != config.seed || file.orders != config.orders {
        return Err(SandboxError::StateMismatch {
            path: path.to_path_buf(),
            file_world,
            world: config.world,
            file_seed: file.seed,
            file_orders: file.orders,
            seed: config.seed,
            orders: config.orders,
        });
    }
    let mut world = World::generate(file_world, file.seed, file.orders, file.anchor);
    for a in &file.order_additions {
        world.add_orders(a.count, a.now, a.salt);
    }
    if fingerprint(&world) != file.world_fingerprint {
        return Err(corrupt(format!(
            "the world regenerated from seed {} differs from the saved one (was the generator changed?)",
            file.seed
        )));
    }
    // Time passes while the sandbox is stopped, as it does for the real systems; with a fixed
    // start time the clock goes on where it stopped, so tests stay reproducible.
    let now = match config.start_time {
        None => file.now.max(Utc::now()),
        Some(_) => file.now,
    };
    Ok(Some(Initial {
        world,
        order_additions: file.order_additions,
        generation: file.generation + 1,
        now,
        counter: file.counter,
        sap: SapDb::from_saved(file.sap).map_err(corrupt)?,
        amazon: Some(file.amazon),
    }))
}

/// Writes the state of `shared` to `path` atomically: a temporary file next to it, synced, then
/// renamed over it.
pub(crate) fn save(shared: &Shared, path: &Path) -> Result<(), SandboxError> {
    let state = capture(shared);
    let bytes = serde_json::to_vec(&state).map_err(|e| io_error(path, e.into()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_error(path, e))?;
    }
    let tmp = tmp_path(path);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(&bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn capture(shared: &Shared) -> StateFile {
    // The world and the additions that made it change together under the world lock.
    let (anchor, order_additions, world_fingerprint) = {
        let world = shared.world.read().expect("world lock");
        let additions = shared.order_additions.lock().expect("additions").clone();
        (world.anchor, additions, fingerprint(&world))
    };
    StateFile {
        format: FORMAT,
        world: shared.config.world.code().to_string(),
        seed: shared.config.seed,
        orders: shared.config.orders,
        anchor,
        order_additions,
        world_fingerprint,
        generation: shared.generation,
        now: shared.clock.now(),
        counter: shared.counter.load(std::sync::atomic::Ordering::Relaxed),
        sap: shared.sap.db.lock().expect("db").to_saved(),
        amazon: shared.amazon.to_saved(),
    }
}

/// A short digest of what identifies a world: seller, catalog, orders and settlements.
fn fingerprint(world: &World) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut feed = |s: &str| {
        for b in s.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    };
    feed(world.kind.code());
    feed(&world.seller_id);
    for p in &world.catalog {
        feed(&p.sku);
        feed(&p.asin);
        for price in &p.prices {
            feed(&price.to_string());
        }
    }
    for o in &world.orders {
        feed(&o.id);
        feed(&o.purchased.to_rfc3339());
        feed(&o.total().to_string());
    }
    for s in &world.settlements {
        feed(&s.id);
    }
    format!("{}:{h:016x}", world.orders.len())
}

/// Serde for document bytes: text as a string, anything else (gzip) as hex.
pub(crate) mod bytes {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Blob {
        Text(String),
        Hex(String),
    }

    /// Serializes `Option<Vec<u8>>`.
    pub(crate) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref()
            .map(|b| match std::str::from_utf8(b) {
                Ok(t) => Blob::Text(t.to_string()),
                Err(_) => Blob::Hex(b.iter().map(|x| format!("{x:02x}")).collect()),
            })
            .serialize(s)
    }

    /// Deserializes `Option<Vec<u8>>`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<Blob>::deserialize(d)?
            .map(|b| match b {
                Blob::Text(t) => Ok(t.into_bytes()),
                Blob::Hex(h) => (0..h.len())
                    .step_by(2)
                    .map(|i| {
                        h.get(i..i + 2)
                            .and_then(|x| u8::from_str_radix(x, 16).ok())
                            .ok_or_else(|| D::Error::custom("invalid hex in document bytes"))
                    })
                    .collect(),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_world_is_a_function_of_seed_size_and_anchor() {
        let anchor = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let a = World::generate(WorldKind::Na, 9, 300, anchor);
        let b = World::generate(WorldKind::Na, 9, 300, anchor);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&World::generate(WorldKind::Na, 10, 300, anchor))
        );
        assert_ne!(
            fingerprint(&a),
            fingerprint(&World::generate(WorldKind::Eu, 9, 300, anchor))
        );
        let mut a = a;
        let mut b = b;
        a.add_orders(5, anchor, 77);
        b.add_orders(5, anchor, 77);
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn document_bytes_round_trip_as_text_or_hex() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct D {
            #[serde(with = "super::bytes")]
            data: Option<Vec<u8>>,
        }
        for data in [
            None,
            Some(b"{\"a\":1}".to_vec()),
            Some(vec![0x1f, 0x8b, 0, 255]),
        ] {
            let d = D { data };
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<D>(&json).unwrap(), d);
        }
    }
}
