//! The hardware map (`boards.toml`): the real boards of a bench, how to reach each one, and
//! what is wired to it.
//!
//! The file is found through `COCKPIT_BOARDS`, else `./boards.toml` ([`HardwareMap::locate`]).
//! Format (documented with an example in `harness/boards.example.toml`):
//!
//! ```toml
//! [[board]]
//! id = "nucleo-1"                      # required: [A-Za-z0-9_-]+, unique; names tests `<plan>::<id>`
//! chip = "STM32G474RETx"               # probe-rs target name (default)
//! probe = "0483:374b:066DFF485550755187121723"   # VID:PID[:serial], hex; default: the only probe
//! serial_port = "/dev/ttyACM0"         # the firmware's console UART (Oracle bootloader)
//! clock_profile = "nucleo"             # firmware board profile: weact / nucleo; picks the default ELF
//! fixtures = ["led_pc6", "user_key_pc13"]
//! connect_under_reset = false          # default false
//! speed_khz = 4000                     # SWD clock; default: the probe's
//! firmware = "path/to/cockpit-firmware"   # ELF; relative to this file; default: the profile's release ELF
//! ```
//!
//! Unknown keys are rejected; every error names the file, the board and the field.
//! A plan runs on a board when its `boards` list has `"probe"` and the board has every fixture
//! the plan's tags name ([`Board::applies_to`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::plan::Plan;
use crate::probe::{DEFAULT_CHIP, ProbeConfig, ProbeSelector};

/// Environment variable naming the hardware map file.
pub const BOARDS_ENV: &str = "COCKPIT_BOARDS";
/// The hardware map's path when [`BOARDS_ENV`] is not set, relative to the current directory.
pub const DEFAULT_BOARDS: &str = "boards.toml";
/// Environment variable naming the firmware ELF (shared with the `emu` board).
pub const FIRMWARE_ENV: &str = "COCKPIT_FIRMWARE_ELF";
/// The firmware ELF's default path, relative to the repository root (the `weact` profile,
/// `firmware/stm32g474/build.sh`).
pub const DEFAULT_FIRMWARE: &str =
    "firmware/stm32g474/target/thumbv7em-none-eabihf/release/cockpit-firmware";
/// The `nucleo` profile's ELF, relative to the repository root
/// (`firmware/stm32g474/build.sh --board nucleo`).
pub const NUCLEO_FIRMWARE: &str =
    "firmware/stm32g474/target/nucleo/thumbv7em-none-eabihf/release/cockpit-firmware";

/// The firmware board profile a board needs (`clock_profile`; the firmware's cargo features
/// `board-weact` / `board-nucleo`, `firmware/stm32g474/README.md` "Board profiles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardProfile {
    /// WeAct Studio STM32G474 core board: 8 MHz HSE, console USART1 (PA9/PA10).
    Weact,
    /// NUCLEO-G474RE: 24 MHz HSE, console LPUART1 (PA2/PA3, the ST-LINK virtual COM port).
    Nucleo,
}

impl BoardProfile {
    /// Every profile.
    pub const ALL: [BoardProfile; 2] = [BoardProfile::Weact, BoardProfile::Nucleo];

    /// The name in the hardware map (`weact`, `nucleo`).
    pub fn name(self) -> &'static str {
        match self {
            BoardProfile::Weact => "weact",
            BoardProfile::Nucleo => "nucleo",
        }
    }

    /// The firmware ELF of a board with this profile that does not set `firmware`: `weact`
    /// [`default_firmware`] (`COCKPIT_FIRMWARE_ELF`, else [`DEFAULT_FIRMWARE`]); `nucleo`
    /// [`NUCLEO_FIRMWARE`] under the repository root (`COCKPIT_FIRMWARE_ELF` names the `emu`
    /// board's ELF, which is the WeAct one).
    pub fn default_firmware(self) -> PathBuf {
        match self {
            BoardProfile::Weact => default_firmware(),
            BoardProfile::Nucleo => repo_path(NUCLEO_FIRMWARE),
        }
    }
}

impl std::str::FromStr for BoardProfile {
    type Err = String;

    /// Errors: a name that is not `weact` or `nucleo` (the message lists them).
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|p| p.name() == s)
            .copied()
            .ok_or_else(|| format!("unknown board profile `{s}` (known: weact, nucleo)"))
    }
}

