//! The real `osprey gui` under Xvfb (Mesa's software GL): it opens a
//! sample capture, analyses it on its worker thread and draws; a screenshot
//! of the X root window must not be blank. Also: without a display the
//! binary falls back to `osprey analyze` with a clear message.
//!
//! Needs `Xvfb` and ImageMagick (`make deps` installs them). Where they are
//! missing the test is skipped with a message, except under CI (`CI` set),
//! where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps a child on drop (also when an assertion fails).
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tools_or_skip() -> bool {
    let ok = have("Xvfb") && have("import") && have("convert");
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "Xvfb/ImageMagick missing under CI (make deps)"
        );
        eprintln!("skipped: Xvfb or ImageMagick not installed (make deps)");
    }
    ok
}

/// Starts Xvfb on a free display number.
fn xvfb() -> (Reaper, String) {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let child = Command::new("Xvfb")
            .arg(format!(":{n}"))
            .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let r = Reaper(child);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (r, format!(":{n}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display");
}

/// Standard deviation of the screenshot's pixels (0 = blank).
fn stddev(png: &Path) -> f64 {
    let out = Command::new("convert")
        .arg(png)
        .args([
            "-colorspace",
            "Gray",
            "-format",
            "%[fx:standard_deviation]",
            "info:",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

/// Runs `osprey gui ARGS` on the display, waits for `ready` to exist plus
/// `settle`, screenshots the root window into `shot`.
fn screenshot(
    display: &str,
    args: &[&std::ffi::OsStr],
    ready: &Path,
    settle: Duration,
    shot: &Path,
) {
    let app = osprey()
        .arg("gui")
        .args(args)
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut app = Reaper(app);
    let t0 = Instant::now();
    while !ready.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "case never appeared"
        );
        assert!(
            app.0.try_wait().unwrap().is_none(),
            "osprey gui exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(settle);
    assert!(app.0.try_wait().unwrap().is_none(), "osprey gui exited");
    let st = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(shot)
        .status()
        .unwrap();
    assert!(st.success(), "import failed");
}

#[test]
fn gui_under_xvfb_draws_a_non_blank_window() {
    if !tools_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    // Copies, so that the cases (`<capture>.osprey/`) land in the tempdir.
    let lab = tmp.path().join("lab-basic.pcap");
    std::fs::copy(samples.join("lab-basic.pcap"), &lab).unwrap();
    let sqlmap = tmp.path().join("sqlmap.pcap");
    std::fs::copy(samples.join("attacks/sqlmap.pcap"), &sqlmap).unwrap();
    let (_x, display) = xvfb();
    let case: PathBuf = tmp.path().join("lab-basic.pcap.osprey");
    let shot = tmp.path().join("main.png");
    screenshot(
        &display,
        &[lab.as_os_str()],
        &case.join("case.sqlite"),
        Duration::from_secs(6),
        &shot,
    );
    let sd = stddev(&shot);
    assert!(sd > 0.02, "screenshot looks blank (stddev {sd})");
    // Drill-down straight to an alert of another capture.
    let shot2 = tmp.path().join("alert.png");
    screenshot(
        &display,
        &[sqlmap.as_os_str(), "--alert".as_ref(), "1".as_ref()],
        &tmp.path().join("sqlmap.pcap.osprey/case.sqlite"),
        Duration::from_secs(6),
        &shot2,
    );
    let sd2 = stddev(&shot2);
    assert!(sd2 > 0.02, "alert screenshot looks blank (stddev {sd2})");
    if let Some(dir) = std::env::var_os("OSPREY_SCREENSHOT_DIR") {
        std::fs::copy(&shot, Path::new(&dir).join("gui-main.png")).unwrap();
        std::fs::copy(&shot2, Path::new(&dir).join("gui-alert.png")).unwrap();
    }
}

#[test]
fn without_a_display_falls_back_to_analyze() {
    let tmp = tempfile::tempdir().unwrap();
    let capture = tmp.path().join("lab.pcap");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/lab-basic.pcap"),
        &capture,
    )
    .unwrap();
    let out = osprey()
        .arg(&capture)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    // `osprey CAPTURE` is not a command: the no-argument form is `osprey`,
    // the capture form `osprey gui CAPTURE`.
    assert!(!out.status.success());
    let out = osprey()
        .arg("gui")
        .arg(&capture)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no display"), "{err}");
    assert!(err.contains("osprey analyze"), "{err}");
    assert!(tmp.path().join("lab.pcap.osprey/case.sqlite").is_file());
    assert!(String::from_utf8_lossy(&out.stdout).contains("flows:"));
}
