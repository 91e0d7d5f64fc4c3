//! The command line: `herald [serve]`, `migrate`, `api-key`, `operator`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Config, Key, Source};
use crate::domain::{ApiKey, EmailAddress, Name, NewOperator, Password, Who};
use crate::live_settings::set_api_key;
use crate::secret::Secret;
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
    /// Write a checked copy of the SQLite database to FILE while Herald keeps running
    /// (on PostgreSQL, use pg_dump).
    Backup {
        /// The new file to write (never overwritten), e.g. herald-2026-12-01.db
        file: std::path::PathBuf,
    },
    /// Copy a SQLite database into a new, empty PostgreSQL database (stop Herald first).
    /// Safe to re-run after an interruption: it resumes where it stopped.
    CopyToPostgres {
        /// The SQLite database, e.g. sqlite://herald.db
        #[arg(long)]
        from: Secret<String>,
        /// The PostgreSQL database, e.g. postgres://herald:PASSWORD@db.example.com/herald
        #[arg(long)]
        to: Secret<String>,
        /// Rows per batch (each batch is one transaction)
        #[arg(long, default_value_t = crate::store::copy::DEFAULT_BATCH)]
        batch_size: usize,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Store a key of your choosing (at least 16 characters), from HERALD_API_KEY,
    /// --key-stdin or --key-file (or, visible to `ps`, as an argument).
    Set {
        /// The key (visible to other users in `ps` and kept in shell history: prefer the
        /// other ways).
        key: Option<Secret<String>>,
        #[command(flatten)]
        from: KeySource,
    },
    /// Generate a new key and print it once.
    Generate,
}

/// Where a secret comes from: an environment variable, standard input or a file, or an
/// argument (kept for scripts written before the others existed).
#[derive(Debug, clap::Args)]
struct KeySource {
    /// Read the key from the first line of standard input.
    #[arg(long, conflicts_with = "key_file")]
    key_stdin: bool,
    /// Read the key from the first line of a file.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    #[arg(
        long = "api-key-from-env",
        env = "HERALD_API_KEY",
        hide = true,
        hide_env_values = true
    )]
    key_env: Option<Secret<String>>,
}

#[derive(Debug, clap::Args)]
struct PasswordSource {
    /// The password (visible to other users in `ps` and kept in shell history: prefer
    /// HERALD_OPERATOR_PASSWORD, --password-stdin or --password-file).
    #[arg(long, conflicts_with_all = ["password_stdin", "password_file"])]
    password: Option<Secret<String>>,
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password_file")]
    password_stdin: bool,
    /// Read the password from the first line of a file.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    #[arg(
        long = "password-from-env",
        env = "HERALD_OPERATOR_PASSWORD",
        hide = true,
        hide_env_values = true
    )]
    password_env: Option<Secret<String>>,
}

#[derive(Debug, Subcommand)]
enum OperatorAction {
    /// Add an operator. The password comes from HERALD_OPERATOR_PASSWORD, --password-stdin or
    /// --password-file (or --password).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordSource,
        #[arg(long)]
        admin: bool,
    },
    /// Reset an operator's password (from the same sources as `create`).
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordSource,
    },
}

/// A secret from the first place that has one: standard input, a file, an argument, an
/// environment variable. Standard input and files give their first line, without its line end.
fn read_secret(
    what: &str,
    stdin: bool,
    file: Option<&Path>,
    argument: Option<Secret<String>>,
    env: Option<Secret<String>>,
) -> anyhow::Result<Secret<String>> {
    let first_line = |text: String| Secret::new(text.lines().next().unwrap_or("").to_owned());
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("could not read standard input")?;
        return Ok(first_line(line));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read {}", path.display()))?;
        return Ok(first_line(text));
    }
    if let Some(value) = argument {
        eprintln!(
            "herald: warning: a {what} given as an argument is visible to other users (ps) and \
             kept in shell history; prefer the environment variable, --*-stdin or --*-file"
        );
        return Ok(value);
    }
    env.with_context(|| {
        format!("no {what} given: set the environment variable, or use --*-stdin or --*-file")
    })
}

impl PasswordSource {
    fn read(self) -> anyhow::Result<Password> {
        let text = read_secret(
            "password",
            self.password_stdin,
            self.password_file.as_deref(),
            self.password,
            self.password_env,
        )?;
        Password::parse(text.expose()).map_err(anyhow::Error::msg)
    }
}

