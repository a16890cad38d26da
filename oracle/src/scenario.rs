//! Fault-injection scenarios (feature `std`): the original Oracle set (reference §2.9.3/§2.9.4)
//! with precise expectations under the Cockpit contract (`README.md`), plus new ones.
//!
//! Scenarios are data ([`CATALOGUE`]) plus steps run by [`run`] against any [`Transport`]. All
//! idle waiting goes through a [`Bench`], so a simulated device can run them in accelerated or
//! virtual time and provide power-cut / reboot hooks; [`WallClock`] is the real-time bench for
//! hardware. Reports are `serde::Serialize` (for `--json`).

use std::{
    format,
    string::{String, ToString},
    thread,
    time::{Duration, Instant},
    vec,
    vec::Vec,
};

use prost::Message;
use serde::Serialize;

use crate::{
    client::{Client, ClientError, Transport},
    crc32, limits, pb,
};

/// Time and power control of the bench the device is on.
pub trait Bench {
    /// Lets `d` of device time pass with the line idle (real sleep on hardware; the simulator may
    /// advance virtual time instead).
    fn wait(&mut self, d: Duration);
    /// Monotonic bench time since an arbitrary origin (device time on the simulator); used for
    /// step timings.
    fn now(&self) -> Duration;
    /// Arms a power cut after `after_flash_ops` more flash erase / program operations. Returns
    /// false if the bench cannot cut power (the power-loss scenario is then skipped).
    fn arm_power_cut(&mut self, after_flash_ops: u32) -> bool {
        let _ = after_flash_ops;
        false
    }
    /// Restores power and reboots the device (after a cut, or to check what boots).
    fn reboot(&mut self) {}
    /// CRC-32 of the image the device booted after the last [`reboot`](Self::reboot), `None` if
    /// it stayed in the bootloader (no valid bank).
    fn booted_image_crc32(&mut self) -> Option<u32> {
        None
    }
}

/// Real-time bench (hardware): `wait` sleeps, no power control.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    origin: Instant,
}

impl Default for WallClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Bench for WallClock {
    fn wait(&mut self, d: Duration) {
        thread::sleep(d);
    }
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Inputs of the scenarios.
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    /// A valid CVBC (or CONC) image for uploads.
    pub image: Vec<u8>,
    /// A second valid image, different from `image` (power loss: `image` is old, this is new).
    pub alternate_image: Vec<u8>,
    /// Power loss: cut after this many erase/program operations of the second upload.
    pub power_cut_after_ops: u32,
    /// Idle time of `timeout_session` (original: 35 s; must exceed the 30 s session timeout).
    pub session_idle: Duration,
    /// Idle time before the handshake of `timeout_handshake` (original: 3 s).
    pub handshake_idle: Duration,
    /// Idle time after the partial frame of `partial_frame_timeout` (original: 2 s).
    pub partial_idle: Duration,
    /// Garbage bytes sent by `garbage_flood`.
    pub garbage_bytes: usize,
}

impl ScenarioConfig {
    /// Defaults of the original scenarios for the given images.
    pub fn new(image: Vec<u8>, alternate_image: Vec<u8>) -> Self {
        Self {
            image,
            alternate_image,
            power_cut_after_ops: 3,
            session_idle: Duration::from_secs(35),
            handshake_idle: Duration::from_secs(3),
            partial_idle: Duration::from_secs(2),
            garbage_bytes: 4096,
        }
    }
}

/// One named scenario of the catalogue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScenarioSpec {
    /// Name used on the command line.
    pub name: &'static str,
    /// What must happen for the scenario to pass.
    pub expectation: &'static str,
    /// For sequences: the scenarios run in order (stop at the first failure); empty otherwise.
    pub sequence: &'static [&'static str],
    /// True if the bench must support power cuts ([`Bench::arm_power_cut`]); skipped otherwise.
    pub needs_power_cut: bool,
}

const fn single(name: &'static str, expectation: &'static str) -> ScenarioSpec {
    ScenarioSpec {
        name,
        expectation,
        sequence: &[],
        needs_power_cut: false,
    }
}

const fn chain(
    name: &'static str,
    sequence: &'static [&'static str],
    expectation: &'static str,
) -> ScenarioSpec {
    ScenarioSpec {
        name,
        expectation,
        sequence,
        needs_power_cut: false,
    }
}

