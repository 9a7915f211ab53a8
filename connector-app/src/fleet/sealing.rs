//! A tenant's credentials bound to the tenant: the sealed credential store (itself sealed per
//! entry with the fleet's key) is sealed once more with XChaCha20-Poly1305 and the tenant id as
//! associated data. Copying one tenant's credentials into another tenant's row (someone with write
//! access to the database, not to the key) then makes them fail to open instead of making a worker
//! post into the wrong seller's SAP company.
//!
//! Tenants added before this binding hold the bare store (a JSON document): [`unbind`] passes it
//! through, and the worker that loads such a tenant re-seals it bound (see
//! [`super::tenants::load`]).

use anyhow::{Result, bail};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, Generate, Payload};

/// The first bytes of a bound envelope (a bare store starts with `{`).
const MAGIC: &[u8] = b"mlc-tenant-credentials-v2\n";
const NONCE_LEN: usize = 24;

fn aad(tenant: &str) -> Vec<u8> {
    format!("ml-connector tenant credentials v2\0{tenant}").into_bytes()
}

/// Seals `store` (a sealed credential store's bytes) for tenant `tenant`.
pub fn bind(aead: &XChaCha20Poly1305, tenant: &str, store: &[u8]) -> Vec<u8> {
    let nonce = XNonce::generate();
    let aad = aad(tenant);
    let ciphertext = aead
        .encrypt(
            &nonce,
            Payload {
                msg: store,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    [MAGIC, nonce.as_slice(), &ciphertext].concat()
}

/// What a tenant row's credentials hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Unbound {
    /// A store bound to this tenant, opened.
    Bound(Vec<u8>),
    /// A bare store from before the binding (to be re-sealed bound).
    Legacy(Vec<u8>),
}

/// Opens tenant `tenant`'s credentials; refuses ones sealed for another tenant or with another key.
pub fn unbind(aead: &XChaCha20Poly1305, tenant: &str, sealed: &[u8]) -> Result<Unbound> {
    let Some(rest) = sealed.strip_prefix(MAGIC) else {
        return Ok(Unbound::Legacy(sealed.to_vec()));
    };
    if rest.len() < NONCE_LEN {
        bail!("tenant `{tenant}`: its stored credentials are truncated");
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).expect("NONCE_LEN bytes");
    let aad = aad(tenant);
    match aead.decrypt(
        &nonce,
        Payload {
            msg: ciphertext,
            aad: &aad,
        },
    ) {
        Ok(store) => Ok(Unbound::Bound(store)),
        Err(_) => bail!(
            "tenant `{tenant}`: its credentials do not open: they were sealed with another fleet key, \
             or for another tenant (copied between tenant rows); add them again with \
             `ml-connector tenants add {tenant} --from CONFIG --replace`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::KeyInit;

    use super::*;

    fn aead(byte: u8) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&[byte; 32].into())
    }

    #[test]
    fn credentials_open_only_for_their_tenant_and_key() {
        let sealed = bind(&aead(1), "acme", b"{\"store\":1}");
        assert!(
            !sealed.windows(7).any(|w| w == b"store\":"),
            "sealed in clear"
        );
        assert_eq!(
            unbind(&aead(1), "acme", &sealed).unwrap(),
            Unbound::Bound(b"{\"store\":1}".to_vec())
        );
        let err = unbind(&aead(1), "globex", &sealed).unwrap_err().to_string();
        assert!(
            err.contains("tenant `globex`: its credentials do not open"),
            "{err}"
        );
        assert!(unbind(&aead(2), "acme", &sealed).is_err());
        // A store sealed before the binding still opens (and is re-sealed by the loader).
        assert_eq!(
            unbind(&aead(1), "acme", b"{\"version\":2}").unwrap(),
            Unbound::Legacy(b"{\"version\":2}".to_vec())
        );
        assert!(unbind(&aead(1), "acme", &sealed[..MAGIC.len() + 3]).is_err());
    }
}