/// Warns when a setting whose value can hold a password (a database or mail server URL) was
/// given one on the command line.
fn warn_of_secrets_in_flags(config: &Config) {
    for s in crate::config::SETTINGS.iter().filter(|s| s.secret) {
        let Some((value, Source::Flag)) = config.override_of(s.key) else {
            continue;
        };
        if url::Url::parse(value).is_ok_and(|u| u.password().is_some()) {
            eprintln!(
                "herald: warning: --{} holds a password, which other users can see (ps) and \
                 shell history keeps; set {} instead",
                s.flag, s.env
            );
        }
    }
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
    warn_of_secrets_in_flags(&config);
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
                ApiKeyAction::Set { key, from } => {
                    let key = read_secret(
                        "key",
                        from.key_stdin,
                        from.key_file.as_deref(),
                        key,
                        from.key_env,
                    )?;
                    ApiKey::parse(key.expose()).map_err(anyhow::Error::msg)?
                }
                ApiKeyAction::Generate => ApiKey::generate(),
            };
            set_api_key(&store, &key, &Who::cli()).await?;
            println!("API key stored: {}", key.expose());
            println!("Running instances use it within a few seconds.");
            Ok(())
        }
        Command::Backup { file } => {
            let url = config.database_url();
            let target = file.clone();
            let report = tokio::task::spawn_blocking(move || {
                crate::store::backup::backup(url.expose(), &target)
            })
            .await??;
            println!(
                "Backup written to {} and checked (PRAGMA integrity_check: ok):",
                report.file.display()
            );
            for (table, rows) in &report.tables {
                println!("  {table:<24} {rows:>12}");
            }
            println!(
                "To restore: stop Herald, delete the database file and its -wal and -shm files, \
                 copy this file in its place, start Herald."
            );
            Ok(())
        }
        Command::CopyToPostgres {
            from,
            to,
            batch_size,
        } => {
            let bar = crate::progress::Bar::new();
            let report = crate::store::copy::sqlite_to_postgres(
                from.expose(),
                to.expose(),
                batch_size,
                &bar,
            )
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
                        password: Some(password.read()?),
                    };
                    let op = store
                        .create_operator(&new, &Who::cli())
                        .await
                        .map_err(store_message)?;
                    println!("Operator {} created with Id {}.", op.email, op.id);
                }
                OperatorAction::SetPassword { email, password } => {
                    let hash = password.read()?.hash();
                    let op = store
                        .set_operator_password(&email, &hash, &Who::cli())
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
            "  (or: herald operator create --name NAME --email EMAIL --password-stdin --admin)"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_secret_in_a_debug_print_of_the_command_line() {
        let command = |args: &[&str]| {
            let matches = Cli::command()
                .args(crate::config::clap_args())
                .try_get_matches_from(args)
                .unwrap();
            let cli = Cli::from_arg_matches(&matches).unwrap();
            let config = Config::from_matches(&matches);
            format!("{cli:?} {cli:#?} {config:?}")
        };
        for (args, secret) in [
            (
                &[
                    "herald",
                    "operator",
                    "create",
                    "--name",
                    "Ann",
                    "--email",
                    "ann@example.com",
                    "--password",
                    "op-pa55word",
                    "--admin",
                ][..],
                "op-pa55word",
            ),
            (
                &[
                    "herald",
                    "operator",
                    "set-password",
                    "--email",
                    "ann@example.com",
                    "--password",
                    "op-pa55word",
                ],
                "op-pa55word",
            ),
            (
                &["herald", "api-key", "set", "key-pa55-0123456789"],
                "key-pa55-0123456789",
            ),
            (
                &[
                    "herald",
                    "copy-to-postgres",
                    "--from",
                    "sqlite://herald.db",
                    "--to",
                    "postgres://herald:pg-pa55@db/herald",
                ],
                "pg-pa55",
            ),
            (
                &[
                    "herald",
                    "serve",
                    "--database",
                    "postgres://herald:pg-pa55@db/herald",
                    "--smtp-url",
                    "smtp://u:smtp-pa55@mail",
                ],
                "pa55",
            ),
        ] {
            let shown = command(args);
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("[REDACTED]"), "{shown}");
        }
    }
}