/// All scenarios, in catalogue order.
pub const CATALOGUE: &[ScenarioSpec] = &[
    single(
        "normal",
        "a chunked upload of the image (handshake, prepare, DataPackets with offsets, verify) succeeds \
         and the readback CRC-32 of the target bank equals the image's",
    ),
    single(
        "crc_frame_corruption",
        "a handshake frame with its CRC high byte inverted gets ErrorReport COMM_CRC_MISMATCH \
         (result ERROR_COMMUNICATION, failed_sequence_id 0); then a normal handshake succeeds",
    ),
    single(
        "partial_frame_timeout",
        "after `7E 00 20` and the partial idle time the device has sent ErrorReport COMM_TIMEOUT and \
         a handshake succeeds; a handshake frame sent 600 ms after another partial frame is answered \
         (ErrorReport COMM_TIMEOUT, then the handshake response: its 0x7E is not lost); a handshake \
         frame sent right after a partial frame gets ErrorReport COMM_FRAMING_ERROR (interrupted) and \
         then its handshake response",
    ),
    single(
        "timeout_handshake",
        "after the handshake idle time (3 s) with no traffic a handshake succeeds",
    ),
    single(
        "timeout_session",
        "after a handshake and 35 s idle the next prepare gets ErrorReport INVALID_SEQUENCE \
         \"no session\" (result ERROR_INVALID_REQUEST); then handshake + prepare succeed",
    ),
    chain(
        "timeout_recovery_chain",
        &["normal", "timeout_session", "normal"],
        "every step passes",
    ),
    chain(
        "handshake_timeout_recovery_chain",
        &["normal", "timeout_handshake", "normal"],
        "every step passes",
    ),
    chain(
        "crc_recovery_chain",
        &["normal", "crc_frame_corruption", "normal"],
        "every step passes",
    ),
    chain(
        "comprehensive_error_chain",
        &[
            "normal",
            "timeout_handshake",
            "normal",
            "crc_frame_corruption",
            "normal",
            "partial_frame_timeout",
            "normal",
            "timeout_session",
            "normal",
        ],
        "every step passes",
    ),
    single(
        "garbage_flood",
        "while 4 KiB of random bytes (including 0x7E) arrive the device sends nothing but frame-level \
         ErrorReports (failed_sequence_id 0); 1 s after the flood a handshake succeeds",
    ),
    single(
        "oversize_length",
        "a frame announcing LEN 1025 gets ErrorReport COMM_FRAMING_ERROR (failed_sequence_id 0) as soon \
         as the length arrives; then a handshake succeeds",
    ),
    single(
        "truncated_protobuf",
        "a well-framed payload holding the first 20 bytes of a handshake request gets ErrorReport \
         COMM_FRAMING_ERROR \"protobuf decode failed\" (failed_sequence_id 0); then a handshake succeeds",
    ),
    single(
        "wrong_sequence_id",
        "after a handshake with id s, a prepare with id s+5 gets ErrorReport INVALID_SEQUENCE \
         (failed_sequence_id s+5); a prepare with s+1 succeeds; retransmitting it returns the identical \
         cached Ack; a request with id s (stale) gets INVALID_SEQUENCE",
    ),
    single(
        "unknown_request",
        "after a handshake, a request with an empty oneof, one with an unknown oneof field (15) and an \
         ErrorRecoveryRequest each get ErrorReport with result ERROR_INVALID_REQUEST and \
         failed_sequence_id = their id; then a handshake succeeds",
    ),
    ScenarioSpec {
        name: "power_loss_during_programming",
        expectation: "image A is uploaded; power is cut after N flash operations of uploading image B; \
                      after the reboot the device boots A or B (never nothing or a mix); then uploading \
                      B succeeds and B boots after a reboot",
        sequence: &[],
        needs_power_cut: true,
    },
];

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static ScenarioSpec> {
    CATALOGUE.iter().find(|s| s.name == name)
}

