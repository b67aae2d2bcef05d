//! TLS to PostgreSQL through rustls (aws-lc-rs), as libpq's `sslmode` names it: `disable` (the default: plain
//! TCP), `require` (encrypted, the server's certificate not checked: protects against eavesdropping, not
//! against an impostor), `verify-full` (the certificate must chain to `sslrootcert`, a PEM file, or else to the
//! system's roots, and name the host). `prefer` and `verify-ca` are refused with a message: the first silently
//! falls back to plain text, and rustls always checks the host name.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use hookline_store::{StoreError, StoreResult};

/// How the connection to PostgreSQL is protected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP.
    #[default]
    Disable,
    /// TLS; any certificate is accepted.
    Require,
    /// TLS; the certificate must chain to these roots (`None`: the system's) and name the host.
    VerifyFull {
        /// `sslrootcert`: a PEM file of CA certificates.
        root_cert: Option<PathBuf>,
    },
}

impl TlsMode {
    /// From the URL's `sslmode` and `sslrootcert` parameters.
    pub(crate) fn parse(sslmode: Option<&str>, root_cert: Option<&str>) -> StoreResult<Self> {
        let invalid = |reason: &str| StoreError::InvalidUrl { reason: reason.to_owned(), source: None };
        match sslmode.unwrap_or("disable") {
            "disable" => Ok(TlsMode::Disable),
            "require" => Ok(TlsMode::Require),
            "verify-full" => Ok(TlsMode::VerifyFull { root_cert: root_cert.map(PathBuf::from) }),
            "prefer" | "allow" => {
                Err(invalid("sslmode=prefer may fall back to plain text: use require or verify-full"))
            }
            "verify-ca" => {
                Err(invalid("sslmode=verify-ca is not supported: use verify-full (checks the host name too)"))
            }
            _ => Err(invalid("sslmode: use disable, require or verify-full")),
        }
    }

    /// The rustls configuration for this mode; `None` for `Disable`.
    pub(crate) fn client_config(&self) -> StoreResult<Option<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::InvalidUrl { reason: "TLS setup failed".into(), source: Some(Box::new(e)) })?;
        let config = match self {
            TlsMode::Disable => return Ok(None),
            TlsMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
                .with_no_client_auth(),
            TlsMode::VerifyFull { root_cert } => {
                let mut roots = RootCertStore::empty();
                match root_cert {
                    Some(path) => {
                        let unreadable = |e: rustls::pki_types::pem::Error| StoreError::InvalidUrl {
                            reason: format!("sslrootcert {} is not a readable PEM file", path.display()),
                            source: Some(Box::new(e)),
                        };
                        for cert in CertificateDer::pem_file_iter(path).map_err(unreadable)? {
                            roots.add(cert.map_err(unreadable)?).map_err(|e| StoreError::InvalidUrl {
                                reason: format!("sslrootcert {} holds an invalid certificate", path.display()),
                                source: Some(Box::new(e)),
                            })?;
                        }
                    }
                    None => {
                        for cert in rustls_native_roots()? {
                            let _ = roots.add(cert);
                        }
                    }
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
        };
        Ok(Some(config))
    }
}

/// The system's CA certificates (`/etc/ssl/certs`), for `verify-full` without `sslrootcert`.
fn rustls_native_roots() -> StoreResult<Vec<CertificateDer<'static>>> {
    let bundle = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .ok_or_else(|| StoreError::InvalidUrl {
            reason: "sslmode=verify-full: no system CA bundle found; name one with sslrootcert=PATH".into(),
            source: None,
        })?;
    CertificateDer::pem_file_iter(bundle)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| StoreError::InvalidUrl { reason: format!("{bundle} is not readable"), source: Some(Box::new(e)) })
}

/// `sslmode=require`: any certificate, but the handshake's signatures are still checked, so the session is
/// encrypted with whoever holds the presented certificate's key.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
