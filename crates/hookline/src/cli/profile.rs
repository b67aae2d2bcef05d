//! Saved profiles: `hookline login` checks a server URL and API key, then keeps them in `profiles.json` under
//! the config directory (`$HOOKLINE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/hookline`, else `~/.config/hookline`).
//!
//! The file holds API keys, so it is written owner-only (0600) to a temporary file in the same directory and
//! renamed over the old one: a reader never sees half a file, and a file that was once world-readable is not
//! reused with its old mode.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use hookline_client::ListOptions;
use serde::{Deserialize, Serialize};

use super::connection::{DEFAULT_SERVER, Global};
use super::exit::CliError;

/// One saved server and key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The server's base URL.
    pub server: String,
    /// The platform's API key.
    pub api_key: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ProfileFile {
    profiles: BTreeMap<String, Profile>,
}

/// `hookline login`.
#[derive(clap::Args)]
#[command(after_help = "The API key is read from --api-key, HOOKLINE_API_KEY, or a line on stdin.")]
pub struct LoginArgs {
    #[command(flatten)]
    pub global: Global,
}

/// `hookline logout`.
#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The profile to forget.
    #[arg(long, env = "HOOKLINE_PROFILE", default_value = "default")]
    pub profile: String,
}

/// The profile file's path.
pub fn path() -> Result<PathBuf, CliError> {
    let dir = std::env::var_os("HOOKLINE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CONFIG_HOME").map(|dir| PathBuf::from(dir).join("hookline")))
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config").join("hookline")))
        .ok_or_else(|| CliError::local("no config directory").hint("set HOOKLINE_CONFIG_DIR or HOME"))?;
    Ok(dir.join("profiles.json"))
}

/// The profile `name`, if one was saved.
pub fn load(name: &str) -> Result<Option<Profile>, CliError> {
    Ok(read(&path()?)?.profiles.remove(name))
}

fn read(path: &Path) -> Result<ProfileFile, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
            CliError::local(format!("{} is not a profile file: {error}", path.display()))
                .hint("fix or delete it, then run `hookline login`")
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(ProfileFile::default()),
        Err(error) => Err(CliError::local(format!("cannot read {}: {error}", path.display()))),
    }
}

/// Writes `file` owner-only: to a temporary file beside it, then renamed over it.
fn write(path: &Path, file: &ProfileFile) -> Result<(), CliError> {
    let fail = |error: std::io::Error| CliError::local(format!("cannot write {}: {error}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let json = serde_json::to_vec_pretty(file).map_err(|error| CliError::local(error.to_string()))?;
    let temp = dir.join(format!(".profiles.json.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut out = options.open(&temp)?;
        // `mode` applies only when the file is created; a leftover temporary file keeps its mode otherwise.
        #[cfg(unix)]
        std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        out.write_all(&json)?;
        out.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(fail)
}

/// Checks the server and key with an authenticated read, then saves them.
pub async fn login(args: LoginArgs) -> Result<(), CliError> {
    let mut global = args.global;
    let (server, saved_key) = global.credentials()?;
    let server = global.server.clone().unwrap_or(server);
    let api_key = match global.api_key.take() {
        Some(key) => key,
        None => read_key(saved_key)?,
    };
    let client = hookline_client::Client::new(&server, api_key.clone())?;
    client.webhooks(&ListOptions { limit: Some(1), after: None }).await.map_err(|error| {
        let error = CliError::from(error);
        if error.exit_code == super::exit::code::AUTH {
            CliError { message: format!("the server refused the API key: {}", error.message), ..error }
        } else {
            error
        }
    })?;
    let path = path()?;
    let mut file = read(&path)?;
    file.profiles.insert(global.profile.clone(), Profile { server: client.server().to_owned(), api_key });
    write(&path, &file)?;
    if global.json {
        let body = serde_json::json!({"profile": global.profile, "server": client.server(), "path": path});
        println!("{body}");
    } else {
        println!(
            "Logged in to {} (profile {:?}, saved in {}, owner-only).",
            client.server(),
            global.profile,
            path.display()
        );
    }
    Ok(())
}

/// Reads the API key from stdin: prompted on a terminal, one line from a pipe.
fn read_key(saved_key: Option<String>) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let saved = if saved_key.is_some() { " (empty: keep the saved one)" } else { "" };
        eprint!("API key for the server (hk_…){saved}: ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(|error| CliError::usage(format!("cannot read the API key: {error}")))?;
    let key = line.trim().to_owned();
    if key.is_empty() {
        if let Some(saved) = saved_key {
            return Ok(saved);
        }
        return Err(CliError::usage("no API key given")
            .hint(format!("pass --api-key hk_… (a `hookline serve --dev` at {DEFAULT_SERVER} prints one)")));
    }
    Ok(key)
}

/// Removes a saved profile.
pub fn logout(args: LogoutArgs) -> Result<(), CliError> {
    let path = path()?;
    let mut file = read(&path)?;
    if file.profiles.remove(&args.profile).is_none() {
        return Err(CliError::local(format!("no profile {:?} in {}", args.profile, path.display())));
    }
    write(&path, &file)?;
    println!("Logged out of profile {:?}.", args.profile);
    Ok(())
}