/// Scenario outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every expectation held.
    Pass,
    /// An expectation failed (see the step details).
    Fail,
    /// The bench lacks a capability the scenario needs.
    Skip,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// What the step does.
    pub name: String,
    /// Whether its expectation held.
    pub passed: bool,
    /// What was observed.
    pub detail: String,
    /// Bench (device) time taken, milliseconds.
    pub bench_ms: f64,
    /// Wall time taken, milliseconds.
    pub wall_ms: f64,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Pass / fail / skip.
    pub outcome: Outcome,
    /// The expectation from the catalogue.
    pub expectation: String,
    /// Summary (the first failing step's detail on failure).
    pub message: String,
    /// Bench time, milliseconds.
    pub bench_ms: f64,
    /// Wall time, milliseconds.
    pub wall_ms: f64,
    /// Steps of a single scenario.
    pub steps: Vec<StepReport>,
    /// Sub-reports of a sequence.
    pub scenarios: Vec<ScenarioReport>,
    /// For a sequence: the scenario that failed.
    pub failed_at: Option<String>,
}

impl ScenarioReport {
    /// True if the outcome is [`Outcome::Pass`].
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }
}

/// `run` was given a name not in [`CATALOGUE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {0:?}")]
pub struct UnknownScenario(pub String);

type StepResult = Result<String, String>;

struct Ctx<'a, T: Transport> {
    client: &'a mut Client<T>,
    bench: &'a mut dyn Bench,
    cfg: &'a ScenarioConfig,
    steps: Vec<StepReport>,
    timeouts: crate::client::Timeouts,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl<T: Transport> Ctx<'_, T> {
    /// Runs one step; returns whether it passed.
    fn step(&mut self, name: &str, f: impl FnOnce(&mut Self) -> StepResult) -> bool {
        let (b0, w0) = (self.bench.now(), Instant::now());
        let r = f(self);
        let (bench_ms, wall_ms) = (ms(self.bench.now().saturating_sub(b0)), ms(w0.elapsed()));
        let passed = r.is_ok();
        let detail = r.unwrap_or_else(|e| e);
        self.steps.push(StepReport {
            name: name.to_string(),
            passed,
            detail,
            bench_ms,
            wall_ms,
        });
        passed
    }

    /// Drops unread input (earlier answers), then sends `bytes` as they are.
    fn send_fresh(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.client.discard_input().map_err(|e| e.to_string())?;
        self.client.send_raw(bytes).map_err(|e| e.to_string())
    }

    /// Drops unread input (earlier answers), then sends `request` in a frame.
    fn send_request_fresh(&mut self, request: &pb::BootloaderRequest) -> Result<(), String> {
        self.client.discard_input().map_err(|e| e.to_string())?;
        self.client.send_request(request).map_err(|e| e.to_string())
    }

    fn response_timeout(&self) -> Duration {
        // Reads go through wall time; give the device its frame timeout on top.
        self.timeouts.response + Duration::from_millis(u64::from(limits::FRAME_TIMEOUT_MS))
    }

    fn next_seq(&self) -> u32 {
        self.client.last_sequence_id().wrapping_add(1)
    }

    fn handshake(&mut self) -> StepResult {
        self.client
            .handshake()
            .map(|h| format!("{h:?}"))
            .map_err(|e| e.to_string())
    }

    /// Reads one response and checks it is an ErrorReport with `code`, `result` and
    /// `failed_sequence_id`.
    fn expect_report(
        &mut self,
        code: pb::ErrorCode,
        result: pb::ResultCode,
        failed: u32,
    ) -> StepResult {
        let r = self
            .client
            .read_response(self.response_timeout())
            .map_err(|e| format!("expected {}: {e}", code.as_str_name()))?;
        check_report(&r, code, result, failed)
    }
}

fn check_report(
    r: &pb::BootloaderResponse,
    code: pb::ErrorCode,
    result: pb::ResultCode,
    failed: u32,
) -> StepResult {
    let Some(pb::ResponseKind::Error(e)) = &r.response else {
        return Err(format!(
            "expected ErrorReport {}, got {:?}",
            code.as_str_name(),
            r.response
        ));
    };
    if e.error_code != code as i32 || r.result != result as i32 || e.failed_sequence_id != failed {
        return Err(format!(
            "expected {} / {} / failed_sequence_id {failed}, got error_code {} result {} failed_sequence_id {} ({:?})",
            code.as_str_name(),
            result.as_str_name(),
            e.error_code,
            r.result,
            e.failed_sequence_id,
            e.diagnostic_message
        ));
    }
    Ok(format!("{} {:?}", code.as_str_name(), e.diagnostic_message))
}

