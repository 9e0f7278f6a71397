//! `osprey gui [CAPTURE|CASE_DIR]` (also `osprey` with no arguments): the
//! desktop GUI. Without a display (or when no window can be created) it
//! says so and falls back to `osprey analyze` of the given capture.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Opens the GUI, or falls back to the headless commands.
pub fn run(input: Option<PathBuf>, alert: Option<u64>) -> ExitCode {
    if osprey_ui::display_available() {
        match osprey_ui::run(input.clone(), alert) {
            Ok(()) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("osprey: cannot open a window ({e}); falling back to the command line")
            }
        }
    } else {
        eprintln!(
            "osprey: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no GUI; falling back to the command line"
        );
    }
    fallback(input.as_deref())
}

fn fallback(input: Option<&Path>) -> ExitCode {
    match input {
        None => {
            eprintln!("osprey: run `osprey analyze CAPTURE -o CASE` to analyse a capture, `osprey --help` for all commands");
            ExitCode::from(2)
        }
        Some(p) if p.join("case.sqlite").is_file() => {
            eprintln!(
                "osprey: {} is a case; listing its alerts (`osprey flows {}` for flows)",
                p.display(),
                p.display()
            );
            match crate::alerts::run(p, false) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("osprey: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Some(p) => {
            let case = osprey_ui::worker::case_dir_for(p);
            eprintln!(
                "osprey: running `osprey analyze {} -o {}`",
                p.display(),
                case.display()
            );
            crate::analyze(&[p.to_path_buf()], case, Default::default(), None)
        }
    }
}
