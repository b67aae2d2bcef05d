//! Exit codes and errors: what went wrong, what to do, and a code a script can branch on.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (for `verify`: the signature is valid) |
//! | 1 | a negative answer (`verify`: not valid), or a local failure (a file that cannot be written) |
//! | 2 | usage: a bad flag or argument, `--data` that is not a JSON object, an unreadable `--body-file` |
//! | 3 | not found: the id names nothing on this platform |
//! | 4 | authentication: no API key, or the server refused it |
//! | 5 | the server or the network: unreachable, timed out, a 5xx, an answer that is not hookline's |
//! | 6 | the server rejected the request: validation (422), conflict (409), bad body (400/413/415) |

use hookline_client::Error;
use hookline_proto::ErrorDetail;

/// The documented exit codes, for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 ok (verify: valid) · 1 negative answer (verify: not valid) or local \
failure · 2 usage · 3 not found · 4 authentication · 5 server or network · 6 request rejected (validation, conflict)";

/// A code from the table above.
pub mod code {
    /// `verify`: the signature does not verify; or a local failure.
    pub const NEGATIVE: u8 = 1;
    /// A bad flag, argument or input file.
    pub const USAGE: u8 = 2;
    /// The id names nothing on this platform.
    pub const NOT_FOUND: u8 = 3;
    /// No API key, or the server refused it.
    pub const AUTH: u8 = 4;
    /// The server failed or could not be reached.
    pub const UNAVAILABLE: u8 = 5;
    /// The server rejected the request as invalid.
    pub const REJECTED: u8 = 6;
}

/// An error for people (message and hint on stderr) with the exit code scripts see.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit_code: u8,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The server's error, when it gave one (printed as is under `--json`).
    pub detail: Option<Box<ErrorDetail>>,
}

impl CliError {
    pub(crate) fn new(exit_code: u8, message: impl Into<String>) -> Self {
        Self { exit_code, message: message.into(), hint: None, detail: None }
    }

    /// A bad argument or input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(code::USAGE, message)
    }

    /// Missing or refused credentials (exit 4).
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(code::AUTH, message)
    }

    /// A local failure such as an unwritable file (exit 1).
    pub fn local(message: impl Into<String>) -> Self {
        Self::new(code::NEGATIVE, message)
    }

    /// A negative answer the command already printed as its output (exit 1, nothing more on stderr).
    pub fn negative() -> Self {
        Self::new(code::NEGATIVE, "")
    }

    /// Adds what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prints the error to stderr (as `{"error": …, "exit_code"}` JSON under `--json`) and gives its exit code.
    pub fn report(self, json: bool) -> u8 {
        if self.message.is_empty() {
            return self.exit_code;
        }
        if json {
            let detail = self.detail.clone().map(|detail| *detail).unwrap_or_else(|| ErrorDetail {
                code: "cli_error".into(),
                message: self.message.clone(),
                field: None,
            });
            let body = serde_json::json!({"error": detail, "hint": self.hint, "exit_code": self.exit_code});
            eprintln!("{body}");
        } else {
            eprintln!("error: {}", self.message);
            if let Some(hint) = &self.hint {
                eprintln!("hint: {hint}");
            }
        }
        self.exit_code
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        match error {
            Error::Api { status, detail } => {
                let message = match &detail.field {
                    Some(field) => format!("{} (field `{field}`, {})", detail.message, detail.code),
                    None => format!("{} ({})", detail.message, detail.code),
                };
                let (exit_code, hint) = match status {
                    404 => {
                        (code::NOT_FOUND, "check the id: `hookline webhooks list` and `hookline events list` show them")
                    }
                    401 | 403 => (
                        code::AUTH,
                        "check the API key: pass --api-key, set HOOKLINE_API_KEY, or run `hookline login` again",
                    ),
                    429 => (code::UNAVAILABLE, "the server is busy: try again in a moment"),
                    500.. => (code::UNAVAILABLE, "the server failed: its log has the details; try again later"),
                    _ => (code::REJECTED, "fix the request as the message says and run the command again"),
                };
                Self { exit_code, message, hint: Some(hint.into()), detail: Some(Box::new(detail)) }
            }
            Error::Transport { url, source } => {
                let cause = std::error::Error::source(&source).map(|cause| format!(": {cause}")).unwrap_or_default();
                Self::new(code::UNAVAILABLE, format!("could not reach {url}{cause}"))
                    .hint("is the server running? start it with `hookline serve`, or pass --server URL")
            }
            Error::Decode { url, source } => {
                Self::new(code::UNAVAILABLE, format!("the answer from {url} is not hookline's ({source})"))
                    .hint("check that --server points at a hookline server")
            }
            Error::StreamSilent { url } => Self::new(code::UNAVAILABLE, format!("the stream from {url} went silent"))
                .hint("the connection was lost: check the network, then run the command again"),
            Error::InvalidServer(server) => Self::usage(format!("{server:?} is not a server URL"))
                .hint("use the server's base URL, e.g. --server http://localhost:8080"),
        }
    }
}