impl std::fmt::Display for BoardProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Fixtures a board may have: name and what it is. A plan tag with one of these names means the
/// plan needs that fixture.
pub const FIXTURES: [(&str, &str); 2] = [
    (
        "led_pc6",
        "an LED on PC6, the plans' logical pin 13 (on-board on the WeAct G474; wired on a NUCLEO)",
    ),
    (
        "user_key_pc13",
        "the user key on PC13, the plans' logical pin 16, driven from the host",
    ),
];

/// Errors of the hardware map. Each names the file; `Invalid` also the board and the field.
#[derive(Debug, thiserror::Error)]
pub enum BoardsError {
    /// The file could not be read.
    #[error("{}: cannot read the hardware map: {source}", path.display())]
    Io {
        /// The hardware map file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or its top level is not `[[board]]` tables.
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The hardware map file.
        path: PathBuf,
        /// The toml crate's message (line, column).
        message: String,
    },
    /// A board entry has an unknown key, a value of the wrong type or an invalid value.
    #[error("{}: board `{board}`: `{field}`: {message}", path.display())]
    Invalid {
        /// The hardware map file.
        path: PathBuf,
        /// The board's `id`, or `board[N]` (from 0) when it has no usable id.
        board: String,
        /// The offending key.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// One real board of the hardware map, validated.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Board {
    /// Unique id (`[A-Za-z0-9_-]+`), the board id of its results and of its test names.
    pub id: String,
    /// probe-rs target name, default [`DEFAULT_CHIP`].
    pub chip: String,
    /// Which debug probe; `None`: the only one attached. Serialised as `VID:PID[:serial]`.
    #[serde(serialize_with = "display_or_null")]
    pub probe: Option<ProbeSelector>,
    /// Serial device of the board's USART1 (Oracle bootloader, console), e.g. `/dev/ttyACM0`.
    pub serial_port: Option<String>,
    /// The firmware board profile the board needs (`weact` / `nucleo`); it selects the default
    /// `firmware` ELF. `None`: not stated (the default, WeAct, ELF).
    pub clock_profile: Option<BoardProfile>,
    /// Fixtures wired to the board (names from [`FIXTURES`]).
    pub fixtures: Vec<String>,
    /// Attach with the reset line held (for firmware that disables SWD or sleeps).
    pub connect_under_reset: bool,
    /// SWD clock in kHz; `None` keeps the probe's default.
    pub speed_khz: Option<u32>,
    /// The firmware ELF flashed before the tests (absolute, or resolved against the map's
    /// folder).
    pub firmware: PathBuf,
}

impl Board {
    /// The fixtures `plan` needs (its tags that name a fixture of [`FIXTURES`]) that this board
    /// lacks.
    pub fn missing_fixtures<'p>(&self, plan: &'p Plan) -> Vec<&'p str> {
        plan.tags
            .iter()
            .map(String::as_str)
            .filter(|t| FIXTURES.iter().any(|(f, _)| f == t))
            .filter(|t| !self.fixtures.iter().any(|f| f == t))
            .collect()
    }

    /// How the probe backend reaches this board (its timeouts, baud rate and polling are the
    /// backend's defaults).
    pub fn probe_config(&self) -> ProbeConfig {
        ProbeConfig {
            selector: self.probe.clone(),
            chip: self.chip.clone(),
            connect_under_reset: self.connect_under_reset,
            speed_khz: self.speed_khz,
            serial_port: self.serial_port.clone(),
            ..ProbeConfig::new(self.id.as_str(), self.firmware.as_path())
        }
    }

    /// Whether `plan` runs on this board: its `boards` has `"probe"` and the board has every
    /// fixture it needs.
    pub fn applies_to(&self, plan: &Plan) -> bool {
        plan.boards.iter().any(|b| b == "probe") && self.missing_fixtures(plan).is_empty()
    }
}

/// The boards of one hardware map file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HardwareMap {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its boards, in file order.
    pub boards: Vec<Board>,
}

/// A `[[board]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoard {
    id: String,
    #[serde(default)]
    chip: Option<String>,
    #[serde(default)]
    probe: Option<String>,
    #[serde(default)]
    serial_port: Option<String>,
    #[serde(default)]
    clock_profile: Option<String>,
    #[serde(default)]
    fixtures: Vec<String>,
    #[serde(default)]
    connect_under_reset: bool,
    #[serde(default)]
    speed_khz: Option<u32>,
    #[serde(default)]
    firmware: Option<PathBuf>,
}

