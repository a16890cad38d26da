//! End-to-end tests of the Oracle commands of the `cockpit` binary against the `sim` board's
//! USART1 pseudo-terminal: `cockpit sim` as a child process with `cockpit upload` (chunked and
//! `--original`) and `cockpit oracle info` opening its `/dev/pts/N`, and `cockpit oracle
//! scenario all --sim`.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::{cockpit, repo_path, text};
use serde_json::Value;

/// `cockpit sim` running as a child; stdin is kept open (closing it stops the board).
struct SimBoard {
    child: Child,
    port: String,
    _stdout: BufReader<ChildStdout>,
}

impl SimBoard {
    /// Starts `cockpit sim ARGS…` and reads the `USART1: /dev/pts/N` line.
    fn start(args: &[&str]) -> SimBoard {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
            .arg("sim")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cockpit sim starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("USART1: ")
            .unwrap_or_else(|| panic!("first line is not `USART1: …`: {line:?}"))
            .trim()
            .to_string();
        assert!(port.starts_with("/dev/pts/"), "{port}");
        SimBoard {
            child,
            port,
            _stdout: stdout,
        }
    }

    /// Closes stdin and returns what the board printed on stderr (which image it boots).
    fn stop(mut self) -> String {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{stderr}");
        stderr
    }
}

/// CRC-32/IEEE of the image `cockpit compile` makes of `source`.
fn compiled_crc32(source: &Path, dir: &Path) -> u32 {
    let out = dir.join("image.cvbc");
    let o = cockpit(&[
        "compile",
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    cockpit_oracle::crc32(&std::fs::read(out).unwrap())
}

#[test]
fn upload_and_info_against_cockpit_sim_by_device_path() {
    let previous = repo_path("test-plans/programs/previous_image.c");
    let large = repo_path("test-plans/programs/large_image.c");
    let board = SimBoard::start(&["--image", previous.to_str().unwrap()]);

    let info = cockpit(&["oracle", "info", "--port", &board.port]);
    assert!(info.status.success(), "{}", text(&info.stderr));
    let stdout = text(&info.stdout);
    for want in [
        "device_model          STM32G474RE",
        "capabilities          flash_program,verify,dual_bank,chunked,flash_read,device_info",
        "target_flash_address  0x08040000",
    ] {
        assert!(stdout.contains(want), "{want}:\n{stdout}");
    }

    let up = cockpit(&["upload", "--port", &board.port, large.to_str().unwrap()]);
    let stdout = text(&up.stdout);
    assert!(up.status.success(), "{}\n{stdout}", text(&up.stderr));
    let dir = tempfile::tempdir().unwrap();
    let crc = compiled_crc32(&large, dir.path());
    assert!(
        stdout.contains("uploaded 7692 bytes in 8 chunks"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "readback of 0x08040000+7692: CRC-32 {crc:08X} matches"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("line efficiency"), "{stdout}");

    let stderr = board.stop();
    assert!(
        stderr.contains(&format!("boots the image with CRC-32 {crc:08X}")),
        "{stderr}"
    );
}

#[test]
fn original_flow_upload_against_cockpit_sim() {
    let board = SimBoard::start(&[]);
    let small = repo_path("test-plans/programs/previous_image.c");
    let up = cockpit(&[
        "upload",
        "--original",
        "--port",
        &board.port,
        small.to_str().unwrap(),
    ]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(
        text(&up.stdout).contains("with the original --flash flow"),
        "{}",
        text(&up.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let crc = compiled_crc32(&small, dir.path());
    let stderr = board.stop();
    assert!(stderr.contains(&format!("{crc:08X}")), "{stderr}");
}

#[test]
fn upload_to_a_missing_port_is_a_command_error() {
    let small = repo_path("test-plans/programs/previous_image.c");
    let up = cockpit(&[
        "upload",
        "--port",
        "/dev/pts/does-not-exist",
        small.to_str().unwrap(),
    ]);
    assert_eq!(up.status.code(), Some(2), "{}", text(&up.stderr));
    assert!(text(&up.stderr).contains("/dev/pts/does-not-exist"));
}

#[test]
fn every_scenario_passes_on_the_sim_board() {
    let out = cockpit(&["oracle", "scenario", "all", "--sim", "--json"]);
    let stderr = text(&out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\n{stderr}", text(&out.stdout)));
    let reports = json.as_array().unwrap();
    assert_eq!(reports.len(), cockpit_oracle::scenario::CATALOGUE.len());
    for r in reports {
        assert_eq!(r["outcome"], "pass", "{r:#}");
    }
    assert!(out.status.success(), "{stderr}");
    let power = reports
        .iter()
        .find(|r| r["name"] == "power_loss_during_programming")
        .unwrap();
    assert!(power["steps"].as_array().unwrap().len() >= 3, "{power:#}");
    // Waits are instant: 35 s of session idle cost no wall time.
    let session = reports
        .iter()
        .find(|r| r["name"] == "timeout_session")
        .unwrap();
    assert!(
        session["bench_ms"].as_f64().unwrap() >= 35_000.0,
        "{session:#}"
    );
    assert!(
        session["wall_ms"].as_f64().unwrap() < 10_000.0,
        "{session:#}"
    );
}

#[test]
fn unknown_scenario_is_a_command_error() {
    let out = cockpit(&["oracle", "scenario", "nope", "--sim"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown scenario \"nope\""));
}
