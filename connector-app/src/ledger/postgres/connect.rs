//! Connecting to the PostgreSQL ledger: `sslmode` (TLS through rustls) and the connection pool.
//!
//! `sslmode` in the URL's query means what it means to libpq
//! (<https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-PROTECTION>): `disable` (plain),
//! `prefer` (the default: TLS when the server offers it, plain otherwise, server not
//! authenticated), `require` (TLS or no connection, server not authenticated) and `verify-full`
//! (TLS, the server's certificate checked against the trusted roots and its name against the
//! URL's host). The roots are the system's (through rustls-platform-verifier, as for the SAP
//! client), or only the CA file of `sslrootcert=/path/ca.pem` when given, as libpq does.
//! `verify-ca` is refused rather than quietly treated as something else.
//!
//! The pool (r2d2 with the driver's manager) bounds the connections of a process: a worker's
//! lease loop and every tenant it works borrow from one pool per call or per transaction.

use std::sync::Arc;
use std::time::Duration;

use ::postgres::config::SslMode;
use ::postgres::{Client, Config};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{IDLE_IN_WRITE, message, off_runtime};
use crate::ledger::LedgerError;

/// How the connection is protected (`sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it; the server is not authenticated.
    Prefer,
    /// TLS always; the server is not authenticated.
    Require,
    /// TLS always; the server's certificate and name are verified.
    VerifyFull,
}

impl TlsMode {
    fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A parsed ledger URL: what to connect to, and how.
#[derive(Clone)]
pub struct Target {
    config: Config,
    tls: MakeRustlsConnect,
    mode: TlsMode,
    /// `host:port` for messages (never the password).
    shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({}, sslmode={})", self.shown, self.mode.name())
    }
}

impl Target {
    /// Parses a `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]` URL.
    pub fn parse(url: &str) -> Result<Self, LedgerError> {
        let bad =
            |what: String| LedgerError::Invalid(format!("ledger url {}: {what}", redact(url)));
        let mut parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(bad("not a postgres:// URL".into()));
        }
        let (mut mode, mut root) = (TlsMode::Prefer, None);
        let mut rest = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match &*k {
                "sslmode" => {
                    mode = match &*v {
                        "disable" => TlsMode::Disable,
                        "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-full" => TlsMode::VerifyFull,
                        other => {
                            return Err(bad(format!(
                                "sslmode `{other}` is not supported: use disable, prefer, require or verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" => root = Some(std::path::PathBuf::from(&*v)),
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        if root.is_some() && mode != TlsMode::VerifyFull {
            return Err(bad(format!(
                "sslrootcert is given but sslmode is `{}`: it only verifies the server with sslmode=verify-full",
                mode.name()
            )));
        }
        parsed.set_query(None);
        if !rest.is_empty() {
            parsed.query_pairs_mut().extend_pairs(&rest);
        }
        let mut config: Config = parsed
            .as_str()
            .parse()
            .map_err(|e: ::postgres::Error| bad(e.to_string()))?;
        config.ssl_mode(match mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyFull => SslMode::Require,
        });
        if config.get_application_name().is_none() {
            config.application_name("ml-connector");
        }
        let tls = tls_config(mode, root.as_deref()).map_err(bad)?;
        let shown = format!(
            "{}:{}",
            parsed.host_str().unwrap_or("localhost"),
            parsed.port().unwrap_or(5432)
        );
        Ok(Self {
            config,
            tls: MakeRustlsConnect::new(tls),
            mode,
            shown,
        })
    }

    /// Names this process's connections (`application_name`, seen in `pg_stat_activity`).
    pub fn application_name(mut self, name: &str) -> Self {
        self.config.application_name(name);
        self
    }

    /// `host:port (sslmode=…)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "PostgreSQL at {} (sslmode={})",
            self.shown,
            self.mode.name()
        )
    }

    /// Opens one connection (blocking; off the runtime).
    pub fn connect(&self) -> Result<Client, LedgerError> {
        let client = off_runtime(|| self.config.connect(self.tls.clone()))
            .map_err(|e| LedgerError::Invalid(format!("{}: {}", self.describe(), message(&e))))?;
        Ok(client)
    }

    /// A pool of at most `max` connections, each with the fenced writers' idle-in-transaction
    /// limit. One connection is opened (and closed) first, so that a wrong URL, password or TLS
    /// set-up is reported now, with its cause, rather than as a pool timeout.
    pub fn pool(&self, max: u32) -> Result<Pool, LedgerError> {
        if max == 0 {
            return Err(LedgerError::Invalid(
                "the PostgreSQL pool needs at least one connection".into(),
            ));
        }
        let first = self.connect()?;
        off_runtime(move || drop(first));
        let manager = Manager(PostgresConnectionManager::new(
            self.config.clone(),
            self.tls.clone(),
        ));
        let pool = r2d2::Pool::builder()
            .max_size(max)
            .min_idle(Some(0))
            // Connections are checked by use: a broken one fails its call and is dropped.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(60))
            .build_unchecked(manager);
        Ok(Pool(Arc::new(PoolInner(Some(pool)))))
    }
}

/// The URL with its password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable url)".to_owned(),
    }
}

fn tls_config(
    mode: TlsMode,
    root: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root) {
        (TlsMode::VerifyFull, Some(path)) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "sslrootcert {}: no CERTIFICATE block",
                    path.display()
                ));
            }
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?
        }
        (TlsMode::VerifyFull, None) => Arc::new(
            rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| format!("TLS verifier: {e}"))?,
        ),
        // libpq's prefer and require encrypt without authenticating the server.
        _ => Arc::new(Unverified(provider)),
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `prefer` / `require`: any certificate (signatures still checked), as libpq without a root file.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A pooled connection and the tenant its `mlc.tenant` setting names (set once per change).
pub struct PgConn {
    /// The connection.
    pub client: Client,
    scope: Option<String>,
    /// Left inside a transaction (a panic mid-group): dropped, not reused.
    pub(crate) in_tx: bool,
}

