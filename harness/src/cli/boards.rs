//! `cockpit boards`: the real boards of the hardware map, and the debug probes and serial ports
//! actually present, with each board's status.

use std::path::Path;

use clap::Args;
use cockpit_harness::boards::{Board, HardwareMap};
use cockpit_harness::probe::{ProbeListing, SelectError, list_probes, select};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use serialport::{SerialPortInfo, SerialPortType};

use super::Outcome;

/// Arguments of `cockpit boards`.
#[derive(Args, Debug)]
pub struct BoardsArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// Whether a board's probe or serial port is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Presence {
    Present,
    Missing,
    /// Several probes match: the selector needs the serial number.
    Ambiguous,
    /// The board does not name a serial port.
    Unset,
}

impl Presence {
    fn as_str(self) -> &'static str {
        match self {
            Presence::Present => "present",
            Presence::Missing => "missing",
            Presence::Ambiguous => "ambiguous",
            Presence::Unset => "unset",
        }
    }
}

/// One configured board and its status.
#[derive(Serialize)]
struct BoardStatus<'a> {
    #[serde(flatten)]
    board: &'a Board,
    probe_status: Presence,
    serial_port_status: Presence,
    /// Both its probe and (if it names one) its serial port are present.
    ready: bool,
}

/// One serial port present on the host.
#[derive(Serialize)]
struct Port {
    name: String,
    /// `usb VID:PID serial product`, `pci`, `bluetooth` or `unknown`.
    kind: String,
}

impl From<SerialPortInfo> for Port {
    fn from(p: SerialPortInfo) -> Port {
        let kind = match p.port_type {
            SerialPortType::UsbPort(u) => format!(
                "usb {:04x}:{:04x} {} {}",
                u.vid,
                u.pid,
                u.serial_number.unwrap_or_default(),
                u.product.unwrap_or_default()
            )
            .trim_end()
            .to_string(),
            SerialPortType::PciPort => "pci".into(),
            SerialPortType::BluetoothPort => "bluetooth".into(),
            SerialPortType::Unknown => "unknown".into(),
        };
        Port {
            name: p.port_name,
            kind,
        }
    }
}

/// The probe status of `board` given the probes present, as the probe backend selects.
fn probe_status(board: &Board, probes: &[ProbeListing]) -> Presence {
    match select(probes, board.probe.as_ref()) {
        Ok(_) => Presence::Present,
        Err(SelectError::Ambiguous { .. }) => Presence::Ambiguous,
        Err(_) => Presence::Missing,
    }
}

/// Lists boards, probes and serial ports; `Ok(false)` when a configured board is not ready.
pub fn boards(args: BoardsArgs) -> Outcome {
    let map_path = HardwareMap::locate();
    let map = HardwareMap::load_located()?;
    let probes = list_probes();
    let ports: Result<Vec<Port>, String> = serialport::available_ports()
        .map(|ps| ps.into_iter().map(Port::from).collect())
        .map_err(|e| e.to_string());
    let statuses: Vec<BoardStatus> = map
        .iter()
        .flat_map(|m| &m.boards)
        .map(|board| {
            let probe_status = probe_status(board, &probes);
            let serial_port_status = match &board.serial_port {
                None => Presence::Unset,
                Some(p) if Path::new(p).exists() => Presence::Present,
                Some(_) => Presence::Missing,
            };
            BoardStatus {
                board,
                probe_status,
                serial_port_status,
                ready: probe_status == Presence::Present && serial_port_status != Presence::Missing,
            }
        })
        .collect();
    let ready = statuses.iter().all(|s| s.ready);

    if args.json {
        let json = serde_json::json!({
            "hardware_map": map.as_ref().map(|m| &m.path),
            "boards": statuses,
            "probes": probes,
            "serial_ports": ports.as_ref().ok(),
            "serial_ports_error": ports.as_ref().err(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ready);
    }
    match &map {
        None => println!(
            "no hardware map: {} does not exist (set COCKPIT_BOARDS, or copy \
             harness/boards.example.toml to ./boards.toml)",
            map_path.display()
        ),
        Some(m) if m.boards.is_empty() => {
            println!("hardware map {}: no boards", m.path.display())
        }
        Some(m) => {
            println!("hardware map {}:", m.path.display());
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED).set_header([
                "board",
                "chip",
                "probe",
                "serial port",
                "fixtures",
                "status",
            ]);
            for s in &statuses {
                let b = s.board;
                let probe = b
                    .probe
                    .as_ref()
                    .map_or_else(|| "(the only one)".to_string(), ToString::to_string);
                let port = b.serial_port.as_deref().unwrap_or("-");
                t.add_row([
                    b.id.clone(),
                    b.chip.clone(),
                    format!("{probe} ({})", s.probe_status.as_str()),
                    match s.serial_port_status {
                        Presence::Unset => port.to_string(),
                        p => format!("{port} ({})", p.as_str()),
                    },
                    b.fixtures.join(", "),
                    if s.ready { "ready" } else { "not ready" }.to_string(),
                ]);
            }
            println!("{t}");
        }
    }
    if probes.is_empty() {
        println!("debug probes: none");
    } else {
        println!("debug probes:");
        for p in &probes {
            println!("  {p}");
        }
    }
    match &ports {
        Err(e) => println!("serial ports: cannot list ({e})"),
        Ok(ps) if ps.is_empty() => println!("serial ports: none"),
        Ok(ps) => {
            println!("serial ports:");
            for p in ps {
                println!("  {} {}", p.name, p.kind);
            }
        }
    }
    Ok(ready)
}
