//! Faithful offline fakes of the SAP Business One Service Layer and of Amazon SP-API + LWA, served
//! over real HTTP (axum) on loopback, backed by a seeded world.
//!
//! The fakes behave like the real systems as documented in the project's reference notes, not like
//! our clients expect: cookies and idle expiry (401 / code 301), v1 vs v2 JSON, SAP-style
//! validation errors, OData paging with nextLink, `$batch` changesets that roll back, LWA tokens
//! that expire, per-operation token buckets with Amazon's published rates (scaled by a time
//! knob), gzip report documents, settlements in V2 flat-file format with
//! each region's quirks.
//!
//! Layout:
//! - [`sap`]: Service Layer (`session`, `odata`, `batch`, `entities`, `documents`, `user_tables`,
//!   `validation`, `wire`, generated property sets from the real `$metadata`).
//! - [`amazon`]: LWA and SP-API (`lwa`, `ratelimit`, `orders`, `reports`, `listings`, `feeds`, `finances`, `sellers`).
//! - [`world`]: the seeded generator of two worlds, a US seller (`na`) and a UK seller (`eu`):
//!   marketplaces and tax, catalog, orders, settlements, exchange rates, the matching SAP company.
//! - [`faults`]: fault injection; [`inspect`]: the inspection API; [`serve`]: `sandbox serve`.
//! - `state_file`: the state kept on disk across restarts ([`SandboxConfig::state_file`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandbox::SandboxError> {
//! let sb = sandbox::Sandbox::start(sandbox::SandboxConfig { orders: 50, ..Default::default() }).await?;
//! println!("SAP at {}, SP-API at {}", sb.sap_base_url(), sb.sp_api_base_url());
//! sb.shutdown().await;
//! # Ok(()) }
//! ```

// Handlers return finished HTTP responses as their error type; boxing them buys nothing here.
#![allow(clippy::result_large_err)]

pub mod amazon;
pub mod capture;
pub mod clock;
pub mod faults;
pub mod inspect;
pub mod net;
pub mod sap;
pub mod serve;
mod state_file;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use clock::Clock;
use faults::Faults;
use net::KillableListener;
use state_file::{Initial, OrderAddition};
use world::World;

/// Demo credentials both fakes accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// SAP `CompanyDB`.
    pub sap_company_db: String,
    /// SAP `UserName`.
    pub sap_user: String,
    /// SAP `Password`.
    pub sap_password: String,
    /// LWA client id.
    pub lwa_client_id: String,
    /// LWA client secret.
    pub lwa_client_secret: String,
    /// LWA refresh token.
    pub lwa_refresh_token: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            sap_company_db: "SBODEMO_SANDBOX".into(),
            sap_user: "manager".into(),
            sap_password: "sandbox".into(),
            lwa_client_id: "amzn1.application-oa2-client.sandbox0000000000000000000000".into(),
            lwa_client_secret: "amzn1.oa2-cs.v1.sandboxsecret00000000000000000000000000000000"
                .into(),
            lwa_refresh_token: "Atzr|IwEBISandboxRefreshToken0000000000000000000000000000".into(),
        }
    }
}

/// How long an ACCEPTED listing change takes to show, in Amazon's time. That it takes a while is
/// documented: "Accepted does not mean the process is complete. Multiple downstream processes
/// create the item in the Amazon catalog" (Amazon, "Manage Listings Issues",
/// https://developer-docs.amazon.com/sp-api/docs/manage-listings-issues; the model's
/// `ACCEPTED` is "accepted for processing").
// INVENTED: the length. Amazon publishes no figure (its notes say "minutes later"); two
// minutes makes the asynchrony visible to a client that reads back at once.
pub const LISTING_APPLY_DELAY: chrono::Duration = chrono::Duration::minutes(2);

