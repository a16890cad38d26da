//! Test plans: one TOML file describes one test (program, budget, and the Golden Triangle checks).
//!
//! [`Plan::load`] reads and validates a plan file. Parsing happens in two steps: serde reads the
//! raw TOML into `Raw*` structs (`deny_unknown_fields`, so a misspelt key is an error with its
//! line), then validation turns them into the typed [`Plan`] (regexes compiled, register names
//! resolved, VM error names looked up). Every error names the plan file and the offending key.
//! The format is documented in `test-plans/README.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cockpit_hypervisor::failsafe::{Reason, State};
use cockpit_hypervisor::fault::{self, FaultKind};
use cockpit_hypervisor::pins::PIN_COUNT;
use cockpit_oracle::pb::ErrorCode;
use cockpit_vm::{GLOBALS, VmError};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::corereg::CoreRegister;
use crate::regmap;
use crate::target::{Budget, Target, TargetError};

/// Board kinds a plan may name in `boards`.
pub const BOARD_KINDS: [&str; 3] = ["sim", "emu", "probe"];

/// A plan that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("{path}: cannot read plan: {source}")]
    Io {
        /// Plan file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown key or a value of the wrong type; the message
    /// carries the line and column.
    #[error("{path}: {message}")]
    Syntax {
        /// Plan file.
        path: PathBuf,
        /// The toml crate's message (line, column, key).
        message: String,
    },
    /// A value is well-typed but invalid (bad regex, unknown register, …).
    #[error("{path}: `{field}`: {message}")]
    Invalid {
        /// Plan file.
        path: PathBuf,
        /// Dotted key of the offending field, e.g. `console[2].regex`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A validated test plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The plan file.
    pub path: PathBuf,
    /// Unique test name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The program, resolved against the plan file's directory.
    pub program: PathBuf,
    /// Board kinds the plan applies to (each one of [`BOARD_KINDS`]).
    pub boards: Vec<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Run limits.
    pub budget: Budget,
    /// Corner 1 inverted: compilation must fail with diagnostics matching this regex
    /// (multi-line mode, as console regexes). When set, the plan has no other checks and no
    /// inputs: nothing runs.
    pub expect_compile_error: Option<Regex>,
    /// Input levels driven onto logical pins, in plan order: each pin's entries form its
    /// schedule (distinct times per pin, all before the `virtual_time` budget).
    pub inputs: Vec<Input>,
    /// Corner 2 checks, in plan order.
    pub console: Vec<ConsoleCheck>,
    /// Corner 3 register/memory checks, in plan order.
    pub registers: Vec<RegisterCheck>,
    /// Corner 3 VM end-state check (always present: the default expects no error).
    pub vm: VmCheck,
    /// Pin timing checks, in plan order.
    pub timing: Vec<TimingCheck>,
    /// How the program reaches the board (`upload`, with `preload`, `expect_upload_error`).
    pub upload: Upload,
    /// Deliberate damage applied to the built image before it is delivered (`corrupt`).
    pub corrupt: Option<Corruption>,
    /// `[inject]`: a test-only command sent to the firmware's bootloader before the run.
    pub inject: Option<Inject>,
    /// `[[transcript]]`: corner 2 checks on everything the board sent on USART1 (the
    /// firmware's own lines too), in plan order.
    pub transcript: Vec<ConsoleCheck>,
    /// `[[log]]`: corner 2 checks on the firmware's decoded defmt log
    /// ([`crate::target::Target::log`]: one `"<s> <LEVEL> <message>"` line per frame, each
    /// ending in `\n`), in plan order; empty on boards without one (`sim`).
    pub log: Vec<ConsoleCheck>,
    /// `[fault_record]`: corner 3 check of the firmware's decoded fault record.
    pub fault_record: Option<FaultRecordCheck>,
    /// `[failsafe]`: corner 3 check of the firmware's fail-safe record.
    pub failsafe: Option<FailsafeCheck>,
}

/// `[inject]`: before the run, the runner resets the board into its bootloader
/// ([`crate::target::Target::bootloader_port`]), sends `command` and a newline on that serial
/// port (resending it every [`Inject::RESEND`] until the board answers), reads what the board
/// sends until `until` appears (at most `timeout`), then reboots the board and runs the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inject {
    /// The line to send (without the newline), e.g. `!CKPT:HARDFAULT`.
    pub command: String,
    /// Text the board prints once the command took effect.
    pub until: String,
    /// Longest wait for `until` (`timeout_s`, default 10 s).
    pub timeout: Duration,
}

impl Inject {
    /// Interval between resends of the command while the board has not answered (bytes sent
    /// while the firmware is still booting are lost).
    pub const RESEND: Duration = Duration::from_millis(500);
}

/// `[fault_record]`: the fault record at `cockpit_hypervisor::fault::FAULT_ADDR` must be valid
/// and match every given key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecordCheck {
    /// `kind`: `HARDFAULT`, `PANIC` or `MEMMANAGE` (an MPU violation).
    pub kind: Option<FaultKind>,
    /// `pc = "firmware"`: the stacked PC lies in the firmware's flash region
    /// (`0x0800_0000` up to the program bank).
    pub pc_in_firmware: bool,
    /// `cfsr`: CFSR bits that must be set, by name (`UNDEFINSTR`), with their masks.
    pub cfsr: Vec<(String, u32)>,
    /// `hfsr`: HFSR bits that must be set, by name (`FORCED`), with their masks.
    pub hfsr: Vec<(String, u32)>,
    /// `count`: faults recorded since the record was created.
    pub count: Option<u32>,
}

/// `[failsafe]`: the fail-safe record at `cockpit_hypervisor::failsafe::BOOT_ADDR` must be
/// valid and match every given key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailsafeCheck {
    /// `state`: `NORMAL`, `DEGRADED` or `SAFESTOP`.
    pub state: Option<State>,
    /// `reason`: as the firmware prints it (`fault`, `watchdog`, `user-key`, …).
    pub reason: Option<Reason>,
}

/// How the program reaches the board: the top-level `upload` key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Upload {
    /// `upload = "direct"` (default): the image is placed in program flash by the board itself
    /// ([`crate::target::Target::load`]).
    #[default]
    Direct,
    /// `upload = "oracle"`: the image travels through the Oracle bootloader over the board's
    /// serial port ([`crate::target::Target::bootloader_port`]), then the board reboots into it.
    Oracle(OracleUpload),
}

/// The details of an `upload = "oracle"` plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OracleUpload {
    /// `preload`: a program (resolved against the plan's directory) loaded directly before the
    /// upload, so the board holds a previous image.
    pub preload: Option<PathBuf>,
    /// `expect_upload_error`: the device must reject the upload with this `ErrorCode`; the test
    /// then runs whatever boots (the preloaded image).
    pub expect_error: Option<ErrorCode>,
}

/// Deliberate damage to the program image (the `corrupt` key), so corrupt-image plans need no
/// binary fixtures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// `"crc"`: the last byte is inverted, so the container checksum no longer matches.
    Crc,
    /// `"truncate"`: only the first half of the image (at least 1 byte) is kept.
    Truncate,
    /// `"magic"`: the first byte of the magic number is inverted.
    Magic,
}

