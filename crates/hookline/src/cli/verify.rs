//! `hookline verify`: checks a delivery's signatures offline with [`hookline_verify::diagnose`], so its
//! reasons are the inspector's. Two forms:
//!
//! - Tradly: `--secret S --event-id ID --signature HEX` (`X-Tradly-Signature`, which signs only the id);
//! - Standard Webhooks: `--secret S --header 'webhook-id: …' --header 'webhook-timestamp: …'
//!   --header 'webhook-signature: v1,…' --body-file body.json` (an `X-Tradly-Signature` header is checked too).
//!
//! Exit 0 when it verifies, 1 when it does not (the reason is printed), 2 when the flags cannot say.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use hookline_verify::diagnose::{Diagnosis, KnownSecret, Scheme, SecretState, SignedRequest, diagnose};

use super::exit::CliError;
use super::output;

/// `hookline verify`.
#[derive(clap::Args)]
#[command(after_help = "Exit 0: valid. Exit 1: not valid (the reason is printed). Exit 2: bad flags.")]
pub struct VerifyArgs {
    /// The webhook's secret (whsec_…); repeat it to accept either of two (during a rotation).
    #[arg(long, required = true, env = "HOOKLINE_SECRET", hide_env_values = true)]
    secret: Vec<String>,
    /// A secret a rotation retired: a match says "rotated out" instead of "different secret".
    #[arg(long)]
    rotated_out_secret: Vec<String>,
    /// Tradly form: the event id that X-Tradly-Signature signs (the body's `id`).
    #[arg(long)]
    event_id: Option<String>,
    /// Tradly form: the X-Tradly-Signature value (hex).
    #[arg(long)]
    signature: Option<String>,
    /// Standard Webhooks form: a header as `Name: value` (webhook-id, webhook-timestamp, webhook-signature,
    /// X-Tradly-Signature); repeat for each.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Standard Webhooks form: the raw body as received, byte for byte (`-`: stdin).
    #[arg(long)]
    body_file: Option<String>,
    /// How far webhook-timestamp may be from now, in seconds.
    #[arg(long, default_value_t = hookline_verify::DEFAULT_TOLERANCE_SECONDS)]
    tolerance: u64,
    /// Check as of this unix time instead of now (for a request captured earlier).
    #[arg(long)]
    now: Option<i64>,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VerifyArgs) -> Result<(), CliError> {
    let headers = args.headers.iter().map(|header| parse_header(header)).collect::<Result<Vec<_>, _>>()?;
    let body = read_body(args.body_file.as_deref())?;
    let mut request = SignedRequest::from_headers(headers.iter().map(|(n, v)| (*n, *v)), &body);
    if let Some(signature) = &args.signature {
        request.tradly_signature = Some(signature);
    }
    request.event_id = args.event_id.as_deref();
    let standard = request.webhook_id.is_some() || request.webhook_signature.is_some();
    if request.tradly_signature.is_none() && !standard {
        return Err(CliError::usage("nothing to verify").hint(
            "give --signature and --event-id (X-Tradly-Signature), or --header values and --body-file (Standard Webhooks)",
        ));
    }
    if standard && args.body_file.is_none() {
        return Err(CliError::usage(
            "webhook-signature covers the body: give it with --body-file FILE (or - for stdin)",
        ));
    }
    let secrets: Vec<KnownSecret<'_>> = args
        .secret
        .iter()
        .map(|secret| KnownSecret { secret, state: SecretState::Active })
        .chain(args.rotated_out_secret.iter().map(|secret| KnownSecret { secret, state: SecretState::RotatedOut }))
        .collect();
    let now = args.now.unwrap_or_else(now_unix);
    let diagnosis = diagnose(&request, &secrets, now, args.tolerance);
    report(&diagnosis, args.json)
}

/// Prints the verdict (stdout: it is the command's answer) and turns a failure into exit 1.
fn report(diagnosis: &Diagnosis, json: bool) -> Result<(), CliError> {
    match diagnosis {
        Diagnosis::Verified { scheme, secret_index } => {
            let header = header_name(*scheme);
            if json {
                output::json(&serde_json::json!({"verified": true, "scheme": header, "secret_index": secret_index}))?;
            } else {
                println!("verified: {header} matches secret #{}", secret_index + 1);
                if *scheme == Scheme::Tradly {
                    eprintln!(
                        "note: X-Tradly-Signature signs only the event id: it proves neither the body nor the time"
                    );
                }
            }
            Ok(())
        }
        Diagnosis::Failed(failure) => {
            if json {
                let verdict =
                    serde_json::json!({"verified": false, "code": failure.code(), "reason": failure.to_string()});
                output::json(&verdict)?;
            } else {
                println!("not verified: {failure} [{}]", failure.code());
            }
            Err(CliError::negative())
        }
        Diagnosis::Unsigned => Err(CliError::usage("the request carries no signature header")),
    }
}

fn header_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Standard => "webhook-signature",
        Scheme::Tradly => "X-Tradly-Signature",
    }
}

fn parse_header(text: &str) -> Result<(&str, &str), CliError> {
    text.split_once(':').map(|(name, value)| (name.trim(), value.trim())).ok_or_else(|| {
        CliError::usage(format!("--header {text:?} is not `Name: value`")).hint("e.g. --header 'webhook-id: evt_123'")
    })
}

fn read_body(path: Option<&str>) -> Result<Vec<u8>, CliError> {
    let fail = |error: std::io::Error| CliError::usage(format!("cannot read --body-file: {error}"));
    match path {
        None => Ok(Vec::new()),
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body).map_err(fail)?;
            Ok(body)
        }
        Some(path) => std::fs::read(path).map_err(fail),
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs() as i64).unwrap_or(0)
}
