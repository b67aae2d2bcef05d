//! One message over SMTP with a deadline on every step. lettre's transport bounds only the TCP connect: a
//! server that accepts and then stalls (before its greeting, after EHLO, after DATA, before the final answer)
//! would hold the send, and every notice queued behind it, for ever. So the notifier drives lettre's
//! connection itself, step by step: the TCP connection within `connect_timeout`, the greeting and EHLO within
//! two command timeouts (with implicit TLS, lettre does all of that in one call: `connect_timeout` plus two
//! command timeouts), STARTTLS and AUTH within two command timeouts each, and MAIL, each RCPT, DATA and the
//! message's final answer within one each. The caller bounds the whole send as well.

use std::future::Future;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailBodyParameter, MailParameter};

use crate::render::spoken_duration;

/// How long each part of a send may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Opening the TCP connection.
    pub connect: Duration,
    /// One command and its answer.
    pub command: Duration,
}

/// Where and how to send, from an `smtp://` or `smtps://` URL.
#[derive(Clone)]
pub(crate) struct SmtpServer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
}

#[derive(Clone)]
enum Security {
    /// Plain text (`smtp://host`).
    Plain,
    /// STARTTLS after EHLO (`?tls=required`, or `?tls=opportunistic`: only if the server offers it).
    StartTls { required: bool, parameters: TlsParameters },
    /// TLS from the first byte (`smtps://`).
    Implicit(TlsParameters),
}

impl SmtpServer {
    /// Reads `smtp://[user:password@]host[:port][/ehlo-name][?tls=required|opportunistic]` or
    /// `smtps://…` (the forms lettre's `from_url` reads). Default ports: 25, 587 with STARTTLS, 465 for smtps.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("no host")?;
        // A bracketed IPv6 literal connects by its address.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = url.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
        let tls_parameters = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS setup: {e}"));
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some(mode @ ("required" | "opportunistic"))) => {
                (Security::StartTls { required: mode == "required", parameters: tls_parameters()? }, 587)
            }
            ("smtps", _) => (Security::Implicit(tls_parameters()?), 465),
            (scheme, tls) => return Err(format!("unknown scheme {scheme:?} or tls={tls:?}")),
        };
        let credentials = (!url.username().is_empty() || url.password().is_some())
            .then(|| Credentials::new(percent_decode(url.username()), percent_decode(url.password().unwrap_or(""))));
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        Ok(Self { port: url.port().unwrap_or(default_port), host, security, credentials, hello })
    }
}

/// Sends `message` (formatted) to `envelope`'s recipients, each step within its timeout. Returns why not, as
/// one line fit for the notice's `send_error` (never the credentials).
pub(crate) async fn send(
    server: &SmtpServer,
    timeouts: Timeouts,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), String> {
    let mut connection = match &server.security {
        // TLS from the first byte: lettre opens the connection and its TLS session, then reads the greeting and
        // answers EHLO, all in one call.
        Security::Implicit(parameters) => {
            let connect = AsyncSmtpConnection::connect_tokio1(
                (server.host.as_str(), server.port),
                Some(timeouts.connect),
                &server.hello,
                Some(parameters.clone()),
                None,
            );
            step("the connection, TLS, greeting and EHLO", timeouts.connect + timeouts.command * 2, connect).await?
        }
        // Plain text first: the TCP connection under its own deadline, then the greeting and EHLO under theirs.
        Security::Plain | Security::StartTls { .. } => {
            let tcp = match tokio::time::timeout(
                timeouts.connect,
                tokio::net::TcpStream::connect((server.host.as_str(), server.port)),
            )
            .await
            {
                Ok(Ok(tcp)) => tcp,
                Ok(Err(error)) => return Err(format!("connecting to the SMTP server: {error}")),
                Err(_) => {
                    return Err(format!(
                        "connecting to the SMTP server took over {} (notify.connect_timeout)",
                        spoken_duration(timeouts.connect)
                    ));
                }
            };
            let greeting = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &server.hello);
            step("the greeting and EHLO", timeouts.command * 2, greeting).await?
        }
    };
    let result = converse(&mut connection, server, timeouts, envelope, message).await;
    if result.is_err() {
        // QUIT if the server still listens, then close; a stalled server gets one more command timeout.
        let _ = tokio::time::timeout(timeouts.command, connection.abort()).await;
    }
    result
}

async fn converse(
    connection: &mut AsyncSmtpConnection,
    server: &SmtpServer,
    timeouts: Timeouts,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), String> {
    let command = timeouts.command;
    if let Security::StartTls { required, parameters } = &server.security
        && (*required || connection.can_starttls())
    {
        step("STARTTLS", command * 2, connection.starttls(parameters.clone(), &server.hello)).await?;
    }
    if let Some(credentials) = &server.credentials {
        step("AUTH", command * 2, connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials)).await?;
    }
    let mut parameters = Vec::new();
    if envelope.from().into_iter().chain(envelope.to()).any(|address| !AsRef::<str>::as_ref(address).is_ascii()) {
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() {
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    step("MAIL FROM", command, connection.command(Mail::new(envelope.from().cloned(), parameters))).await?;
    for recipient in envelope.to() {
        step("RCPT TO", command, connection.command(Rcpt::new(recipient.clone(), Vec::new()))).await?;
    }
    step("DATA", command, connection.command(Data)).await?;
    step("the message", command, connection.message(message)).await?;
    // The message is accepted: a server that does not answer QUIT changes nothing.
    let _ = tokio::time::timeout(command, connection.quit()).await;
    Ok(())
}

/// Runs one step within `limit`, naming it in the error.
async fn step<T>(
    what: &str,
    limit: Duration,
    future: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{what}: {}", crate::error_chain(&error))),
        Err(_) => Err(format!(
            "the SMTP server did not answer {what} within {} (notify.command_timeout)",
            spoken_duration(limit)
        )),
    }
}

/// `%XX` escapes decoded (a URL's user and password); anything else kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_server_its_port_and_its_security() {
        let cases = [
            ("smtp://mail.example.com", "mail.example.com", 25, "plain"),
            ("smtp://mail.example.com:2525", "mail.example.com", 2525, "plain"),
            ("smtp://u:p@mail.example.com?tls=required", "mail.example.com", 587, "starttls required"),
            ("smtp://mail.example.com?tls=opportunistic", "mail.example.com", 587, "starttls"),
            ("smtps://mail.example.com", "mail.example.com", 465, "implicit"),
            ("smtp://[::1]:1025", "::1", 1025, "plain"),
        ];
        for (url, host, port, security) in cases {
            let server = SmtpServer::parse(url).unwrap();
            let described = match &server.security {
                Security::Plain => "plain",
                Security::StartTls { required: true, .. } => "starttls required",
                Security::StartTls { required: false, .. } => "starttls",
                Security::Implicit(_) => "implicit",
            };
            assert_eq!((server.host.as_str(), server.port, described), (host, port, security), "{url}");
        }
        for bad in ["http://mail.example.com", "smtp://mail.example.com?tls=sometimes", "smtp://", "mail"] {
            assert!(SmtpServer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_and_the_ehlo_name_come_from_the_url() {
        let server = SmtpServer::parse("smtp://us%40er:p%3Ass%25@mail.example.com/client.example.org").unwrap();
        let expected = Credentials::new("us@er".into(), "p:ss%".into());
        assert!(server.credentials == Some(expected));
        assert_eq!(server.hello, ClientId::Domain("client.example.org".into()));
        assert!(SmtpServer::parse("smtp://mail.example.com").unwrap().credentials.is_none());
        assert_eq!(percent_decode("a%2"), "a%2", "a cut escape is kept");
    }
}