fn handshake_request(seq: u32) -> pb::BootloaderRequest {
    pb::BootloaderRequest::new(
        seq,
        pb::RequestKind::Handshake(pb::HandshakeRequest {
            capabilities: crate::client::CLIENT_CAPABILITIES.into(),
            max_packet_size: limits::MAX_PAYLOAD as u32,
        }),
    )
}

fn prepare_request(seq: u32, total: u32) -> pb::BootloaderRequest {
    pb::BootloaderRequest::new(
        seq,
        pb::RequestKind::FlashProgram(pb::FlashProgramRequest {
            total_data_length: total,
            verify_after_program: false,
        }),
    )
}

fn frame(payload: &[u8]) -> Result<Vec<u8>, String> {
    Client::<crate::client::Stream<std::io::Empty>>::frame(payload).map_err(|e| e.to_string())
}

fn device_err(e: &ClientError) -> Option<&crate::client::DeviceError> {
    e.device()
}

/// Runs the scenario `name` (a single one or a sequence) against `client` on `bench`.
/// Errors: [`UnknownScenario`].
pub fn run<T: Transport>(
    name: &str,
    client: &mut Client<T>,
    bench: &mut dyn Bench,
    cfg: &ScenarioConfig,
) -> Result<ScenarioReport, UnknownScenario> {
    let spec = find(name).ok_or_else(|| UnknownScenario(name.to_string()))?;
    let (b0, w0) = (bench.now(), Instant::now());
    if !spec.sequence.is_empty() {
        let mut scenarios = Vec::new();
        let mut failed_at = None;
        for sub in spec.sequence {
            let r = run(sub, client, bench, cfg)?;
            let ok = r.passed();
            scenarios.push(r);
            if !ok {
                failed_at = Some((*sub).to_string());
                break;
            }
        }
        let outcome = if failed_at.is_some() {
            Outcome::Fail
        } else {
            Outcome::Pass
        };
        let message = match &failed_at {
            Some(s) => format!("failed at {s}"),
            None => format!("{} scenarios passed", scenarios.len()),
        };
        return Ok(ScenarioReport {
            name: name.to_string(),
            outcome,
            expectation: spec.expectation.to_string(),
            message,
            bench_ms: ms(bench.now().saturating_sub(b0)),
            wall_ms: ms(w0.elapsed()),
            steps: Vec::new(),
            scenarios,
            failed_at,
        });
    }
    let timeouts = *client.timeouts_mut();
    let mut ctx = Ctx {
        client,
        bench,
        cfg,
        steps: Vec::new(),
        timeouts,
    };
    let skipped = run_single(name, &mut ctx);
    let Ctx { steps, bench, .. } = ctx;
    let failed = steps.iter().find(|s| !s.passed);
    let (outcome, message) = match (skipped, failed) {
        (Some(why), _) => (Outcome::Skip, why),
        (None, Some(f)) => (Outcome::Fail, format!("{}: {}", f.name, f.detail)),
        (None, None) => (Outcome::Pass, format!("{} steps passed", steps.len())),
    };
    Ok(ScenarioReport {
        name: name.to_string(),
        outcome,
        expectation: spec.expectation.to_string(),
        message,
        bench_ms: ms(bench.now().saturating_sub(b0)),
        wall_ms: ms(w0.elapsed()),
        steps,
        scenarios: Vec::new(),
        failed_at: None,
    })
}

