//! The `herald` binary: parse the command line, then hand over to the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    herald::cli::run().await
}
