//! `--dev` bootstrap: an admin token and a ready platform with its API key, so a newcomer can start in one
//! command. They are kept in `dev-credentials.json` beside the database (mode 0600) and reused on the next
//! start, so the printed key keeps working across restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hookline_core::Timestamp;
use hookline_core::platform::Platform;
use hookline_core::secret::ApiKey;
use hookline_store::Store;
use serde::{Deserialize, Serialize};

/// What `--dev` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevCredentials {
    /// The admin token in effect.
    pub admin_token: String,
    /// The dev platform.
    pub platform_id: String,
    /// Its API key.
    pub api_key: String,
}

/// Where the credentials file lives for a database at `db_path`.
pub fn credentials_path(db_path: &Path) -> PathBuf {
    db_path.parent().unwrap_or(Path::new(".")).join("dev-credentials.json")
}

/// Loads or creates the dev credentials. `admin_token` is the configured token, if any (it wins).
pub async fn bootstrap(
    store: &Arc<dyn Store>,
    db_path: &Path,
    admin_token: Option<String>,
) -> anyhow::Result<DevCredentials> {
    let path = credentials_path(db_path);
    let saved: Option<DevCredentials> = std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(saved) = saved
        && let Some(platform) = store.platform_by_key(ApiKey::from_presented(&saved.api_key).hash()).await?
    {
        let admin_token = admin_token.unwrap_or(saved.admin_token);
        let credentials = DevCredentials { admin_token, platform_id: platform.id.to_string(), api_key: saved.api_key };
        save(&path, &credentials)?;
        return Ok(credentials);
    }
    let admin_token = admin_token.unwrap_or_else(|| ApiKey::generate().expose().replacen("hk_", "adm_", 1));
    let platform = Platform::new("Dev platform", "http://localhost:8080", "dev@example.com", Timestamp::now())
        .context("dev platform is valid")?;
    let api_key = ApiKey::generate();
    store.create_platform(platform.clone(), api_key.hash()).await.context("failed to create the dev platform")?;
    let key_id = hookline_store::ApiKeyRecord::id_for(&api_key.hash());
    let prefix = api_key.expose().get(..7).unwrap_or_default();
    store.set_api_key_prefix(&key_id, prefix).await.context("failed to label the dev API key")?;
    let credentials =
        DevCredentials { admin_token, platform_id: platform.id.to_string(), api_key: api_key.expose().to_owned() };
    save(&path, &credentials)?;
    Ok(credentials)
}

fn save(path: &Path, credentials: &DevCredentials) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(credentials)?;
    crate::files::write_private(path, &json).with_context(|| format!("failed to write {}", path.display()))
}

/// Tells the person who started `--dev` where to begin: the [`banner`] on stderr, or with `--log-json`
/// one JSON log line carrying the same facts as fields, so that every line of output stays JSON.
pub fn announce(
    log_json: bool,
    addr: std::net::SocketAddr,
    credentials: &DevCredentials,
    database: &str,
    credentials_at: &Path,
) {
    if !log_json {
        eprintln!("{}", banner(addr, credentials, database, credentials_at));
        return;
    }
    tracing::warn!(
        api = %format!("http://{addr}/v1"),
        database,
        admin_token = %credentials.admin_token,
        platform_id = %credentials.platform_id,
        api_key = %credentials.api_key,
        credentials_file = %credentials_path(credentials_at).display(),
        "hookline is running in DEVELOPMENT mode (--dev): http:// webhook URLs and loopback/private destinations \
         are accepted; never expose a --dev server"
    );
}

/// The banner printed at a `--dev` start: loud about what dev mode allows, then copy-paste lines.
/// `database` names the database for people (a path, or a URL without its password); `credentials_at` is the
/// path the credentials file is kept beside.
pub fn banner(
    addr: std::net::SocketAddr,
    credentials: &DevCredentials,
    database: &str,
    credentials_at: &Path,
) -> String {
    let base = format!("http://{addr}");
    let key = &credentials.api_key;
    format!(
        r#"
  ============================================================================================
   hookline is running in DEVELOPMENT mode (--dev)
   - http:// webhook URLs are accepted, and deliveries may go to loopback and private addresses.
     Never expose a --dev server: it is an SSRF hole by design.
  ============================================================================================

   API         {base}/v1   (OpenAPI: {base}/v1/openapi.json)
   database    {db}
   admin token {admin}
   platform    {platform} (Dev platform)
   API key     {key}
   (saved in {creds}; they keep working after a restart)

   1. Log the CLI in, and create a webhook that delivers to 127.0.0.1:9000 (it prints the "secret"):
     hookline login --server {base} --api-key {key}
     hookline webhooks create --url http://127.0.0.1:9000/hook --events '*'

   2. In another terminal, start a receiver with that secret; it checks both signatures and prints each
      delivery (others in docs/verify/):
     HOOKLINE_SECRET=whsec_... node docs/verify/receiver.js 9000

   3. Publish a sample event of any catalog type (curl works too: {base}/v1/openapi.json):
     hookline trigger user.created

   No receiver yet? Create an inbox (a URL that records what it gets and checks its signature), point a
   webhook at its "url", and read GET /v1/inboxes/<id>/requests:
     curl -s -X POST {base}/v1/inboxes -H 'Authorization: Bearer {key}'
"#,
        admin = credentials.admin_token,
        platform = credentials.platform_id,
        db = database,
        creds = credentials_path(credentials_at).display(),
    )
}

/// The dashboard lines of the banner: a one-time sign-in link for the dev platform (valid 24 h), and where to
/// sign in with the API key once it is used.
pub async fn dashboard_lines(
    store: &Arc<dyn Store>,
    addr: std::net::SocketAddr,
    credentials: &DevCredentials,
) -> anyhow::Result<String> {
    let platform = hookline_core::ids::PlatformId::parse(&credentials.platform_id).context("dev platform id")?;
    let store: Arc<dyn hookline_store::UiStore> = store.clone();
    let base = format!("http://{addr}");
    let link = hookline_api::portal_link(&*store, &base, &platform, std::time::Duration::from_secs(24 * 3600))
        .await
        .context("failed to make a dashboard sign-in link")?;
    Ok(format!(
        "   Dashboard   {}\n               (a one-time sign-in link; afterwards sign in at {base}/ui/ with the API key)\n",
        link.url
    ))
}