/// Runs the steps of a single scenario into `ctx.steps`; returns `Some(reason)` if skipped.
fn run_single<T: Transport>(name: &str, ctx: &mut Ctx<'_, T>) -> Option<String> {
    use pb::{ErrorCode as E, ResultCode as R};
    match name {
        "normal" => {
            ctx.step("upload", |c| {
                let img = c.cfg.image.clone();
                c.client
                    .upload(&img, |_| {})
                    .map(|r| {
                        format!(
                            "{} bytes in {} chunks, {} retries, {:.1} ms, efficiency {:?}",
                            r.bytes,
                            r.chunks,
                            r.retries,
                            ms(r.duration),
                            r.line_efficiency
                        )
                    })
                    .map_err(|e| e.to_string())
            });
        }
        "crc_frame_corruption" => {
            let _ = ctx.step("handshake with corrupted CRC → COMM_CRC_MISMATCH", |c| {
                let mut f = frame(&handshake_request(c.next_seq()).encode_to_vec())?;
                let n = f.len();
                f[n - 3] ^= 0xFF;
                c.send_fresh(&f)?;
                c.expect_report(E::CommCrcMismatch, R::ErrorCommunication, 0)
            }) && ctx.step("handshake", Ctx::handshake);
        }
        "partial_frame_timeout" => {
            let _ = ctx.step("partial frame, idle → COMM_TIMEOUT", |c| {
                c.send_fresh(&[0x7E, 0x00, 0x20])?;
                c.bench.wait(c.cfg.partial_idle);
                c.expect_report(E::CommTimeout, R::ErrorCommunication, 0)
            }) && ctx.step("handshake", Ctx::handshake)
                && ctx.step(
                    "partial frame, 600 ms, handshake frame → COMM_TIMEOUT then handshake",
                    |c| {
                        let seq = c.next_seq();
                        let f = frame(&handshake_request(seq).encode_to_vec())?;
                        c.send_fresh(&[0x7E, 0x00, 0x20, 0x01])?;
                        c.bench.wait(Duration::from_millis(
                            u64::from(limits::FRAME_TIMEOUT_MS) + 100,
                        ));
                        c.client.send_raw(&f).map_err(|e| e.to_string())?;
                        let first = c.expect_report(E::CommTimeout, R::ErrorCommunication, 0)?;
                        expect_handshake(c, seq).map(|h| format!("{first}; {h}"))
                    },
                )
                && ctx.step(
                    "partial frame, handshake frame at once → COMM_FRAMING_ERROR then handshake",
                    |c| {
                        let seq = c.next_seq();
                        let f = frame(&handshake_request(seq).encode_to_vec())?;
                        let mut bytes = vec![0x7E, 0x00, 0x20, 0x01];
                        bytes.extend_from_slice(&f);
                        c.send_fresh(&bytes)?;
                        let first =
                            c.expect_report(E::CommFramingError, R::ErrorCommunication, 0)?;
                        expect_handshake(c, seq).map(|h| format!("{first}; {h}"))
                    },
                );
        }
        "timeout_handshake" => {
            ctx.step("idle, then handshake", |c| {
                c.bench.wait(c.cfg.handshake_idle);
                c.handshake()
            });
        }
        "timeout_session" => {
            let _ = ctx.step("handshake", Ctx::handshake)
                && ctx.step(
                    "idle past the session timeout, prepare → INVALID_SEQUENCE \"no session\"",
                    |c| {
                        c.bench.wait(c.cfg.session_idle);
                        match c.client.prepare(c.cfg.image.len() as u32) {
                            Ok(()) => Err("prepare succeeded: the session did not time out".into()),
                            Err(e) => match device_err(&e) {
                                Some(d)
                                    if d.code() == Some(E::InvalidSequence)
                                        && d.result == R::ErrorInvalidRequest as i32
                                        && d.diagnostic_message == "no session" =>
                                {
                                    Ok(d.to_string())
                                }
                                _ => Err(format!(
                                    "expected INVALID_SEQUENCE \"no session\", got {e}"
                                )),
                            },
                        }
                    },
                )
                && ctx.step("handshake + prepare", |c| {
                    c.handshake()?;
                    c.client
                        .prepare(c.cfg.image.len() as u32)
                        .map(|()| "ack".into())
                        .map_err(|e| e.to_string())
                });
        }
        "garbage_flood" => {
            let _ = ctx.step("flood, then only frame-level ErrorReports", |c| {
                let mut x: u32 = 42;
                let garbage: Vec<u8> = (0..c.cfg.garbage_bytes)
                    .map(|_| {
                        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (x >> 24) as u8
                    })
                    .collect();
                c.send_fresh(&garbage)?;
                c.bench.wait(Duration::from_secs(1));
                let mut reports = 0;
                loop {
                    match c.client.read_response(Duration::from_millis(200)) {
                        Ok(r) => match &r.response {
                            Some(pb::ResponseKind::Error(e))
                                if e.failed_sequence_id == 0 && r.sequence_id == 0 =>
                            {
                                reports += 1
                            }
                            other => {
                                return Err(format!("unexpected response during flood: {other:?}"));
                            }
                        },
                        Err(ClientError::Timeout { .. }) => break,
                        Err(e) => return Err(format!("damaged response during flood: {e}")),
                    }
                }
                Ok(format!(
                    "{} garbage bytes, {reports} ErrorReports",
                    garbage.len()
                ))
            }) && ctx.step("handshake", Ctx::handshake);
        }
        "oversize_length" => {
            let _ = ctx.step("LEN 1025 → COMM_FRAMING_ERROR", |c| {
                c.send_fresh(&[0x7E, 0x04, 0x01])?;
                let r = c.expect_report(E::CommFramingError, R::ErrorCommunication, 0)?;
                c.client.send_raw(&[0u8; 16]).map_err(|e| e.to_string())?;
                Ok(r)
            }) && ctx.step("handshake", Ctx::handshake);
        }
        "truncated_protobuf" => {
            let _ = ctx.step("truncated handshake payload → COMM_FRAMING_ERROR", |c| {
                let payload = handshake_request(c.next_seq()).encode_to_vec();
                let f = frame(&payload[..20])?;
                c.send_fresh(&f)?;
                let r = c.expect_report(E::CommFramingError, R::ErrorCommunication, 0)?;
                if !r.contains("protobuf decode failed") {
                    return Err(format!("expected \"protobuf decode failed\", got {r}"));
                }
                Ok(r)
            }) && ctx.step("handshake", Ctx::handshake);
        }
        "wrong_sequence_id" => {
            let _ = ctx.step("handshake", Ctx::handshake)
                && ctx.step("prepare with id s+5 → INVALID_SEQUENCE", |c| {
                    let bad = c.client.last_sequence_id().wrapping_add(5);
                    c.send_request_fresh(&prepare_request(bad, c.cfg.image.len() as u32))?;
                    c.expect_report(E::InvalidSequence, R::ErrorInvalidRequest, bad)
                })
                && ctx.step(
                    "prepare with s+1, retransmission answered from cache",
                    |c| {
                        let seq = c.next_seq();
                        let req = prepare_request(seq, c.cfg.image.len() as u32);
                        c.send_request_fresh(&req)?;
                        let first = c
                            .client
                            .read_response(c.timeouts.prepare)
                            .map_err(|e| e.to_string())?;
                        if !matches!(&first.response, Some(pb::ResponseKind::Ack(a)) if a.success)
                            || first.sequence_id != seq
                        {
                            return Err(format!("expected Ack for {seq}, got {first:?}"));
                        }
                        c.client.set_last_sequence_id(seq);
                        c.client.send_request(&req).map_err(|e| e.to_string())?;
                        let again = c
                            .client
                            .read_response(c.timeouts.prepare)
                            .map_err(|e| e.to_string())?;
                        if again != first {
                            return Err(format!(
                                "retransmission answered differently: {again:?} vs {first:?}"
                            ));
                        }
                        Ok(format!("Ack for {seq}, twice"))
                    },
                )
                && ctx.step("stale id s → INVALID_SEQUENCE", |c| {
                    let stale = c.client.last_sequence_id().wrapping_sub(1);
                    c.send_request_fresh(&prepare_request(stale, 1))?;
                    c.expect_report(E::InvalidSequence, R::ErrorInvalidRequest, stale)
                });
        }
        "unknown_request" => {
            let _ = ctx.step("handshake", Ctx::handshake)
                && ctx.step("empty oneof → ERROR_INVALID_REQUEST", |c| {
                    let seq = c.next_seq();
                    send_and_expect_invalid(
                        c,
                        &pb::BootloaderRequest {
                            sequence_id: seq,
                            request: None,
                        }
                        .encode_to_vec(),
                        seq,
                    )
                })
                && ctx.step("unknown oneof field 15 → ERROR_INVALID_REQUEST", |c| {
                    let seq = c.next_seq();
                    let mut p = pb::BootloaderRequest {
                        sequence_id: seq,
                        request: None,
                    }
                    .encode_to_vec();
                    p.extend_from_slice(&[0x7A, 0x02, 0x08, 0x01]); // field 15, LEN 2, {1: 1}
                    send_and_expect_invalid(c, &p, seq)
                })
                && ctx.step("ErrorRecoveryRequest → ERROR_INVALID_REQUEST", |c| {
                    let seq = c.next_seq();
                    let req = pb::BootloaderRequest::new(
                        seq,
                        pb::RequestKind::Recovery(pb::ErrorRecoveryRequest {
                            action: pb::RecoveryAction::AbortAndReset as i32,
                        }),
                    );
                    send_and_expect_invalid(c, &req.encode_to_vec(), seq)
                })
                && ctx.step("handshake", Ctx::handshake);
        }
        "power_loss_during_programming" => {
            let old = crc32(&ctx.cfg.image);
            let new = crc32(&ctx.cfg.alternate_image);
            if old == new {
                return Some("image and alternate_image are identical".into());
            }
            if !ctx.step("upload image A", |c| {
                let img = c.cfg.image.clone();
                c.client
                    .upload(&img, |_| {})
                    .map(|r| format!("{} bytes", r.bytes))
                    .map_err(|e| e.to_string())
            }) {
                return None;
            }
            if !ctx.bench.arm_power_cut(ctx.cfg.power_cut_after_ops) {
                ctx.steps.clear();
                return Some("the bench cannot cut power".into());
            }
            let _ = ctx.step("upload image B with a power cut", |c| {
                let img = c.cfg.alternate_image.clone();
                let r = c.client.upload(&img, |_| {});
                Ok(match r {
                    Ok(_) => "upload completed before the cut point".into(),
                    Err(e) => format!("interrupted: {e}"),
                })
            }) && ctx.step("reboot boots A or B", |c| {
                c.bench.reboot();
                c.client.reset_session();
                match c.bench.booted_image_crc32() {
                    Some(crc) if crc == old => Ok("boots A".into()),
                    Some(crc) if crc == new => Ok("boots B".into()),
                    other => Err(format!(
                        "boots {other:08X?}, expected A {old:08X} or B {new:08X}"
                    )),
                }
            }) && ctx.step("upload image B, reboot boots B", |c| {
                let img = c.cfg.alternate_image.clone();
                c.client.upload(&img, |_| {}).map_err(|e| e.to_string())?;
                c.bench.reboot();
                c.client.reset_session();
                match c.bench.booted_image_crc32() {
                    Some(crc) if crc == new => Ok("boots B".into()),
                    other => Err(format!("boots {other:08X?}, expected B {new:08X}")),
                }
            });
        }
        _ => return Some(format!("no steps for {name}")),
    }
    None
}

