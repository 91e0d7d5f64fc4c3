//! A progress bar on the terminal for long commands (`herald copy-to-postgres`). Draws nothing
//! when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::store::copy::Progress;

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>18} [{bar:40}] {human_pos}/{human_len} rows, {per_sec}, {eta} left",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(bar)
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Default for Bar {
    fn default() -> Self {
        Bar::new()
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, done: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
        self.0.reset_eta();
    }

    fn table(&self, table: &str) {
        self.0.set_message(table.to_owned());
    }

    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}