/// The firmware ELF of a board that does not set `firmware`: `COCKPIT_FIRMWARE_ELF`, else
/// [`DEFAULT_FIRMWARE`] under the repository root (found from this crate's manifest folder).
pub fn default_firmware() -> PathBuf {
    std::env::var_os(FIRMWARE_ENV).map_or_else(|| repo_path(DEFAULT_FIRMWARE), PathBuf::from)
}

/// `rel` under the repository root (found from this crate's manifest folder).
fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

impl HardwareMap {
    /// Where the hardware map is: `COCKPIT_BOARDS` if set, else `./boards.toml`, made absolute
    /// against the current directory (under `cargo test`, the crate's folder `harness/`).
    pub fn locate() -> PathBuf {
        let path = std::env::var_os(BOARDS_ENV)
            .map_or_else(|| PathBuf::from(DEFAULT_BOARDS), PathBuf::from);
        std::path::absolute(&path).unwrap_or(path)
    }

    /// The hardware map at [`HardwareMap::locate`]; `Ok(None)` when that file does not exist.
    /// Errors: those of [`HardwareMap::load`].
    pub fn load_located() -> Result<Option<HardwareMap>, BoardsError> {
        let path = Self::locate();
        if !path.exists() {
            return Ok(None);
        }
        Self::load(&path).map(Some)
    }

    /// Reads and validates the hardware map at `path`. An empty file has no boards.
    /// Errors: [`BoardsError::Io`], [`BoardsError::Syntax`], [`BoardsError::Invalid`].
    pub fn load(path: &Path) -> Result<HardwareMap, BoardsError> {
        let text = std::fs::read_to_string(path).map_err(|source| BoardsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses hardware map `text`, read from `path` (named in errors; relative `firmware`
    /// paths are resolved against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<HardwareMap, BoardsError> {
        let syntax = |message: String| BoardsError::Syntax {
            path: path.to_owned(),
            message,
        };
        let mut top: toml::Table = toml::from_str(text).map_err(|e| syntax(e.to_string()))?;
        let entries = match top.remove("board") {
            None => Vec::new(),
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                return Err(syntax(
                    "`board` must be an array of tables: `[[board]]`".into(),
                ));
            }
        };
        if let Some(key) = top.keys().next() {
            return Err(syntax(format!(
                "unknown top-level key `{key}` (the file holds `[[board]]` tables only)"
            )));
        }
        let folder = path.parent().unwrap_or(Path::new(""));
        let mut boards: Vec<Board> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let board = Self::board(entry, i, folder, path)?;
            if boards.iter().any(|b| b.id == board.id) {
                return Err(BoardsError::Invalid {
                    path: path.to_owned(),
                    board: board.id,
                    field: "id".into(),
                    message: "used by an earlier board".into(),
                });
            }
            boards.push(board);
        }
        Ok(HardwareMap {
            path: path.to_owned(),
            boards,
        })
    }

    /// The board with id `id`.
    pub fn get(&self, id: &str) -> Option<&Board> {
        self.boards.iter().find(|b| b.id == id)
    }