fn expect_handshake<T: Transport>(c: &mut Ctx<'_, T>, seq: u32) -> StepResult {
    let r = c
        .client
        .read_response(c.response_timeout())
        .map_err(|e| format!("expected handshake response: {e}"))?;
    match &r.response {
        Some(pb::ResponseKind::Handshake(h)) if r.sequence_id == seq => {
            c.client.set_last_sequence_id(seq);
            Ok(format!("handshake {seq}: {}", h.bootloader_version))
        }
        other => Err(format!(
            "expected handshake response {seq}, got {other:?} (id {})",
            r.sequence_id
        )),
    }
}

fn send_and_expect_invalid<T: Transport>(
    c: &mut Ctx<'_, T>,
    payload: &[u8],
    seq: u32,
) -> StepResult {
    let f = frame(payload)?;
    c.send_fresh(&f)?;
    let r = c
        .client
        .read_response(c.response_timeout())
        .map_err(|e| e.to_string())?;
    let Some(pb::ResponseKind::Error(e)) = &r.response else {
        return Err(format!("expected ErrorReport, got {:?}", r.response));
    };
    if r.result != pb::ResultCode::ErrorInvalidRequest as i32 || e.failed_sequence_id != seq {
        return Err(format!(
            "expected ERROR_INVALID_REQUEST for {seq}, got result {} {e:?}",
            r.result
        ));
    }
    Ok(format!("{:?}", e.diagnostic_message))
}
