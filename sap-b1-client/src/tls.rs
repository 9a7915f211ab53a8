//! TLS set-up: rustls with the ring provider, without touching process-global state.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::Error;

/// How the server certificate is checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    /// Extra trusted roots (PEM) on top of the platform store, for self-signed on-prem servers.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Skip verification entirely. Only through `danger_accept_invalid_certs`.
    pub accept_invalid_certs: bool,
}

pub(crate) fn client_config(options: &TlsOptions) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS protocol versions: {e}")))?;

    let verifier: Arc<dyn ServerCertVerifier> =
        if options.accept_invalid_certs {
            tracing::warn!(
                "TLS certificate verification is DISABLED for the SAP Service Layer connection; \
             anyone on the network path can read the session and credentials"
            );
            Arc::new(AcceptAnyCert(provider))
        } else {
            let mut roots = Vec::new();
            for pem in &options.extra_ca_pem {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    roots.push(cert.map_err(|e| {
                        Error::Config(format!("cannot read CA certificate PEM: {e}"))
                    })?);
                }
            }
            if options.extra_ca_pem.iter().any(|p| !p.is_empty()) && roots.is_empty() {
                return Err(Error::Config(
                    "CA certificate PEM contains no CERTIFICATE block".into(),
                ));
            }
            let verifier = if roots.is_empty() {
                rustls_platform_verifier::Verifier::new(provider)
            } else {
                rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
            }
            .map_err(|e| Error::Config(format!("TLS verifier: {e}")))?;
            Arc::new(verifier)
        };

    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // The Service Layer sits behind Apache speaking HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Verifier for the explicit opt-out: checks signatures are well-formed, trusts any certificate.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
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
