//! `examples/receiver.rs` serves connections concurrently: a delivery that is still arriving on one connection
//! (a slow sender, or a connection hookline keeps open) never holds up a delivery on another.

#![cfg(test)]

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn signed_request(body: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let key = hookline_verify::standard_key(SECRET).unwrap();
    let signature = hookline_verify::standard_signature(&key, "evt_1", now, body.as_bytes());
    let tradly = hookline_verify::tradly_signature(SECRET, "evt_1");
    format!(
        "POST /hook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         webhook-id: evt_1\r\nwebhook-timestamp: {now}\r\nwebhook-signature: {signature}\r\n\
         x-tradly-signature: {tradly}\r\n\r\n{body}",
        body.len()
    )
}

fn status_line(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = [0u8; 64];
    let read = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..read]).lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_second_delivery_is_answered_while_the_first_is_still_arriving() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || receiver::serve(listener, Some(SECRET.to_owned())));

    // The first delivery sends its headers and half its body, then stalls.
    let body = r#"{"id":"evt_1","type":"user.created","data":{}}"#;
    let first_request = signed_request(body);
    let mut first = TcpStream::connect(addr).unwrap();
    first.write_all(&first_request.as_bytes()[..first_request.len() - 10]).unwrap();

    // The second, on another connection, is answered at once.
    let started = Instant::now();
    let mut second = TcpStream::connect(addr).unwrap();
    second.write_all(signed_request(body).as_bytes()).unwrap();
    assert_eq!(status_line(&mut second), "HTTP/1.1 200 OK");
    assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}", started.elapsed());

    // The first completes and is answered too; a tampered body is refused.
    first.write_all(&first_request.as_bytes()[first_request.len() - 10..]).unwrap();
    assert_eq!(status_line(&mut first), "HTTP/1.1 200 OK");
    let mut tampered = TcpStream::connect(addr).unwrap();
    tampered.write_all(signed_request(body).replace(r#""data":{}"#, r#""data":[]"#).as_bytes()).unwrap();
    assert_eq!(status_line(&mut tampered), "HTTP/1.1 400 Bad Request");
}
