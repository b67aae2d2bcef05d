//! A minimal webhook receiver on loopback that prints each delivery and checks both signatures with this
//! crate. Standard library only, so it doubles as a template for a receiver in any stack.
//!
//! Usage: `cargo run -p hookline-verify --example receiver -- [PORT] [whsec_SECRET]`
//! (the secret may also come from `HOOKLINE_SECRET`). It listens on 127.0.0.1 only. With a secret it answers
//! 200 when both signatures verify and 400 when not; without one it answers 200 to everything.
//!
//! Each connection gets its own thread: hookline keeps connections alive and sends to one webhook over several
//! at once, so a receiver that served one connection at a time would leave a second delivery waiting until
//! hookline's timeout (15 s) and have it retried.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(9000);
    let secret = args.next().or_else(|| std::env::var("HOOKLINE_SECRET").ok());
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!(
        "receiver listening on http://127.0.0.1:{port}/ (signature checks: {})",
        if secret.is_some() { "on" } else { "off: pass the webhook secret" }
    );
    serve(listener, secret)
}

/// Accepts connections for ever, each served on a thread of its own.
pub fn serve(listener: TcpListener, secret: Option<String>) -> std::io::Result<()> {
    let secret = Arc::new(secret);
    for stream in listener.incoming() {
        let stream = stream?;
        let secret = Arc::clone(&secret);
        std::thread::spawn(move || {
            if let Err(error) = handle(stream, secret.as_deref()) {
                eprintln!("bad request: {error}");
            }
        });
    }
    Ok(())
}

/// Serves the requests of one keep-alive connection in turn.
fn handle(stream: TcpStream, secret: Option<&str>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("");
        let length: usize = header("content-length").parse().unwrap_or(0);
        // The raw bytes, exactly as sent: verify these, and parse only afterwards.
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let mut report = format!("\n{} {}\n", request_line.trim_end(), String::from_utf8_lossy(&body));
        for name in ["x-tradly-event", "x-tradly-delivery", "x-tradly-attempt", "webhook-id", "webhook-timestamp"] {
            report.push_str(&format!("  {name}: {}\n", header(name)));
        }
        let mut verified = true;
        if let Some(secret) = secret {
            let id = header("webhook-id");
            let tradly = hookline_verify::verify_tradly(secret, id, header("x-tradly-signature"));
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
            let standard = hookline_verify::verify_standard(
                secret,
                id,
                header("webhook-timestamp"),
                &body,
                header("webhook-signature"),
                now,
                hookline_verify::DEFAULT_TOLERANCE_SECONDS,
            );
            verified = tradly.is_ok() && standard.is_ok();
            report.push_str(&format!("  X-Tradly-Signature: {}\n", verdict(&tradly)));
            report.push_str(&format!("  webhook-signature:  {}\n", verdict(&standard)));
        }
        // One write per request, so the output of concurrent deliveries does not interleave.
        print!("{report}");
        let answer: &[u8] = if verified {
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"
        } else {
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\ncontent-type: text/plain\r\n\r\nnot verified"
        };
        reader.get_ref().write_all(answer)?;
    }
}

fn verdict(result: &Result<(), hookline_verify::VerifyError>) -> String {
    match result {
        Ok(()) => "verified".to_owned(),
        Err(error) => format!("NOT VERIFIED ({error})"),
    }
}
