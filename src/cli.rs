//! The command line: `herald [serve]`, `migrate`, `api-key`, `operator`.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Config, Key};
use crate::domain::{ApiKey, EmailAddress, Name, NewOperator, Password};
use crate::live_settings::set_api_key;
use crate::startup::{open_store, Application};

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Self-hosted incident notification service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve the API, the GUI and the delivery workers (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Set or generate the API key.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Manage operators.
    Operator {
        #[command(subcommand)]
        action: OperatorAction,
    },
    /// Copy a SQLite database into a new, empty PostgreSQL database (stop Herald first).
    /// Safe to re-run after an interruption: it resumes where it stopped.
    CopyToPostgres {
        /// The SQLite database, e.g. sqlite://herald.db
        #[arg(long)]
        from: String,
        /// The PostgreSQL database, e.g. postgres://herald:PASSWORD@db.example.com/herald
        #[arg(long)]
        to: String,
        /// Rows per batch (each batch is one transaction)
        #[arg(long, default_value_t = crate::store::copy::DEFAULT_BATCH)]
        batch_size: usize,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Store a key of your choosing (at least 16 characters).
    Set { key: String },
    /// Generate a new key and print it once.
    Generate,
}

#[derive(Debug, Subcommand)]
enum OperatorAction {
    /// Add an operator.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        admin: bool,
    },
    /// Reset an operator's password.
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

pub async fn run() -> ExitCode {
    let matches = Cli::command()
        .args(crate::config::clap_args())
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let config = Config::from_matches(&matches);
    crate::telemetry::init(&config.get(Key::LogFormat));
    match execute(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald: {}", format_chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn format_chain(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

async fn execute(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!("The database is up to date.");
            Ok(())
        }
        Command::ApiKey { action } => {
            let store = open_store(&config).await?;
            let key = match action {
                ApiKeyAction::Set { key } => ApiKey::parse(&key).map_err(anyhow::Error::msg)?,
                ApiKeyAction::Generate => ApiKey::generate(),
            };
            set_api_key(&store, &key).await?;
            println!("API key stored: {}", key.expose());
            println!("Running instances use it within a few seconds.");
            Ok(())
        }
        Command::CopyToPostgres {
            from,
            to,
            batch_size,
        } => {
            let bar = crate::progress::Bar::new();
            let report = crate::store::copy::sqlite_to_postgres(&from, &to, batch_size, &bar)
                .await
                .map_err(store_message)?;
            bar.finish();
            if report.resumed {
                println!("Completed the interrupted copy.");
            }
            println!("Copied, and row counts verified:");
            for (table, rows) in &report.tables {
                println!("  {table:<24} {rows:>12}");
            }
            println!("Now start Herald with --database set to the PostgreSQL URL.");
            Ok(())
        }
        Command::Operator { action } => {
            let store = open_store(&config).await?;
            match action {
                OperatorAction::Create {
                    name,
                    email,
                    password,
                    admin,
                } => {
                    let new = NewOperator {
                        name: Name::parse(&name).map_err(anyhow::Error::msg)?,
                        email: EmailAddress::parse(&email).map_err(anyhow::Error::msg)?,
                        cell_phone: None,
                        is_admin: admin,
                        password: Some(Password::parse(&password).map_err(anyhow::Error::msg)?),
                    };
                    let op = store.create_operator(&new).await.map_err(store_message)?;
                    println!("Operator {} created with Id {}.", op.email, op.id);
                }
                OperatorAction::SetPassword { email, password } => {
                    let hash = Password::parse(&password)
                        .map_err(anyhow::Error::msg)?
                        .hash();
                    let op = store
                        .set_operator_password(&email, &hash)
                        .await
                        .map_err(store_message)?;
                    println!("Password of {} changed.", op.email);
                }
            }
            Ok(())
        }
    }
}

fn store_message(e: crate::store::StoreError) -> anyhow::Error {
    match e {
        crate::store::StoreError::Invalid(fields) => anyhow::anyhow!(fields
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
            .join(" ")),
        crate::store::StoreError::NotFound => anyhow::anyhow!("no such operator"),
        crate::store::StoreError::Config(m) => anyhow::anyhow!(m),
        other => other.into(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let (app, first_run) = Application::build(config).await?;
    let settings = app.settings().get();
    let base = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", app.settings().config().get(Key::Bind)));
    // The bound port may differ from the configured one (port 0).
    let base = match base.rsplit_once(':') {
        Some((head, "0")) => format!("{head}:{}", app.port()),
        _ => base,
    };
    if let Some(key) = &first_run.generated_key {
        println!();
        println!("  Herald generated an API key. It is shown only this once; keep it safe:");
        println!();
        println!("      {}", key.expose());
        println!();
        println!("  Try it:  curl '{base}/api/Tickets?key={}'", key.expose());
        println!();
    }
    if app.store().count_operators().await? == 0 {
        println!("  No operator exists yet. Create the first administrator at {base}/setup");
        println!(
            "  (or: herald operator create --name NAME --email EMAIL --password PASSWORD --admin)"
        );
        println!();
    }
    let mail = crate::notify::MailStatus::of(&app.settings().get());
    if !matches!(mail, crate::notify::MailStatus::Ready { .. }) {
        println!("  {}", mail.describe());
        println!();
    }
    tracing::info!(status = %mail.describe(), "email notifications");
    tracing::info!(address = %base, "Herald is listening");
    app.run_until_stopped().await
}