impl Corruption {
    /// Applies the damage to `image` (see the variants).
    pub fn apply(self, image: &mut Vec<u8>) {
        match self {
            Corruption::Crc => {
                if let Some(last) = image.last_mut() {
                    *last ^= 0xFF;
                }
            }
            Corruption::Truncate => image.truncate((image.len() / 2).max(1)),
            Corruption::Magic => {
                if let Some(first) = image.first_mut() {
                    *first ^= 0xFF;
                }
            }
        }
    }
}

/// One console (corner 2) expectation on the USART1 transcript.
#[derive(Clone, Debug)]
pub enum ConsoleCheck {
    /// The transcript contains this substring.
    Contains(String),
    /// The transcript does not contain this substring.
    NotContains(String),
    /// The regex (multi-line mode: `^`/`$` match at line boundaries) matches somewhere.
    Regex(Regex),
    /// Each item is a substring of a line strictly after the line that matched the previous item.
    Sequence(Vec<String>),
    /// The whole transcript equals this text, byte for byte (nothing is trimmed).
    Exact(String),
}

/// A level driven onto a logical pin's input from outside the board (a button, a jumper),
/// from board time `at` until the pin's next [`Input`] (or the end of the run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Input {
    /// Logical pin number (`0..PIN_COUNT`).
    pub pin: u8,
    /// Driven level: `true` = high.
    pub high: bool,
    /// Board time from the guest program's start (the origin of pin edges and budgets) at
    /// which the level is applied; zero = before the program starts (from reset).
    pub at: Duration,
}

/// What a [`RegisterCheck`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterSource {
    /// The 32-bit word at this byte address (a peripheral register, flash, RAM):
    /// [`Target::read_u32`].
    Memory(u32),
    /// A core register of the board's CPU (`emu`, `probe`): [`Target::read_core_register`].
    Core(CoreRegister),
}

impl RegisterSource {
    /// Reads the value from `target`. Errors: the target's (`Unsupported` for a core register
    /// on a board without a CPU).
    pub fn read(self, target: &mut dyn Target) -> Result<u32, TargetError> {
        match self {
            RegisterSource::Memory(addr) => target.read_u32(addr),
            RegisterSource::Core(reg) => target.read_core_register(reg),
        }
    }
}

/// Board kinds without a CPU whose core registers a plan could read.
pub const NO_CORE_REGISTERS: [&str; 1] = ["sim"];

/// One register or memory word (corner 3) expectation: `source & mask == equals`.
#[derive(Clone, Debug)]
pub struct RegisterCheck {
    /// RM0440 or core register name as written in the plan; when given by address, the
    /// address in hex followed by its RM0440 name if the register map knows it
    /// (`0x48000814 (GPIOC.ODR)`).
    pub label: String,
    /// What is read.
    pub source: RegisterSource,
    /// Bits compared.
    pub mask: u32,
    /// Expected value of the masked bits.
    pub equals: u32,
    /// Free text.
    pub description: Option<String>,
}

/// The expected VM end state (corner 3).
#[derive(Clone, Debug, Default)]
pub struct VmCheck {
    /// Expected error; `None` = the default (`NONE`, or also `BUDGET_EXCEEDED` for setup/loop
    /// images, which only end when the budget does).
    pub error: Option<VmError>,
    /// Exact operand stack, bottom to top.
    pub stack: Option<Vec<i32>>,
    /// Expected global values, in key order.
    pub globals: Vec<(GlobalRef, i32)>,
}

/// A global variable, as a plan names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobalRef {
    /// By name, from the image's symbol table.
    Name(String),
    /// By slot index (`0..GLOBALS`).
    Index(usize),
}

impl fmt::Display for GlobalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlobalRef::Name(n) => f.write_str(n),
            GlobalRef::Index(i) => write!(f, "global[{i}]"),
        }
    }
}

/// What a timing check measures on a pin's output edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Width of complete pulses at this level (`true` = high: rising→falling).
    PulseWidth {
        /// Level of the pulse.
        high: bool,
    },
    /// Rising edge to next rising edge.
    Period,
}

/// One timing expectation on a logical pin.
#[derive(Clone, Debug)]
pub struct TimingCheck {
    /// Logical pin number.
    pub pin: u8,
    /// What to measure.
    pub measure: Measure,
    /// Expected duration of every measured interval, in milliseconds.
    pub expect_ms: f64,
    /// Allowed deviation of every interval from `expect_ms`, in milliseconds.
    pub tolerance_ms: f64,
    /// Exact number of complete intervals expected, if given.
    pub count: Option<u32>,
}

impl TimingCheck {
    /// Metric name of the measurement, e.g. `pin13.pulse_high_ms` or `pin13.period_ms`.
    pub fn metric_name(&self) -> String {
        match self.measure {
            Measure::PulseWidth { high: true } => format!("pin{}.pulse_high_ms", self.pin),
            Measure::PulseWidth { high: false } => format!("pin{}.pulse_low_ms", self.pin),
            Measure::Period => format!("pin{}.period_ms", self.pin),
        }
    }
}

