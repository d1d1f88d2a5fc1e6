//! Progress bars for layer reads: on a terminal only, silent otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use patchline_inventory::Progress;

pub struct LayerBars {
    multi: MultiProgress,
    bars: Mutex<Vec<Option<ProgressBar>>>,
}

impl LayerBars {
    /// `None` when stderr is not a terminal: machine-readable runs stay quiet.
    pub fn for_stderr() -> Option<LayerBars> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        Some(LayerBars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(Vec::new()),
        })
    }

    fn with_bar(&self, index: usize, f: impl FnOnce(&ProgressBar)) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(Some(b)) = bars.get(index) {
            f(b);
        }
    }
}

impl Progress for LayerBars {
    fn layer_start(&self, index: usize, compressed_size: Option<u64>) {
        let bar = self
            .multi
            .add(ProgressBar::new(compressed_size.unwrap_or(0)));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("layer {index}"));
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        if bars.len() <= index {
            bars.resize(index + 1, None);
        }
        bars[index] = Some(bar);
    }
    fn layer_advance(&self, index: usize, bytes: u64) {
        self.with_bar(index, |b| b.inc(bytes));
    }
    fn layer_done(&self, index: usize, from_cache: bool) {
        if from_cache {
            let _ = self.multi.println(format!("layer {index}: from cache"));
        }
        self.with_bar(index, |b| b.finish_and_clear());
    }
}

/// Runs `f` with layer bars on stderr when it is a terminal, else with no progress.
pub fn with_layer_bars<T>(f: impl FnOnce(&dyn Progress) -> T) -> T {
    match LayerBars::for_stderr() {
        Some(bars) => f(&bars),
        None => f(&patchline_inventory::NoProgress),
    }
}
