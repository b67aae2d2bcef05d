//! TLS to PostgreSQL, against a throwaway server of our own with `ssl=on` whose `pg_hba.conf` admits TLS
//! connections only (`hostssl`), so a store that opens has spoken TLS. Certificates are made with the `openssl`
//! command: a CA, a server certificate it signs for 127.0.0.1 and localhost, and an unrelated CA. Runs where the
//! PostgreSQL tests run (`HOOKLINE_TEST_POSTGRES_URL` set; required under `CI=true`), as root (the server runs
//! as the `postgres` user).
#![cfg(test)]

use std::path::Path;
use std::process::Command;

use hookline_store_postgres::{PgOptions, PgStore, TestServer, test_server};

fn run(command: &mut Command) {
    let output = command.output().expect("the command starts");
    assert!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args));
}

/// A CA (`name`.crt / .key) made in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &format!("/CN={name}")]
            .iter()
            .copied()
            .chain(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.crt")])
            .collect::<Vec<_>>(),
    );
}

struct Server {
    data: std::path::PathBuf,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn start_tls_server(dir: &Path) -> Server {
    make_ca(dir, "ca");
    make_ca(dir, "other");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
    let data = dir.join("data");
    run(Command::new("chown").arg("-R").arg("postgres").arg(dir));
    run(Command::new("chmod").arg("0600").arg(dir.join("server.key")));
    run(Command::new("runuser")
        .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/initdb", "-A", "trust", "-U", "postgres", "-D"])
        .arg(&data));
    std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = format!(
        "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={dir}/server.crt \
         -c ssl_key_file={dir}/server.key",
        dir = dir.display()
    );
    let server = Server { data: data.clone(), port };
    run(Command::new("runuser")
        .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-w", "-D"])
        .arg(&data)
        .args(["-l"])
        .arg(dir.join("log"))
        .args(["-o", &options, "start"]));
    server
}

async fn opens(url: &str) -> bool {
    let options = PgOptions::parse(url).expect("the URL parses");
    match PgStore::open(&options).await {
        Ok(store) => hookline_store::ApiStore::ping(&store).await.is_ok(),
        Err(_) => false,
    }
}

/// `require` connects over TLS (the server admits nothing else: `disable` is refused); `verify-full` connects
/// when the certificate chains to `sslrootcert` and names the host (IP or name), and is refused with another CA.
#[tokio::test]
async fn postgres_over_tls_require_and_verify_full() {
    if matches!(test_server(), TestServer::Missing) {
        eprintln!("SKIPPED: HOOKLINE_TEST_POSTGRES_URL is not set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let server = start_tls_server(path);
    let base = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let ca = path.join("ca.crt");
    let other = path.join("other.crt");

    assert!(!opens(&format!("{base}?sslmode=disable")).await, "the server admits TLS only");
    assert!(opens(&format!("{base}?sslmode=require")).await, "require: encrypted");
    assert!(opens(&format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display())).await, "verify-full, right CA");
    let by_name = format!("postgres://postgres@localhost:{}/postgres", server.port);
    assert!(opens(&format!("{by_name}?sslmode=verify-full&sslrootcert={}", ca.display())).await, "by host name");
    assert!(
        !opens(&format!("{base}?sslmode=verify-full&sslrootcert={}", other.display())).await,
        "verify-full refuses a certificate of another CA"
    );
    assert!(PgOptions::parse(&format!("{base}?sslmode=prefer")).is_err(), "prefer could fall back to plain text");
    drop(server);
}