impl Plan {
    /// Reads and validates the plan at `path`. Errors name the file and the key at fault.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Plan::parse(&text, path)
    }

    /// Parses and validates plan text; `path` is the plan file (for messages and to resolve
    /// `program` against its directory).
    pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanError> {
        let raw: RawPlan = toml::from_str(text).map_err(|e| PlanError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        raw.validate(path)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: String,
    #[serde(default)]
    description: String,
    program: String,
    #[serde(default = "default_boards")]
    boards: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    budget: RawBudget,
    expect_compile_error: Option<String>,
    #[serde(default)]
    console: Vec<RawConsole>,
    #[serde(default)]
    register: Vec<RawRegister>,
    vm: Option<RawVm>,
    #[serde(default)]
    timing: Vec<RawTiming>,
    #[serde(default)]
    input: Vec<RawInput>,
    upload: Option<String>,
    preload: Option<String>,
    expect_upload_error: Option<String>,
    corrupt: Option<String>,
    inject: Option<RawInject>,
    #[serde(default)]
    transcript: Vec<RawConsole>,
    #[serde(default)]
    log: Vec<RawConsole>,
    fault_record: Option<RawFaultRecord>,
    failsafe: Option<RawFailsafe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInject {
    command: String,
    until: String,
    timeout_s: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaultRecord {
    kind: Option<String>,
    pc: Option<String>,
    #[serde(default)]
    cfsr: Vec<String>,
    #[serde(default)]
    hfsr: Vec<String>,
    count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFailsafe {
    state: Option<String>,
    reason: Option<String>,
}

fn default_boards() -> Vec<String> {
    vec!["sim".to_string()]
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    timeout_s: Option<f64>,
    virtual_ms: Option<u64>,
    max_instructions: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    contains: Option<String>,
    not_contains: Option<String>,
    regex: Option<String>,
    sequence: Option<Vec<String>>,
    exact: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    name: Option<String>,
    address: Option<u32>,
    mask: Option<u32>,
    equals: Option<u32>,
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVm {
    error: Option<String>,
    stack: Option<Vec<i32>>,
    #[serde(default)]
    globals: BTreeMap<String, i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTiming {
    pin: u8,
    measure: String,
    level: Option<String>,
    expect_ms: f64,
    tolerance_ms: f64,
    count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    pin: u8,
    level: String,
    at_ms: Option<f64>,
}

/// A regex in the multi-line mode that console checks and `expect_compile_error` use: `^` and
/// `$` match at line starts and ends.
fn multi_line_regex(re: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(re).multi_line(true).build()
}

/// Default wall-clock timeout, in seconds.
const DEFAULT_TIMEOUT_S: f64 = 10.0;
/// Default board-time budget, in milliseconds.
const DEFAULT_VIRTUAL_MS: u64 = 10_000;
/// Default instruction budget.
const DEFAULT_MAX_INSTRUCTIONS: u64 = 50_000_000;

impl RawPlan {
    fn validate(self, path: &Path) -> Result<Plan, PlanError> {
        let invalid = |field: String, message: String| PlanError::Invalid {
            path: path.to_path_buf(),
            field,
            message,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name".into(), "must not be empty".into()));
        }
        if self.program.trim().is_empty() {
            return Err(invalid("program".into(), "must not be empty".into()));
        }
        if self.boards.is_empty() {
            return Err(invalid(
                "boards".into(),
                "must name at least one board kind (an empty list would never run the plan)".into(),
            ));
        }
        for (i, b) in self.boards.iter().enumerate() {
            if !BOARD_KINDS.contains(&b.as_str()) {
                return Err(invalid(
                    format!("boards[{i}]"),
                    format!(
                        "unknown board kind {b:?} (known: {})",
                        BOARD_KINDS.join(", ")
                    ),
                ));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let (upload, corrupt) = self.upload_keys(base).map_err(|(f, m)| invalid(f, m))?;
        let budget = self.budget.validate().map_err(|(f, m)| invalid(f, m))?;
        let expect_compile_error = match &self.expect_compile_error {
            None => None,
            Some(re) => {
                if !crate::program::is_source(Path::new(&self.program)) {
                    return Err(invalid(
                        "expect_compile_error".into(),
                        "needs a source program (.c/.ino), not an image".into(),
                    ));
                }
                let present = [
                    ("console", "[[console]]", !self.console.is_empty()),
                    ("register", "[[register]]", !self.register.is_empty()),
                    ("vm", "[vm]", self.vm.is_some()),
                    ("timing", "[[timing]]", !self.timing.is_empty()),
                    ("input", "[[input]]", !self.input.is_empty()),
                    ("inject", "[inject]", self.inject.is_some()),
                    ("transcript", "[[transcript]]", !self.transcript.is_empty()),
                    ("log", "[[log]]", !self.log.is_empty()),
                    (
                        "fault_record",
                        "[fault_record]",
                        self.fault_record.is_some(),
                    ),
                    ("failsafe", "[failsafe]", self.failsafe.is_some()),
                ];
                if let Some((field, table, _)) = present.iter().find(|p| p.2) {
                    return Err(invalid(
                        (*field).into(),
                        format!(
                            "{table} cannot be combined with `expect_compile_error`: \
                             when compilation must fail, nothing runs"
                        ),
                    ));
                }
                let re = multi_line_regex(re)
                    .map_err(|e| invalid("expect_compile_error".into(), e.to_string()))?;
                if re.is_match("") {
                    return Err(invalid(
                        "expect_compile_error".into(),
                        format!(
                            "/{}/ matches the empty string, so any diagnostics match",
                            re.as_str()
                        ),
                    ));
                }
                Some(re)
            }
        };
        let console =
            entries("console", self.console, |r| r.validate()).map_err(|(f, m)| invalid(f, m))?;
        let registers =
            entries("register", self.register, |r| r.validate()).map_err(|(f, m)| invalid(f, m))?;
        let no_cpu = self
            .boards
            .iter()
            .find(|b| NO_CORE_REGISTERS.contains(&b.as_str()));
        if let (Some(kind), Some((i, reg))) = (
            no_cpu,
            registers
                .iter()
                .enumerate()
                .find_map(|(i, r)| match r.source {
                    RegisterSource::Core(reg) => Some((i, reg)),
                    RegisterSource::Memory(_) => None,
                }),
        ) {
            return Err(invalid(
                format!("register[{i}].name"),
                format!(
                    "core register {reg} cannot be read on board kind {kind:?} (it models no \
                     CPU); list only boards with one (\"emu\", \"probe\") in `boards`"
                ),
            ));
        }
        let vm = self
            .vm
            .unwrap_or_default()
            .validate()
            .map_err(|(f, m)| invalid(f, m))?;
        let timing =
            entries("timing", self.timing, |r| r.validate()).map_err(|(f, m)| invalid(f, m))?;
        let transcript = entries("transcript", self.transcript, |r| r.validate())
            .map_err(|(f, m)| invalid(f, m))?;
        let log = entries("log", self.log, |r| r.validate()).map_err(|(f, m)| invalid(f, m))?;
        let inject = self
            .inject
            .map(RawInject::validate)
            .transpose()
            .map_err(|(f, m)| invalid(format!("inject{f}"), m))?;
        let fault_record = self
            .fault_record
            .map(RawFaultRecord::validate)
            .transpose()
            .map_err(|(f, m)| invalid(format!("fault_record{f}"), m))?;
        let failsafe = self
            .failsafe
            .map(RawFailsafe::validate)
            .transpose()
            .map_err(|(f, m)| invalid(format!("failsafe{f}"), m))?;
        let mut inputs: Vec<Input> = Vec::with_capacity(self.input.len());
        for (i, raw) in self.input.into_iter().enumerate() {
            let input = raw
                .validate(budget.virtual_time)
                .map_err(|(f, m)| invalid(format!("input[{i}]{f}"), m))?;
            if let Some(j) = inputs
                .iter()
                .position(|other| other.pin == input.pin && other.at == input.at)
            {
                return Err(invalid(
                    format!("input[{i}].at_ms"),
                    format!(
                        "pin {} is already driven at {} ms by input[{j}] (one level per pin \
                         and time)",
                        input.pin,
                        input.at.as_secs_f64() * 1e3
                    ),
                ));
            }
            inputs.push(input);
        }
        Ok(Plan {
            path: path.to_path_buf(),
            name: self.name,
            description: self.description,
            program: base.join(&self.program),
            boards: self.boards,
            tags: self.tags,
            budget,
            expect_compile_error,
            inputs,
            console,
            registers,
            vm,
            timing,
            upload,
            corrupt,
            inject,
            transcript,
            log,
            fault_record,
            failsafe,
        })
    }

    /// Validates `upload`, `preload`, `expect_upload_error` and `corrupt` together; `base` is
    /// the plan's directory.
    fn upload_keys(&self, base: &Path) -> Result<(Upload, Option<Corruption>), FieldError> {
        let corrupt = match self.corrupt.as_deref() {
            None => None,
            Some("crc") => Some(Corruption::Crc),
            Some("truncate") => Some(Corruption::Truncate),
            Some("magic") => Some(Corruption::Magic),
            Some(other) => {
                return Err((
                    "corrupt".into(),
                    format!("must be \"crc\", \"truncate\" or \"magic\", got {other:?}"),
                ));
            }
        };
        let oracle = match self.upload.as_deref() {
            None | Some("direct") => false,
            Some("oracle") => true,
            Some(other) => {
                return Err((
                    "upload".into(),
                    format!("must be \"direct\" or \"oracle\", got {other:?}"),
                ));
            }
        };
        if !oracle {
            let oracle_only = [
                ("preload", self.preload.is_some()),
                ("expect_upload_error", self.expect_upload_error.is_some()),
                ("corrupt", corrupt.is_some()),
            ];
            if let Some((key, _)) = oracle_only.iter().find(|k| k.1) {
                return Err((
                    (*key).into(),
                    "needs `upload = \"oracle\"` (a directly loaded program has no bootloader \
                     upload to prepare, corrupt or reject)"
                        .into(),
                ));
            }
            return Ok((Upload::Direct, None));
        }
        if self.expect_compile_error.is_some() {
            return Err((
                "expect_compile_error".into(),
                "cannot be combined with `upload = \"oracle\"`: when compilation must fail, \
                 nothing is uploaded"
                    .into(),
            ));
        }
        let preload = match &self.preload {
            Some(p) if p.trim().is_empty() => {
                return Err(("preload".into(), "must not be empty".into()));
            }
            p => p.as_ref().map(|p| base.join(p)),
        };
        let expect_error = match &self.expect_upload_error {
            None => None,
            Some(name) => {
                let code = ErrorCode::from_str_name(name).ok_or_else(|| {
                    let known: Vec<_> = (0..)
                        .map_while(|i| ErrorCode::try_from(i).ok())
                        .map(|c| c.as_str_name())
                        .collect();
                    (
                        "expect_upload_error".to_string(),
                        format!(
                            "unknown bootloader error {name:?} (known: {})",
                            known.join(", ")
                        ),
                    )
                })?;
                if preload.is_none() {
                    return Err((
                        "expect_upload_error".into(),
                        "needs `preload`: after a rejected upload the board runs the previous \
                         image, so there must be one"
                            .into(),
                    ));
                }
                Some(code)
            }
        };
        if corrupt.is_some() && expect_error.is_none() {
            return Err((
                "corrupt".into(),
                "needs `expect_upload_error`: the bootloader must reject a corrupted image".into(),
            ));
        }
        Ok((
            Upload::Oracle(OracleUpload {
                preload,
                expect_error,
            }),
            corrupt,
        ))
    }
}

/// A validation failure: (field suffix or full field, message).
type FieldError = (String, String);

/// Validates each entry of the array of tables `key` (`[[key]]`); an error's field is prefixed
/// with `key[i]`.
fn entries<R, T>(
    key: &str,
    raw: Vec<R>,
    validate: impl Fn(R) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| validate(r).map_err(|(f, m)| (format!("{key}[{i}]{f}"), m)))
        .collect()
}

impl RawBudget {
    fn validate(self) -> Result<Budget, FieldError> {
        let timeout_s = self.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        if !(timeout_s.is_finite() && timeout_s > 0.0 && timeout_s <= 86_400.0) {
            return Err((
                "budget.timeout_s".into(),
                format!("must be a number of seconds in (0, 86400], got {timeout_s}"),
            ));
        }
        let virtual_ms = self.virtual_ms.unwrap_or(DEFAULT_VIRTUAL_MS);
        if virtual_ms == 0 {
            return Err(("budget.virtual_ms".into(), "must be positive".into()));
        }
        let max_instructions = self.max_instructions.unwrap_or(DEFAULT_MAX_INSTRUCTIONS);
        if max_instructions == 0 {
            return Err(("budget.max_instructions".into(), "must be positive".into()));
        }
        Ok(Budget {
            max_instructions,
            virtual_time: Duration::from_millis(virtual_ms),
            wall_timeout: Duration::from_secs_f64(timeout_s),
        })
    }
}

impl RawConsole {
    fn validate(self) -> Result<ConsoleCheck, FieldError> {
        let given = [
            self.contains.is_some(),
            self.not_contains.is_some(),
            self.regex.is_some(),
            self.sequence.is_some(),
            self.exact.is_some(),
        ]
        .iter()
        .filter(|&&g| g)
        .count();
        if given != 1 {
            return Err((
                String::new(),
                format!(
                    "needs exactly one of contains, not_contains, regex, sequence, exact (found {given})"
                ),
            ));
        }
        let non_empty = |field: &str, s: String| {
            if s.is_empty() {
                Err((
                    field.to_string(),
                    "must not be empty (every transcript contains \"\")".to_string(),
                ))
            } else {
                Ok(s)
            }
        };
        if let Some(s) = self.contains {
            Ok(ConsoleCheck::Contains(non_empty(".contains", s)?))
        } else if let Some(s) = self.not_contains {
            Ok(ConsoleCheck::NotContains(non_empty(".not_contains", s)?))
        } else if let Some(re) = self.regex {
            let re = multi_line_regex(&re).map_err(|e| (".regex".to_string(), e.to_string()))?;
            if re.is_match("") {
                return Err((
                    ".regex".into(),
                    format!(
                        "/{}/ matches the empty string, so it matches every transcript",
                        re.as_str()
                    ),
                ));
            }
            Ok(ConsoleCheck::Regex(re))
        } else if let Some(items) = self.sequence {
            if items.is_empty() {
                return Err((".sequence".into(), "must not be empty".into()));
            }
            let items = items
                .into_iter()
                .enumerate()
                .map(|(j, item)| non_empty(&format!(".sequence[{j}]"), item))
                .collect::<Result<_, _>>()?;
            Ok(ConsoleCheck::Sequence(items))
        } else {
            Ok(ConsoleCheck::Exact(self.exact.unwrap_or_default()))
        }
    }
}

impl RawRegister {
    fn validate(self) -> Result<RegisterCheck, FieldError> {
        let address_field = if self.name.is_some() {
            ".name"
        } else {
            ".address"
        };
        let (label, source) = match (self.name, self.address) {
            (Some(name), None) => {
                let source = match regmap::resolve(&name) {
                    Some(addr) => RegisterSource::Memory(addr),
                    None => RegisterSource::Core(name.parse::<CoreRegister>().map_err(|_| {
                        (
                            ".name".to_string(),
                            format!(
                                "unknown register {name:?} (expected an RM0440 name such as \
                                 GPIOC.MODER, or a core register: R0–R15, SP, LR, PC, xPSR, \
                                 MSP, PSP)"
                            ),
                        )
                    })?),
                };
                (name, source)
            }
            (None, Some(addr)) => match regmap::name_of(addr) {
                Some(name) => (
                    format!("{addr:#010x} ({name})"),
                    RegisterSource::Memory(addr),
                ),
                None => (format!("{addr:#010x}"), RegisterSource::Memory(addr)),
            },
            _ => {
                return Err((String::new(), "needs exactly one of name, address".into()));
            }
        };
        if let RegisterSource::Memory(address) = source {
            if !address.is_multiple_of(4) {
                return Err((
                    ".address".into(),
                    format!("{address:#010x} is not 4-byte aligned"),
                ));
            }
            if regmap::is_write_only(address) {
                let name = regmap::name_of(address).unwrap_or("the register");
                return Err((
                    address_field.into(),
                    format!("{name} is write-only (it reads as 0), so checking it proves nothing"),
                ));
            }
        }
        let equals = self
            .equals
            .ok_or_else(|| (".equals".to_string(), "is required".to_string()))?;
        let mask = self.mask.unwrap_or(u32::MAX);
        if mask == 0 {
            return Err((
                ".mask".into(),
                "must not be 0 (no bits compared: the check always passes)".into(),
            ));
        }
        if equals & !mask != 0 {
            return Err((
                ".equals".into(),
                format!("{equals:#010x} has bits outside mask {mask:#010x}, so it can never match"),
            ));
        }
        Ok(RegisterCheck {
            label,
            source,
            mask,
            equals,
            description: self.description,
        })
    }
}

impl RawVm {
    fn validate(self) -> Result<VmCheck, FieldError> {
        let error = match self.error {
            None => None,
            Some(name) => Some(VmError::from_name(&name).ok_or_else(|| {
                let known: Vec<_> = VmError::ALL.iter().map(|e| e.name()).collect();
                (
                    "vm.error".to_string(),
                    format!("unknown VM error {name:?} (known: {})", known.join(", ")),
                )
            })?),
        };
        let globals = self
            .globals
            .into_iter()
            .map(|(key, value)| {
                let target = match key.parse::<usize>() {
                    Ok(i) if i < GLOBALS => GlobalRef::Index(i),
                    Ok(i) => {
                        return Err((
                            format!("vm.globals.{key}"),
                            format!("index {i} out of range (0..{GLOBALS})"),
                        ));
                    }
                    Err(_) if key.trim().is_empty() => {
                        return Err(("vm.globals".into(), "empty global name".into()));
                    }
                    Err(_) => GlobalRef::Name(key),
                };
                Ok((target, value))
            })
            .collect::<Result<_, _>>()?;
        Ok(VmCheck {
            error,
            stack: self.stack,
            globals,
        })
    }
}

impl RawInject {
    fn validate(self) -> Result<Inject, FieldError> {
        let line = |field: &str, s: String| match s.trim() {
            "" => Err((field.to_string(), "must not be empty".to_string())),
            _ if s.contains(['\n', '\r']) => Err((
                field.to_string(),
                "must be one line (the runner adds the newline)".to_string(),
            )),
            _ => Ok(s),
        };
        let timeout_s = self.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        if !(timeout_s.is_finite() && timeout_s > 0.0) {
            return Err((
                ".timeout_s".into(),
                format!("must be a positive number of seconds, got {timeout_s}"),
            ));
        }
        Ok(Inject {
            command: line(".command", self.command)?,
            until: line(".until", self.until)?,
            timeout: Duration::from_secs_f64(timeout_s),
        })
    }
}

/// The item of `known` whose `name` is `given` (ASCII case-insensitive); `None` when the key is
/// absent. Errors: `field`, naming the known values.
fn named<T: Copy>(
    field: &str,
    what: &str,
    given: Option<&str>,
    known: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Option<T>, FieldError> {
    let Some(given) = given else {
        return Ok(None);
    };
    known
        .iter()
        .copied()
        .find(|&k| name(k).eq_ignore_ascii_case(given))
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|&k| name(k)).collect();
            (
                field.to_string(),
                format!("unknown {what} {given:?} (known: {})", names.join(", ")),
            )
        })
}

impl RawFaultRecord {
    fn validate(self) -> Result<FaultRecordCheck, FieldError> {
        let kind = named(
            ".kind",
            "fault kind",
            self.kind.as_deref(),
            &[FaultKind::HardFault, FaultKind::Panic, FaultKind::MemManage],
            FaultKind::name,
        )?;
        let pc_in_firmware = match self.pc.as_deref() {
            None => false,
            Some("firmware") => true,
            Some(other) => {
                return Err((
                    ".pc".into(),
                    format!(
                        "must be \"firmware\" (the PC lies in the firmware's flash), got {other:?}"
                    ),
                ));
            }
        };
        let bits = |field: &str, names: Vec<String>, table: &[(&str, u32)]| {
            names
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    fault::bit_named(table, &n)
                        .map(|m| (n.to_ascii_uppercase(), m))
                        .ok_or_else(|| {
                            let known: Vec<&str> = table.iter().map(|b| b.0).collect();
                            (
                                format!(".{field}[{i}]"),
                                format!(
                                    "unknown {} bit {n:?} (known: {})",
                                    field.to_uppercase(),
                                    known.join(", ")
                                ),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(FaultRecordCheck {
            kind,
            pc_in_firmware,
            cfsr: bits("cfsr", self.cfsr, &fault::CFSR_BITS)?,
            hfsr: bits("hfsr", self.hfsr, &fault::HFSR_BITS)?,
            count: self.count,
        })
    }
}

impl RawFailsafe {
    fn validate(self) -> Result<FailsafeCheck, FieldError> {
        let state = named(
            ".state",
            "state",
            self.state.as_deref(),
            &[State::Normal, State::Degraded, State::SafeStop],
            State::name,
        )?;
        let reasons: Vec<Reason> = (0..=8).map(Reason::from_u32).collect();
        let reason = named(
            ".reason",
            "reason",
            self.reason.as_deref(),
            &reasons,
            Reason::name,
        )?;
        if state.is_none() && reason.is_none() {
            return Err((
                String::new(),
                "needs `state` or `reason` (an empty [failsafe] checks nothing)".into(),
            ));
        }
        Ok(FailsafeCheck { state, reason })
    }
}

impl RawInput {
    /// `budget`: the plan's board-time budget; a change at or after it would never be seen.
    fn validate(self, budget: Duration) -> Result<Input, FieldError> {
        if usize::from(self.pin) >= PIN_COUNT {
            return Err((
                ".pin".into(),
                format!("logical pin {} does not exist (0..{PIN_COUNT})", self.pin),
            ));
        }
        let high = match self.level.as_str() {
            "high" => true,
            "low" => false,
            other => {
                return Err((
                    ".level".into(),
                    format!("must be \"high\" or \"low\", got {other:?}"),
                ));
            }
        };
        let at_ms = self.at_ms.unwrap_or(0.0);
        if !(at_ms.is_finite() && at_ms >= 0.0) {
            return Err((
                ".at_ms".into(),
                format!("must be a finite number of milliseconds ≥ 0, got {at_ms}"),
            ));
        }
        let budget_ms = budget.as_secs_f64() * 1e3;
        if at_ms > 0.0 && at_ms >= budget_ms {
            return Err((
                ".at_ms".into(),
                format!(
                    "{at_ms} ms is not before the end of the run (budget.virtual_ms = \
                     {budget_ms}): the program would never see the change"
                ),
            ));
        }
        Ok(Input {
            pin: self.pin,
            high,
            // Whole nanoseconds (the boards' time unit); finite and below the budget, so the
            // conversion cannot overflow.
            at: Duration::from_nanos((at_ms * 1e6).round() as u64),
        })
    }
}

impl RawTiming {
    fn validate(self) -> Result<TimingCheck, FieldError> {
        let measure = match (self.measure.as_str(), self.level.as_deref()) {
            ("pulse_width", None | Some("high")) => Measure::PulseWidth { high: true },
            ("pulse_width", Some("low")) => Measure::PulseWidth { high: false },
            ("pulse_width", Some(other)) => {
                return Err((
                    ".level".into(),
                    format!("must be \"high\" or \"low\", got {other:?}"),
                ));
            }
            ("period", None) => Measure::Period,
            ("period", Some(_)) => {
                return Err((
                    ".level".into(),
                    "only applies to measure = \"pulse_width\"".into(),
                ));
            }
            (other, _) => {
                return Err((
                    ".measure".into(),
                    format!("must be \"pulse_width\" or \"period\", got {other:?}"),
                ));
            }
        };
        if usize::from(self.pin) >= PIN_COUNT {
            return Err((
                ".pin".into(),
                format!("logical pin {} does not exist (0..{PIN_COUNT})", self.pin),
            ));
        }
        if !(self.expect_ms.is_finite() && self.expect_ms > 0.0) {
            return Err((".expect_ms".into(), "must be a positive number".into()));
        }
        if !(self.tolerance_ms.is_finite() && self.tolerance_ms >= 0.0) {
            return Err((
                ".tolerance_ms".into(),
                "must be a non-negative number".into(),
            ));
        }
        if self.count == Some(0) {
            return Err((".count".into(), "must be at least 1".into()));
        }
        Ok(TimingCheck {
            pin: self.pin,
            measure,
            expect_ms: self.expect_ms,
            tolerance_ms: self.tolerance_ms,
            count: self.count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, PlanError> {
        Plan::parse(text, Path::new("plans/t.toml"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn full_plan_parses_with_defaults_applied() {
        let plan = parse(
            r#"
name = "blinky"
program = "programs/blinky.c"
tags = ["gpio"]
[budget]
virtual_ms = 5000
[[console]]
contains = "LED"
[[console]]
sequence = ["a", "b"]
[[register]]
address = 0x48000800
mask = 0x3000
equals = 0x1000
[vm]
stack = [1, 2]
globals = { counter = 10, "3" = 4 }
[[timing]]
pin = 13
measure = "pulse_width"
level = "low"
expect_ms = 500.0
tolerance_ms = 1.0
count = 4
"#,
        )
        .unwrap();
        assert_eq!(plan.name, "blinky");
        assert_eq!(plan.program, Path::new("plans/programs/blinky.c"));
        assert_eq!(plan.boards, ["sim"]);
        assert_eq!(plan.budget.virtual_time, Duration::from_millis(5000));
        assert_eq!(plan.budget.wall_timeout, Duration::from_secs(10));
        assert_eq!(plan.budget.max_instructions, 50_000_000);
        assert_eq!(plan.console.len(), 2);
        assert_eq!(plan.registers[0].label, "0x48000800 (GPIOC.MODER)");
        assert_eq!(plan.registers[0].mask, 0x3000);
        assert_eq!(plan.vm.error, None);
        assert_eq!(plan.vm.stack, Some(vec![1, 2]));
        assert!(plan.vm.globals.contains(&(GlobalRef::Index(3), 4)));
        assert!(
            plan.vm
                .globals
                .contains(&(GlobalRef::Name("counter".into()), 10))
        );
        assert_eq!(plan.timing[0].measure, Measure::PulseWidth { high: false });
        assert_eq!(plan.timing[0].metric_name(), "pin13.pulse_low_ms");
    }

    #[test]
    fn unknown_keys_name_file_and_key() {
        let e = err("name = \"x\"\nprogram = \"p.c\"\nprogramm = 1\n");
        assert!(e.contains("plans/t.toml"), "{e}");
        assert!(e.contains("programm"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        let e = err("name = \"x\"\nprogram = \"p.c\"\n[[console]]\ncontain = \"a\"\n");
        assert!(e.contains("contain"), "{e}");
    }

    #[test]
    fn missing_required_fields_are_errors() {
        assert!(err("program = \"p.c\"\n").contains("name"));
        assert!(err("name = \"x\"\n").contains("program"));
        let e = err("name = \"x\"\nprogram = \"p.c\"\n[[register]]\naddress = 0x48000800\n");
        assert!(e.contains("register[0].equals"), "{e}");
    }

    #[test]
    fn invalid_values_name_the_field() {
        let base = "name = \"x\"\nprogram = \"p.c\"\n";
        let cases = [
            ("[[console]]\nregex = \"(\"\n", "console[0].regex"),
            (
                "[[console]]\ncontains = \"a\"\nexact = \"b\"\n",
                "console[0]",
            ),
            ("[[console]]\n", "console[0]"),
            (
                "[[register]]\nname = \"GPIOZ.NOPE\"\nequals = 1\n",
                "register[0].name",
            ),
            (
                "[[register]]\naddress = 0x48000802\nequals = 1\n",
                "register[0].address",
            ),
            (
                "[[register]]\naddress = 0x48000800\nmask = 1\nequals = 2\n",
                "register[0].equals",
            ),
            ("[vm]\nerror = \"OOPS\"\n", "vm.error"),
            ("[vm]\nglobals = { \"99\" = 1 }\n", "vm.globals.99"),
            ("[budget]\ntimeout_s = 0.0\n", "budget.timeout_s"),
            ("[budget]\nvirtual_ms = 0\n", "budget.virtual_ms"),
            (
                "[[timing]]\npin = 1\nmeasure = \"p\"\nexpect_ms = 1.0\ntolerance_ms = 1.0\n",
                "timing[0].measure",
            ),
            (
                "[[timing]]\npin = 1\nmeasure = \"period\"\nexpect_ms = 1.0\ntolerance_ms = 1.0\ncount = 0\n",
                "timing[0].count",
            ),
            (
                "[[timing]]\npin = 1\nmeasure = \"pulse_width\"\nlevel = \"mid\"\nexpect_ms = 1.0\ntolerance_ms = 1.0\n",
                "timing[0].level",
            ),
            ("boards = [\"fpga\"]\n", "boards[0]"),
            (
                "[[timing]]\npin = 17\nmeasure = \"period\"\nexpect_ms = 1.0\ntolerance_ms = 1.0\n",
                "timing[0].pin",
            ),
        ];
        for (extra, field) in cases {
            let e = err(&format!("{base}{extra}"));
            assert!(e.starts_with("plans/t.toml"), "{e}");
            assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
        }
    }

    #[test]
    fn expect_compile_error_is_a_multi_line_regex_on_a_source_program() {
        let plan =
            parse("name = \"x\"\nprogram = \"p.c\"\nexpect_compile_error = '^p\\.c:1:1: error'\n")
                .unwrap();
        let re = plan.expect_compile_error.unwrap();
        assert!(re.is_match("warning\np.c:1:1: error: nope"));
        let e = err("name = \"x\"\nprogram = \"p.cvbc\"\nexpect_compile_error = \"x\"\n");
        assert!(e.contains("`expect_compile_error`"), "{e}");
        // The old `[compile]` table is gone.
        let e = err("name = \"x\"\nprogram = \"p.c\"\n[compile]\nexpect_error = \"x\"\n");
        assert!(e.contains("compile"), "{e}");
    }

    #[test]
    fn expect_compile_error_excludes_every_run_time_key() {
        let base = "name = \"x\"\nprogram = \"p.c\"\nexpect_compile_error = \"countr\"\n";
        for (extra, field, table) in [
            ("[[console]]\ncontains = \"a\"\n", "console", "[[console]]"),
            (
                "[[register]]\nname = \"GPIOC.ODR\"\nequals = 0\n",
                "register",
                "[[register]]",
            ),
            ("[vm]\n", "vm", "[vm]"),
            ("[vm]\nerror = \"NONE\"\n", "vm", "[vm]"),
            (
                "[[timing]]\npin = 1\nmeasure = \"period\"\nexpect_ms = 1.0\ntolerance_ms = 1.0\n",
                "timing",
                "[[timing]]",
            ),
            (
                "[[input]]\npin = 16\nlevel = \"low\"\n",
                "input",
                "[[input]]",
            ),
        ] {
            let e = err(&format!("{base}{extra}"));
            assert!(e.starts_with("plans/t.toml"), "{e}");
            assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
            assert!(
                e.contains(table) && e.contains("expect_compile_error"),
                "{e}"
            );
        }
    }

    #[test]
    fn vacuous_checks_are_rejected() {
        let base = "name = \"x\"\nprogram = \"p.c\"\n";
        let cases = [
            ("[[console]]\ncontains = \"\"\n", "console[0].contains"),
            (
                "[[console]]\nnot_contains = \"\"\n",
                "console[0].not_contains",
            ),
            ("[[console]]\nsequence = []\n", "console[0].sequence"),
            (
                "[[console]]\nsequence = [\"a\", \"\"]\n",
                "console[0].sequence[1]",
            ),
            ("[[console]]\nregex = \"x*\"\n", "console[0].regex"),
            ("[[console]]\nregex = \"^$\"\n", "console[0].regex"),
            ("[[console]]\nregex = \"a|\"\n", "console[0].regex"),
            (
                "[[register]]\nname = \"GPIOC.ODR\"\nmask = 0\nequals = 0\n",
                "register[0].mask",
            ),
            (
                "[[register]]\nname = \"GPIOC.BSRR\"\nequals = 0\n",
                "register[0].name",
            ),
            (
                "[[register]]\nname = \"GPIOA.BRR\"\nequals = 0\n",
                "register[0].name",
            ),
            (
                "[[register]]\nname = \"USART1.RQR\"\nequals = 0\n",
                "register[0].name",
            ),
            (
                "[[register]]\nname = \"USART2.ICR\"\nequals = 0\n",
                "register[0].name",
            ),
            (
                "[[register]]\naddress = 0x48000818\nequals = 0\n",
                "register[0].address",
            ),
            ("boards = []\n", "boards"),
        ];
        for (extra, field) in cases {
            let e = err(&format!("{base}{extra}"));
            assert!(e.starts_with("plans/t.toml"), "{e}");
            assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
        }
        assert!(
            err(&format!(
                "{base}[[register]]\naddress = 0x48000818\nequals = 0\n"
            ))
            .contains("GPIOC.BSRR is write-only")
        );
        // An empty `exact` is meaningful: the program prints nothing.
        let plan = parse(&format!("{base}[[console]]\nexact = \"\"\n")).unwrap();
        assert!(matches!(&plan.console[0], ConsoleCheck::Exact(s) if s.is_empty()));
        // Readable neighbours of write-only registers are fine; USARTx.TDR reads back the last
        // byte written (RM0440: read/write).
        parse(&format!(
            "{base}[[register]]\nname = \"GPIOC.IDR\"\nequals = 0\n"
        ))
        .unwrap();
        parse(&format!(
            "{base}[[register]]\nname = \"USART1.ISR\"\nmask = 0x80\nequals = 0x80\n"
        ))
        .unwrap();
        parse(&format!(
            "{base}[[register]]\nname = \"USART1.TDR\"\nequals = 10\n"
        ))
        .unwrap();
    }

    #[test]
    fn registers_given_by_address_are_labelled_with_their_rm0440_name() {
        let plan = parse(
            "name = \"x\"\nprogram = \"p.c\"\n\
             [[register]]\naddress = 0x48000814\nequals = 0\n\
             [[register]]\naddress = 0x10000000\nequals = 0\n",
        )
        .unwrap();
        assert_eq!(plan.registers[0].label, "0x48000814 (GPIOC.ODR)");
        assert_eq!(plan.registers[1].label, "0x10000000");
        assert_eq!(
            plan.registers[0].source,
            RegisterSource::Memory(0x4800_0814)
        );
    }

    #[test]
    fn core_registers_by_name_only_on_boards_with_a_cpu() {
        let base = "name = \"x\"\nprogram = \"p.c\"\n";
        let regs = "[[register]]\nname = \"GPIOC.MODER\"\nequals = 0\n\
                    [[register]]\nname = \"MSP\"\nmask = 0xFFFE0000\nequals = 0x20000000\n\
                    [[register]]\nname = \"pc\"\nequals = 0\n";
        let plan = parse(&format!("{base}boards = [\"emu\", \"probe\"]\n{regs}")).unwrap();
        let sources: Vec<RegisterSource> = plan.registers.iter().map(|r| r.source).collect();
        assert_eq!(
            sources,
            [
                RegisterSource::Memory(0x4800_0800),
                RegisterSource::Core(CoreRegister::Msp),
                RegisterSource::Core(CoreRegister::R(15)),
            ]
        );
        assert_eq!(plan.registers[2].label, "pc", "as written");
        // The default boards (sim), or sim among others: a plan/board mismatch, named.
        for boards in ["", "boards = [\"emu\", \"sim\"]\n"] {
            let e = err(&format!("{base}{boards}{regs}"));
            assert!(e.contains("`register[1].name`"), "{e}");
            assert!(
                e.contains("core register MSP cannot be read on board kind \"sim\""),
                "{e}"
            );
        }
        let e = err(&format!(
            "{base}boards = [\"emu\"]\n[[register]]\nname = \"R16\"\nequals = 0\n"
        ));
        assert!(
            e.contains("`register[0].name`") && e.contains("or a core register: R0–R15"),
            "{e}"
        );
    }

    #[test]
    fn inputs_are_parsed_and_validated() {
        let base = "name = \"x\"\nprogram = \"p.c\"\n";
        let plan = parse(&format!(
            "{base}[[input]]\npin = 16\nlevel = \"low\"\n[[input]]\npin = 3\nlevel = \"high\"\n\
             [[input]]\npin = 16\nlevel = \"high\"\nat_ms = 0.5\n"
        ))
        .unwrap();
        assert_eq!(
            plan.inputs,
            [
                Input {
                    pin: 16,
                    high: false,
                    at: Duration::ZERO
                },
                Input {
                    pin: 3,
                    high: true,
                    at: Duration::ZERO
                },
                Input {
                    pin: 16,
                    high: true,
                    at: Duration::from_micros(500)
                }
            ]
        );
        for (extra, field) in [
            ("[[input]]\npin = 17\nlevel = \"low\"\n", "input[0].pin"),
            ("[[input]]\npin = 1\nlevel = \"mid\"\n", "input[0].level"),
            (
                "[[input]]\npin = 1\nlevel = \"low\"\n[[input]]\npin = 1\nlevel = \"high\"\n",
                "input[1].at_ms",
            ),
        ] {
            let e = err(&format!("{base}{extra}"));
            assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
        }
        assert!(err(&format!("{base}[[input]]\npin = 1\n")).contains("level"));
    }

    #[test]
    fn input_times_are_validated() {
        let base = "name = \"x\"\nprogram = \"p.c\"\n[budget]\nvirtual_ms = 1000\n";
        let input =
            |pin: u8, at: &str| format!("[[input]]\npin = {pin}\nlevel = \"low\"\nat_ms = {at}\n");
        for (extra, field, says) in [
            (input(16, "-1"), "input[0].at_ms", "got -1"),
            (input(16, "nan"), "input[0].at_ms", "got NaN"),
            (input(16, "inf"), "input[0].at_ms", "got inf"),
            (
                input(16, "1000"),
                "input[0].at_ms",
                "budget.virtual_ms = 1000",
            ),
            (
                format!("{}{}", input(16, "500"), input(16, "500.0")),
                "input[1].at_ms",
                "pin 16 is already driven at 500 ms by input[0]",
            ),
        ] {
            let e = err(&format!("{base}{extra}"));
            assert!(e.contains(&format!("`{field}")), "{field}: {e}");
            assert!(e.contains(says), "{says}: {e}");
        }
        let e = err(&format!("{base}{}", input(16, "\"soon\"")));
        assert!(e.contains("at_ms = \"soon\""), "{e}");
        // Distinct times on one pin, the same time on two pins, and a time just inside the
        // budget are a valid schedule.
        let plan = parse(&format!(
            "{base}{}{}{}",
            input(16, "999.5"),
            input(16, "500"),
            input(3, "500")
        ))
        .unwrap();
        let times: Vec<_> = plan.inputs.iter().map(|i| (i.pin, i.at)).collect();
        assert_eq!(
            times,
            [
                (16, Duration::from_micros(999_500)),
                (16, Duration::from_millis(500)),
                (3, Duration::from_millis(500))
            ]
        );
    }

    #[test]
    fn upload_keys_are_parsed_and_nonsense_combinations_rejected() {
        let base = "name = \"x\"\nprogram = \"p.c\"\n";
        assert_eq!(parse(base).unwrap().upload, Upload::Direct);
        let plan = parse(&format!(
            "{base}upload = \"oracle\"\npreload = \"old.c\"\ncorrupt = \"truncate\"\n\
             expect_upload_error = \"FLASH_VERIFY_FAILED\"\n"
        ))
        .unwrap();
        assert_eq!(
            plan.upload,
            Upload::Oracle(OracleUpload {
                preload: Some(PathBuf::from("plans/old.c")),
                expect_error: Some(ErrorCode::FlashVerifyFailed),
            })
        );
        assert_eq!(plan.corrupt, Some(Corruption::Truncate));
        for (extra, field, why) in [
            (
                "upload = \"serial\"\n",
                "upload",
                "\"direct\" or \"oracle\"",
            ),
            (
                "preload = \"old.c\"\n",
                "preload",
                "needs `upload = \"oracle\"`",
            ),
            (
                "upload = \"direct\"\nexpect_upload_error = \"COMM_TIMEOUT\"\n",
                "expect_upload_error",
                "needs `upload = \"oracle\"`",
            ),
            (
                "corrupt = \"crc\"\n",
                "corrupt",
                "needs `upload = \"oracle\"`",
            ),
            (
                "upload = \"oracle\"\nexpect_upload_error = \"FLASH_VERIFY_FAILED\"\n",
                "expect_upload_error",
                "needs `preload`",
            ),
            (
                "upload = \"oracle\"\npreload = \"o.c\"\nexpect_upload_error = \"BROKEN\"\n",
                "expect_upload_error",
                "FLASH_VERIFY_FAILED",
            ),
            (
                "upload = \"oracle\"\ncorrupt = \"crc\"\n",
                "corrupt",
                "needs `expect_upload_error`",
            ),
            (
                "upload = \"oracle\"\ncorrupt = \"bits\"\n",
                "corrupt",
                "\"crc\", \"truncate\" or \"magic\"",
            ),
            (
                "upload = \"oracle\"\nexpect_compile_error = \"x\"\n",
                "expect_compile_error",
                "nothing is uploaded",
            ),
        ] {
            let e = err(&format!("{base}{extra}"));
            assert!(
                e.contains(&format!("`{field}`")) && e.contains(why),
                "{field}: {e}"
            );
        }
    }

    #[test]
    fn corruptions_damage_the_image() {
        let image = vec![1u8, 2, 3, 4];
        let damaged = |c: Corruption| {
            let mut v = image.clone();
            c.apply(&mut v);
            v
        };
        assert_eq!(damaged(Corruption::Crc), [1, 2, 3, 0xFB]);
        assert_eq!(damaged(Corruption::Truncate), [1, 2]);
        assert_eq!(damaged(Corruption::Magic), [0xFE, 2, 3, 4]);
    }

    #[test]
    fn firmware_sections_are_parsed_and_validated() {
        let p = parse(
            r#"
name = "f"
program = "p.c"
boards = ["emu"]
[inject]
command = "!CKPT:HARDFAULT"
until = "HARDFAULT:"
timeout_s = 2.5
[[transcript]]
contains = "state=DEGRADED"
[[log]]
regex = "WARN fault record #1: kind 1"
[fault_record]
kind = "hardfault"
pc = "firmware"
cfsr = ["UNDEFINSTR"]
hfsr = ["forced"]
count = 1
[failsafe]
state = "degraded"
reason = "FAULT"
"#,
        )
        .unwrap();
        let inject = p.inject.unwrap();
        assert_eq!(inject.command, "!CKPT:HARDFAULT");
        assert_eq!(inject.timeout, Duration::from_millis(2500));
        assert!(
            matches!(p.transcript.as_slice(), [ConsoleCheck::Contains(s)] if s == "state=DEGRADED")
        );
        assert!(matches!(p.log.as_slice(), [ConsoleCheck::Regex(_)]));
        let f = p.fault_record.unwrap();
        assert_eq!(f.kind, Some(FaultKind::HardFault));
        assert!(f.pc_in_firmware);
        assert_eq!(f.cfsr, vec![("UNDEFINSTR".to_string(), 1 << 16)]);
        assert_eq!(f.hfsr, vec![("FORCED".to_string(), 1 << 30)]);
        assert_eq!(f.count, Some(1));
        assert_eq!(
            p.failsafe,
            Some(FailsafeCheck {
                state: Some(State::Degraded),
                reason: Some(Reason::Fault)
            })
        );
        let base = "name = \"f\"\nprogram = \"p.c\"\n";
        for (extra, field) in [
            ("[inject]\ncommand = \"\"\nuntil = \"x\"", "inject.command"),
            (
                "[inject]\ncommand = \"a\\nb\"\nuntil = \"x\"",
                "inject.command",
            ),
            (
                "[inject]\ncommand = \"a\"\nuntil = \"x\"\ntimeout_s = 0",
                "inject.timeout_s",
            ),
            ("[fault_record]\nkind = \"BUSFAULT\"", "fault_record.kind"),
            ("[fault_record]\npc = \"anywhere\"", "fault_record.pc"),
            ("[fault_record]\ncfsr = [\"NOPE\"]", "fault_record.cfsr[0]"),
            ("[failsafe]\nstate = \"BROKEN\"", "failsafe.state"),
            ("[failsafe]\nreason = \"bored\"", "failsafe.reason"),
            ("[failsafe]", "failsafe"),
            ("[[transcript]]\ncontains = \"\"", "transcript[0].contains"),
        ] {
            let e = err(&format!("{base}{extra}\n"));
            assert!(e.contains(&format!("`{field}`")), "{extra}: {e}");
        }
        let e = err(&format!(
            "{base}expect_compile_error = \"x\"\n[failsafe]\nstate = \"NORMAL\"\n"
        ));
        assert!(e.contains("`failsafe`"), "{e}");
    }

    #[test]
    fn vm_error_names_are_case_insensitive() {
        let plan =
            parse("name = \"x\"\nprogram = \"p.c\"\n[vm]\nerror = \"division_by_zero\"\n").unwrap();
        assert_eq!(plan.vm.error, Some(VmError::DivisionByZero));
    }
}
