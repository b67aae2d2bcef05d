//! `hookline api-keys …`: list the platform's API keys, create one (printed once), revoke one.

use hookline_client::proto;

use super::connection::Global;
use super::exit::CliError;
use super::output;
use super::webhooks::print_list;

/// `hookline api-keys`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List the platform's keys (name, prefix, last use; never the key).
    List,
    /// Create a key; prints it (shown this once).
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// The key may only read (GET); every write is refused with 403.
        #[arg(long)]
        read_only: bool,
    },
    /// Revoke a key by id: it stops working within a second on every node.
    Revoke { id: String },
}

pub async fn run(args: Args) -> Result<(), CliError> {
    let global = args.global;
    let client = global.client()?;
    match args.command {
        Command::List => {
            let keys = client.api_keys().await?.data;
            if global.json {
                return output::json(&keys);
            }
            let mut table = output::table(&["id", "name", "prefix", "read only", "created", "last used"]);
            for key in &keys {
                table.add_row(vec![
                    key.id.clone(),
                    key.name.clone(),
                    key.prefix.clone(),
                    if key.read_only { "yes" } else { "no" }.to_owned(),
                    key.created_at.clone(),
                    output::or_dash(key.last_used_at.as_ref()),
                ]);
            }
            print_list(table, keys.len(), "No API keys: create one with `hookline api-keys create --name NAME`.");
            Ok(())
        }
        Command::Create { name, read_only } => {
            let key = client.create_api_key(&proto::CreateApiKey { name, read_only }).await?;
            if global.json {
                return output::json(&key);
            }
            println!("{}", key.key.as_deref().unwrap_or_default());
            eprintln!("Created {} ({}). Keep the key: it is not shown again.", key.id, key.name);
            Ok(())
        }
        Command::Revoke { id } => {
            client.revoke_api_key(&id).await?;
            if global.json {
                return output::json(&serde_json::json!({"revoked": id}));
            }
            println!("Revoked {id}.");
            Ok(())
        }
    }
}
