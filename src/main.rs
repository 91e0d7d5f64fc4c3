//! The `herald` binary: parse the command line, then hand over to the library.

/// mimalloc instead of glibc's malloc: allocation and freeing were about a tenth of the CPU of
/// a read and of a message sent (BENCHMARKS.md, "Reads, third pass").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    herald::cli::run().await
}
