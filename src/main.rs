//! The `herald` binary: parse the command line, then hand over to the library.

// jemalloc (5 December): glibc's malloc, free and their bin upkeep (`malloc_consolidate`,
// `unlink_chunk`) were 15 % of a PostgreSQL fan-out's CPU in Herald; with jemalloc Herald's
// CPU per message fell from 34 to 29–32 µs (BENCHMARKS.md, "Messages in one pass"). mimalloc
// (tried 1 December) made the SMS fan-out slower (its segments faulted in as zeroed huge pages)
// and doubled the fan-out's peak memory.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    herald::cli::run().await
}