/// How to start the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Which seller the world is: a US company on Amazon.com/.ca/.com.mx (`Na`, the default) or
    /// a UK company on Amazon.co.uk/.de/.fr (`Eu`).
    pub world: world::WorldKind,
    /// World seed.
    pub seed: u64,
    /// Number of orders in the world.
    pub orders: usize,
    /// First port (Service Layer); SP-API uses the next one. 0 = ephemeral ports.
    pub port: u16,
    /// Multiplies Amazon's refill rates (1 = Amazon's real numbers).
    pub time_scale: f64,
    /// Service Layer idle timeout (`SessionTimeout`, default 30 min).
    pub sap_session_timeout: chrono::Duration,
    /// Latency added to every Service Layer request (inside the per-session queue).
    pub sap_latency: Duration,
    /// Latency added to every SP-API request.
    pub sp_api_latency: Duration,
    /// The Service Layer's load balancer closes connections idle this long (Apache
    /// `Keep-Alive: timeout=5`); `None` keeps them open.
    pub sap_keep_alive: Option<Duration>,
    /// Service Layer default page size (b1s.conf `PageSize`, default 20).
    pub sap_page_size: usize,
    /// Which Service Layer release the fake plays (property sets of `/b1s/v1` and `/b1s/v2`):
    /// FP 22xx (default) or the 9.3 era, whose `Document` has no `PaidToDate`.
    pub sap_profile: sap::schema::SapProfile,
    /// Sandbox time at start (default: now). The world's history ends here.
    pub start_time: Option<DateTime<Utc>>,
    /// Charset announced on report documents.
    pub report_charset: String,
    /// How long ACCEPTED listing submissions take to show in the catalog, in Amazon's time: the
    /// sandbox divides it by `time_scale` like the refill rates (default
    /// [`LISTING_APPLY_DELAY`]; zero applies them at once).
    pub listing_apply_delay: chrono::Duration,
    /// Credentials.
    pub credentials: Credentials,
    /// Where the sandbox keeps its state across restarts (`None` = in memory only). An existing
    /// file is restored on start (same world, SAP database, Amazon catalog, feeds and reports;
    /// `start_time` is then ignored); [`Sandbox::save`] and [`Sandbox::close`] write it.
    pub state_file: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            world: world::WorldKind::default(),
            seed: 1,
            orders: 200,
            port: 0,
            time_scale: 1.0,
            sap_session_timeout: chrono::Duration::minutes(30),
            sap_latency: Duration::ZERO,
            sp_api_latency: Duration::ZERO,
            sap_page_size: 20,
            sap_profile: sap::schema::SapProfile::default(),
            sap_keep_alive: Some(Duration::from_secs(5)),
            start_time: None,
            report_charset: "UTF-8".into(),
            listing_apply_delay: LISTING_APPLY_DELAY,
            credentials: Credentials::default(),
            state_file: None,
        }
    }
}

/// Errors starting the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A port could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The state file could not be read or written.
    #[error("sandbox state file {}: {source}", path.display())]
    StateIo {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The state file is not one this sandbox can restore.
    #[error("sandbox state file {} cannot be restored: {message}", path.display())]
    StateCorrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The state file holds a sandbox with another world than the one configured.
    #[error(
        "{} holds a sandbox of seed {file_seed} with {file_orders} orders in the {file_world} world, \
         not seed {seed} with {orders} orders in the {world} world; start it with --world \
         {file_world}, seed {file_seed} and {file_orders} orders, or use another state file",
        path.display()
    )]
    StateMismatch {
        /// The state file.
        path: PathBuf,
        /// World in the file.
        file_world: world::WorldKind,
        /// World configured.
        world: world::WorldKind,
        /// Seed in the file.
        file_seed: u64,
        /// Order count in the file.
        file_orders: usize,
        /// Seed configured.
        seed: u64,
        /// Order count configured.
        orders: usize,
    },
    /// What the embedding program does once the sandbox runs (writing a workspace) failed.
    #[error("{0}")]
    Setup(String),
}

/// State shared by both fakes.
#[derive(Debug)]
pub struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) clock: Clock,
    pub(crate) faults: Faults,
    pub(crate) sap: sap::SapState,
    pub(crate) amazon: amazon::AmazonState,
    pub(crate) world: RwLock<Arc<World>>,
    /// `add_orders` calls so far, to regenerate the world on restore.
    pub(crate) order_additions: Mutex<Vec<OrderAddition>>,
    /// Restores so far (0 = a fresh world).
    pub(crate) generation: u64,
    sap_origin: OnceLock<String>,
    amazon_origin: OnceLock<String>,
    pub(crate) counter: AtomicU64,
    /// Requests received, per SP-API operation and Service Layer resource.
    pub(crate) requests: inspect::RequestCounts,
    pub(crate) rng: Mutex<rand::rngs::StdRng>,
    /// Service Layer writes kept for tests (see [`Sandbox::capture_sap_writes`]).
    pub(crate) capture: capture::SapCapture,
}

impl Shared {
    pub(crate) fn sap_origin(&self) -> &str {
        self.sap_origin.get().map_or("", String::as_str)
    }

    pub(crate) fn amazon_origin(&self) -> &str {
        self.amazon_origin.get().map_or("", String::as_str)
    }

    pub(crate) fn next_counter(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn world(&self) -> Arc<World> {
        self.world.read().expect("world lock").clone()
    }

    pub(crate) fn sap_login(&self) -> sap::session::Login {
        let c = &self.config.credentials;
        sap::session::Login {
            company_db: c.sap_company_db.clone(),
            user: c.sap_user.clone(),
            password: c.sap_password.clone(),
        }
    }
}

/// A running sandbox: both fakes, their URLs, credentials and the inspection / fault API.
#[derive(Debug)]
pub struct Sandbox {
    pub(crate) shared: Arc<Shared>,
    sap_addr: SocketAddr,
    amazon_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    restored: bool,
    saving: Mutex<()>,
}

async fn bind(port: u16) -> Result<TcpListener, SandboxError> {
    let addr = format!("127.0.0.1:{port}");
    TcpListener::bind(&addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })
}

fn spawn(
    listener: TcpListener,
    idle: Option<Duration>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<net::Conn>();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(KillableListener::new(listener, idle), app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    })
}