impl PgConn {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            scope: None,
            in_tx: false,
        }
    }

    /// Points row-level security at `scope` (a tenant id, or `*` for fleet-wide reads).
    pub(crate) fn scope(&mut self, scope: &str) -> Result<&mut Client, LedgerError> {
        if self.scope.as_deref() != Some(scope) {
            self.client
                .execute("SELECT set_config('mlc.tenant', $1, false)", &[&scope])?;
            self.scope = Some(scope.to_owned());
        }
        Ok(&mut self.client)
    }
}

/// The driver's r2d2 manager, plus the per-connection settings.
pub struct Manager(PostgresConnectionManager<MakeRustlsConnect>);

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = ::postgres::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        let mut client = self.0.connect()?;
        // A fenced writer stopped inside a transaction (SIGSTOP) would hold the lease row's share
        // lock; the server ends such a session (see the module documentation of `postgres`).
        client.batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = {}",
            IDLE_IN_WRITE.as_millis()
        ))?;
        Ok(PgConn::new(client))
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), Self::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.in_tx || conn.client.is_closed()
    }
}

type R2d2Pool = r2d2::Pool<Manager>;

/// A connection borrowed from a [`Pool`]; return it (drop it) off the runtime.
pub type Pooled = r2d2::PooledConnection<Manager>;

/// A bounded pool of ledger connections, shared by a process's ledger handles (cheap to clone).
#[derive(Clone)]
pub struct Pool(Arc<PoolInner>);

struct PoolInner(Option<R2d2Pool>);

impl Drop for PoolInner {
    fn drop(&mut self) {
        // Closing a connection blocks: never on a runtime thread.
        if let Some(pool) = self.0.take() {
            off_runtime(move || drop(pool));
        }
    }
}

impl Pool {
    /// Borrows a connection whose row-level security names `scope` (blocking; call it off the
    /// runtime, as every [`off_runtime`] closure is).
    pub(crate) fn get(&self, scope: &str) -> Result<Pooled, LedgerError> {
        let pool = self.0.0.as_ref().expect("the pool is set until dropped");
        let mut conn = pool
            .get()
            .map_err(|e| LedgerError::Invalid(format!("PostgreSQL connection pool: {e}")))?;
        conn.scope(scope)?;
        Ok(conn)
    }

    /// Runs `f` on a borrowed connection (off the runtime), as fleet administration (`*`).
    pub fn with<R: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> anyhow::Result<R> + Send,
    ) -> anyhow::Result<R> {
        off_runtime(|| {
            let mut conn = self.get("*")?;
            f(&mut conn.client)
        })
    }

    /// Connections open now (in use or idle), at most the pool's size.
    pub fn open_connections(&self) -> u32 {
        self.0.0.as_ref().map_or(0, |p| p.state().connections)
    }
}