    /// Validates entry `i` of the `board` array.
    fn board(
        entry: toml::Value,
        i: usize,
        folder: &Path,
        path: &Path,
    ) -> Result<Board, BoardsError> {
        let named = entry
            .get("id")
            .and_then(toml::Value::as_str)
            .filter(|id| valid_id(id))
            .map_or_else(|| format!("board[{i}]"), str::to_string);
        let invalid = |field: &str, message: String| BoardsError::Invalid {
            path: path.to_owned(),
            board: named.clone(),
            field: field.to_string(),
            message,
        };
        let toml::Value::Table(table) = entry else {
            return Err(invalid("board", "expected a table: `[[board]]`".into()));
        };
        // Type-check each key alone, so an error names its field.
        for (key, value) in &table {
            let mut one = toml::Table::new();
            one.insert(key.clone(), value.clone());
            if key != "id" {
                one.insert("id".into(), toml::Value::String(String::new()));
            }
            if let Err(e) = RawBoard::deserialize(one) {
                return Err(invalid(key, e.message().to_string()));
            }
        }
        let raw =
            RawBoard::deserialize(table).map_err(|e| invalid("id", e.message().to_string()))?;
        if !valid_id(&raw.id) {
            return Err(invalid(
                "id",
                format!("`{}` must be non-empty letters, digits, `-` or `_`", raw.id),
            ));
        }
        let probe = raw
            .probe
            .as_deref()
            .map(str::parse::<ProbeSelector>)
            .transpose()
            .map_err(|e| invalid("probe", e.to_string()))?;
        let clock_profile = raw
            .clock_profile
            .as_deref()
            .map(str::parse::<BoardProfile>)
            .transpose()
            .map_err(|e| invalid("clock_profile", e))?;
        for (j, f) in raw.fixtures.iter().enumerate() {
            if !FIXTURES.iter().any(|(name, _)| name == f) {
                let known: Vec<&str> = FIXTURES.iter().map(|(n, _)| *n).collect();
                return Err(invalid(
                    &format!("fixtures[{j}]"),
                    format!("unknown fixture `{f}` (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(Board {
            id: raw.id,
            chip: raw.chip.unwrap_or_else(|| DEFAULT_CHIP.to_string()),
            probe,
            serial_port: raw.serial_port,
            clock_profile,
            fixtures: raw.fixtures,
            connect_under_reset: raw.connect_under_reset,
            speed_khz: raw.speed_khz,
            firmware: raw.firmware.map_or_else(
                || clock_profile.map_or_else(default_firmware, BoardProfile::default_firmware),
                |f| folder.join(f),
            ),
        })
    }
}

/// `Some(v)` as `v`'s `Display` text, `None` as null.
fn display_or_null<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// Board ids name tests (`<plan>::<id>`) and lock files: letters, digits, `-`, `_`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/bench/boards.toml";

    fn parse(text: &str) -> Result<HardwareMap, BoardsError> {
        HardwareMap::parse(text, Path::new(FILE))
    }

    fn plan(boards: &str, tags: &str) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.cvbc"), b"").unwrap();
        Plan::parse(
            &format!("name = \"p\"\nprogram = \"p.cvbc\"\nboards = {boards}\ntags = {tags}\n"),
            &dir.path().join("p.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_full_entry_and_the_defaults() {
        let map = parse(
            "[[board]]\nid = \"nucleo-1\"\nchip = \"STM32G474RETx\"\n\
             probe = \"0483:374B:066DFF48\"\nserial_port = \"/dev/ttyACM0\"\n\
             clock_profile = \"nucleo\"\nfixtures = [\"led_pc6\", \"user_key_pc13\"]\n\
             connect_under_reset = true\nspeed_khz = 1800\nfirmware = \"fw/cockpit.elf\"\n\
             [[board]]\nid = \"weact_2\"\n",
        )
        .unwrap();
        assert_eq!(map.boards.len(), 2);
        let b = &map.boards[0];
        assert_eq!(
            b.probe,
            Some(ProbeSelector {
                vid: 0x0483,
                pid: 0x374b,
                serial: Some("066DFF48".into())
            })
        );
        assert_eq!(b.probe.as_ref().unwrap().to_string(), "0483:374b:066DFF48");
        assert_eq!(b.firmware, Path::new("/bench/fw/cockpit.elf")); // `firmware` wins
        assert_eq!(b.clock_profile, Some(BoardProfile::Nucleo));
        assert!(b.connect_under_reset);
        assert_eq!(b.speed_khz, Some(1800));
        let config = b.probe_config();
        assert_eq!(
            (config.board_id.as_str(), config.serial_port.as_deref()),
            ("nucleo-1", Some("/dev/ttyACM0"))
        );
        assert_eq!(
            (config.selector, config.firmware),
            (b.probe.clone(), b.firmware.clone())
        );
        assert!(config.connect_under_reset);
        let d = map.get("weact_2").unwrap();
        assert_eq!(d.chip, DEFAULT_CHIP);
        assert_eq!((d.probe.clone(), d.speed_khz), (None, None));
        assert!(d.firmware.ends_with(DEFAULT_FIRMWARE) || std::env::var_os(FIRMWARE_ENV).is_some());
        assert!(parse("").unwrap().boards.is_empty());
    }

    #[test]
    fn the_clock_profile_selects_the_default_elf() {
        let map = parse(
            "[[board]]\nid = \"n\"\nclock_profile = \"nucleo\"\n\
             [[board]]\nid = \"w\"\nclock_profile = \"weact\"\n",
        )
        .unwrap();
        let (n, w) = (&map.boards[0], &map.boards[1]);
        assert_eq!(n.clock_profile, Some(BoardProfile::Nucleo));
        assert!(
            n.firmware.ends_with(NUCLEO_FIRMWARE),
            "{}",
            n.firmware.display()
        );
        assert_eq!(w.clock_profile, Some(BoardProfile::Weact));
        assert_eq!(w.firmware, default_firmware());
        assert_ne!(n.firmware, w.firmware);
        assert_eq!("weact".parse::<BoardProfile>(), Ok(BoardProfile::Weact));
        assert_eq!(BoardProfile::Nucleo.to_string(), "nucleo");
    }

    #[test]
    fn errors_name_the_file_the_board_and_the_field() {
        let cases = [
            (
                "[[board]]\nid = \"b1\"\nprobe = \"0483\"\n",
                "board `b1`: `probe`: probe selector `0483`: PID must be 1–4 hex digits",
            ),
            (
                "[[board]]\nid = \"b1\"\nprobe = \"zz:374b\"\n",
                "`probe`: probe selector `zz:374b`: VID `zz` is not hex",
            ),
            (
                "[[board]]\nid = \"b1\"\nprobe = \"0483:374b:\"\n",
                "`probe`: probe selector `0483:374b:`: empty serial number",
            ),
            (
                "[[board]]\nid = \"b1\"\nprob = \"0483:374b\"\n",
                "board `b1`: `prob`: unknown field `prob`",
            ),
            (
                "[[board]]\nid = \"b1\"\nchip = 5\n",
                "board `b1`: `chip`: invalid type: integer `5`",
            ),
            (
                "[[board]]\nid = \"b1\"\nspeed_khz = \"fast\"\n",
                "board `b1`: `speed_khz`: invalid type: string \"fast\"",
            ),
            (
                "[[board]]\nid = \"b1\"\nfixtures = [\"led_pa5\"]\n",
                "`fixtures[0]`: unknown fixture `led_pa5` (known: led_pc6, user_key_pc13)",
            ),
            (
                "[[board]]\nid = \"b1\"\nclock_profile = \"hse8-pll170\"\n",
                "board `b1`: `clock_profile`: unknown board profile `hse8-pll170` (known: weact, nucleo)",
            ),
            (
                "[[board]]\nid = \"b 1\"\n",
                "board `board[0]`: `id`: `b 1` must be",
            ),
            (
                "[[board]]\nchip = \"x\"\n",
                "board `board[0]`: `id`: missing field `id`",
            ),
            (
                "[[board]]\nid = \"b1\"\n[[board]]\nid = \"b1\"\n",
                "board `b1`: `id`: used by an earlier board",
            ),
            (
                "[[boards]]\nid = \"b1\"\n",
                "unknown top-level key `boards`",
            ),
            ("board = 1\n", "`board` must be an array of tables"),
            ("[[board]]\nid = \"b1\"\nchip = \"x\n", "line 3"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(FILE), "{e}");
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let e = HardwareMap::load(Path::new("/nonexistent/boards.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/boards.toml: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn plans_apply_to_probe_boards_with_their_fixtures() {
        let map = parse(
            "[[board]]\nid = \"bare\"\n[[board]]\nid = \"keyed\"\nfixtures = [\"user_key_pc13\"]\n",
        )
        .unwrap();
        let (bare, keyed) = (&map.boards[0], &map.boards[1]);
        let console_only = plan("[\"sim\", \"probe\"]", "[\"console\"]");
        let needs_key = plan("[\"probe\"]", "[\"gpio\", \"user_key_pc13\"]");
        let sim_only = plan("[\"sim\"]", "[]");
        assert!(bare.applies_to(&console_only) && keyed.applies_to(&console_only));
        assert!(!bare.applies_to(&needs_key));
        assert_eq!(bare.missing_fixtures(&needs_key), ["user_key_pc13"]);
        assert!(keyed.applies_to(&needs_key));
        assert!(!keyed.applies_to(&sim_only));
    }

    #[test]
    fn the_documented_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("boards.example.toml");
        let map = HardwareMap::load(&path).unwrap();
        let ids: Vec<&str> = map.boards.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["nucleo-1", "weact-1"]);
        assert_eq!(map.boards[0].serial_port.as_deref(), Some("/dev/ttyACM0"));
        assert_eq!(map.boards[0].clock_profile, Some(BoardProfile::Nucleo));
        assert!(
            map.boards[0]
                .firmware
                .ends_with("target/nucleo/thumbv7em-none-eabihf/release/cockpit-firmware")
        );
        assert_eq!(map.boards[1].clock_profile, Some(BoardProfile::Weact));
        assert_eq!(map.boards[1].fixtures, ["led_pc6", "user_key_pc13"]);
    }
}