impl Sandbox {
    /// Generates the world (or restores it from [`SandboxConfig::state_file`]) and starts both
    /// fakes on loopback.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        use rand::SeedableRng;
        let initial = match &config.state_file {
            Some(path) => state_file::load(path, &config)?,
            None => None,
        }
        .unwrap_or_else(|| Initial::fresh(&config));
        let restored = initial.is_restored();
        // Seeds differ per restore, so a restarted sandbox never reissues an earlier session id
        // or token.
        let rng_seed = config.seed ^ initial.generation.rotate_left(32);
        let world = Arc::new(initial.world);
        let sap_listener = bind(config.port).await?;
        let amazon_listener = bind(if config.port == 0 {
            0
        } else {
            config.port.saturating_add(1)
        })
        .await?;
        let sap_addr = sap_listener
            .local_addr()
            .map_err(|source| SandboxError::Bind {
                addr: "sap".into(),
                source,
            })?;
        let amazon_addr = amazon_listener
            .local_addr()
            .map_err(|source| SandboxError::Bind {
                addr: "amazon".into(),
                source,
            })?;
        let amazon = amazon::AmazonState::new(&config, &world);
        if let Some(saved) = initial.amazon {
            amazon.restore(saved);
        }
        let shared = Arc::new(Shared {
            clock: Clock::starting_at(initial.now),
            faults: Faults::new(config.seed),
            sap: sap::SapState {
                db: Mutex::new(initial.sap),
                sessions: sap::session::Sessions::new(rng_seed, config.sap_session_timeout),
                latency: config.sap_latency,
                page_size: config.sap_page_size,
            },
            amazon,
            world: RwLock::new(world),
            order_additions: Mutex::new(initial.order_additions),
            generation: initial.generation,
            sap_origin: OnceLock::new(),
            amazon_origin: OnceLock::new(),
            counter: AtomicU64::new(initial.counter),
            requests: inspect::RequestCounts::default(),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(rng_seed ^ 0xA11CE)),
            capture: capture::SapCapture::default(),
            config,
        });
        let _ = shared.sap_origin.set(format!("http://{sap_addr}"));
        let _ = shared.amazon_origin.set(format!("http://{amazon_addr}"));
        let (stop, rx) = watch::channel(false);
        let tasks = vec![
            spawn(
                sap_listener,
                shared.config.sap_keep_alive,
                sap_router(shared.clone()),
                rx.clone(),
            ),
            spawn(amazon_listener, None, amazon::router(shared.clone()), rx),
        ];
        Ok(Sandbox {
            shared,
            sap_addr,
            amazon_addr,
            stop,
            tasks,
            restored,
            saving: Mutex::new(()),
        })
    }

    /// Whether the state was restored from [`SandboxConfig::state_file`] (false: a fresh world).
    pub fn restored(&self) -> bool {
        self.restored
    }

    /// Writes the state to [`SandboxConfig::state_file`] atomically (temporary file, then
    /// rename); does nothing without one. Safe while the fakes serve requests.
    #[tracing::instrument(skip(self))]
    pub fn save(&self) -> Result<(), SandboxError> {
        let Some(path) = &self.shared.config.state_file else {
            return Ok(());
        };
        let _one_at_a_time = self.saving.lock().expect("save lock");
        state_file::save(&self.shared, path)
    }

    /// Service Layer v2 root, e.g. `http://127.0.0.1:50000/b1s/v2` (`/b1s/v1` is served too).
    pub fn sap_base_url(&self) -> String {
        format!("http://{}/b1s/v2", self.sap_addr)
    }

    /// Service Layer origin (for `/ping/` and `/b1s/v1`).
    pub fn sap_origin(&self) -> String {
        format!("http://{}", self.sap_addr)
    }

    /// SP-API endpoint, e.g. `http://127.0.0.1:50001`.
    pub fn sp_api_base_url(&self) -> String {
        format!("http://{}", self.amazon_addr)
    }

    /// LWA token endpoint.
    pub fn lwa_token_url(&self) -> String {
        format!("http://{}/auth/o2/token", self.amazon_addr)
    }

    /// The accepted credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.config.credentials
    }

    /// The seller id (merchant token).
    pub fn seller_id(&self) -> String {
        self.shared.world().seller_id.clone()
    }

    /// The marketplace ids of the seller.
    pub fn marketplace_ids(&self) -> Vec<String> {
        self.shared
            .world()
            .marketplaces
            .iter()
            .map(|m| m.id.to_string())
            .collect()
    }

    /// Stops both servers, waits for them, then saves the state file if one is configured.
    pub async fn close(mut self) -> Result<(), SandboxError> {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.save()
    }

    /// Like [`Sandbox::close`], logging a failed save instead of returning it.
    pub async fn shutdown(self) {
        if let Err(e) = self.close().await {
            tracing::error!(error = %e, "sandbox state not saved");
        }
    }
}

fn sap_router(shared: Arc<Shared>) -> Router {
    Router::new()
        // Not SAP's API: the sandbox's stand-in for restarting the Service Layer service.
        .route(
            "/sandbox/admin/restart-service-layer",
            axum::routing::post(sap::user_tables::restart_endpoint),
        )
        .fallback(sap::handle)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::sap_layer,
        ))
        .with_state(shared)
}
