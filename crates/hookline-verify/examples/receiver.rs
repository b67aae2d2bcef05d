//! A minimal webhook receiver on loopback that prints each delivery and checks both signatures with this
//! crate. Standard library only, so it doubles as a template for a receiver in any stack.
//!
//! Usage: `cargo run -p hookline-verify --example receiver -- [PORT] [whsec_SECRET]`
//! (the secret may also come from `HOOKLINE_SECRET`). It listens on 127.0.0.1 only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
    for stream in listener.incoming() {
        if let Err(error) = handle(stream?, secret.as_deref()) {
            eprintln!("bad request: {error}");
        }
    }
    Ok(())
}

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
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        println!("\n{} {}", request_line.trim_end(), String::from_utf8_lossy(&body));
        for name in ["x-tradly-event", "x-tradly-delivery", "x-tradly-attempt", "webhook-id", "webhook-timestamp"] {
            println!("  {name}: {}", header(name));
        }
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
            println!("  X-Tradly-Signature: {}", verdict(&tradly));
            println!("  webhook-signature:  {}", verdict(&standard));
        }
        let mut stream = reader.get_ref();
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")?;
    }
}

fn verdict(result: &Result<(), hookline_verify::VerifyError>) -> String {
    match result {
        Ok(()) => "verified".to_owned(),
        Err(error) => format!("NOT VERIFIED ({error})"),
    }
}
