//! The `herald` binary: parse the command line, then hand over to the library.

// The system allocator: mimalloc (tried 1 December) made the SMS fan-out slower (its segments
// faulted in as zeroed transparent huge pages: `clear_page_erms` 8 % of the samples) and doubled
// the fan-out's peak memory; quiet A/B runs of 2 December: SMS fan-out 0.54–0.59 of the bare
// client with the system allocator, 0.43 with mimalloc; SQLite reads 12 % faster with it, at
// 0.27–0.30 of the static server either way (BENCHMARKS.md, "Quiet figures of 2 December").

#[tokio::main]
async fn main() -> std::process::ExitCode {
    herald::cli::run().await
}
