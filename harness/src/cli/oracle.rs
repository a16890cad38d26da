//! `cockpit sim`, `cockpit upload` and `cockpit oracle {info, scenario}`: the Oracle bootloader
//! from the host, against any serial device or the `sim` board's pseudo-terminal.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use cockpit_harness::sim::serial::{DEFAULT_BAUD, SerialLink, SimBench};
use cockpit_harness::sim::{SimFlash, SimTarget};
use cockpit_harness::target::Target;
use cockpit_harness::{program, runner};
use cockpit_oracle::client::{Client, ClientError, Transport, UploadReport};
use cockpit_oracle::scenario::{
    self, Bench, Outcome as ScenarioOutcome, ScenarioConfig, WallClock,
};
use cockpit_vm::{CvbcWriter, Instruction, Opcode};
use comfy_table::Table;
use indicatif::{ProgressBar, ProgressStyle};

use super::Outcome;

/// Arguments of `cockpit sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Program loaded directly before the bootloader starts (a .c compiled first, or an image):
    /// the image the board boots until an upload replaces it.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Simulated USART1 line rate, bit/s (8N1: 10 bit-times per byte).
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    baud: u32,
}

/// Arguments of `cockpit upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    /// Serial device of the bootloader (`/dev/ttyUSB0`, or the `USART1:` path `cockpit sim`
    /// prints).
    #[arg(long)]
    port: String,
    /// Line rate, bit/s.
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    baud: u32,
    /// Use the original Python client's `--flash` flow (one DataPacket, images ≤ 1010 bytes).
    #[arg(long)]
    original: bool,
    /// The image: a .cvbc, an original CONC image, or a .c/.ino source compiled first.
    image: PathBuf,
}

/// `cockpit oracle` subcommands.
#[derive(Subcommand, Debug)]
pub enum OracleCommand {
    /// Handshake and DeviceInfo of a bootloader.
    Info {
        /// Serial device of the bootloader.
        #[arg(long)]
        port: String,
        /// Line rate, bit/s.
        #[arg(long, default_value_t = DEFAULT_BAUD)]
        baud: u32,
    },
    /// Run fault-injection scenarios (see `cockpit_oracle::scenario::CATALOGUE`) and report
    /// pass/fail with timings. Exit 0 only if none fails.
    Scenario(ScenarioArgs),
}

/// Arguments of `cockpit oracle scenario`.
#[derive(Args, Debug)]
pub struct ScenarioArgs {
    /// A scenario name, or `all` for the whole catalogue.
    name: String,
    /// Serial device of the bootloader under test (waits in real time; no power cuts).
    #[arg(long, conflicts_with_all = ["sim", "emu"], required_unless_present_any = ["sim", "emu"])]
    port: Option<String>,
    /// Run against an internal `sim` board: instant waits, power cuts, reboots.
    #[arg(long, conflicts_with = "emu")]
    sim: bool,
    /// Run against an internal `emu` board (cargo feature `emu`): the firmware ELF's own
    /// bootloader on the board's USART1 pseudo-terminal, waits in real time, no power cuts.
    #[arg(long)]
    emu: bool,
    /// Line rate, bit/s.
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    baud: u32,
    /// Print the reports as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// Dispatches `cockpit oracle …`.
pub fn oracle(command: OracleCommand) -> Outcome {
    match command {
        OracleCommand::Info { port, baud } => info(&port, baud),
        OracleCommand::Scenario(args) => scenarios(args),
    }
}

/// Opens the bootloader at `port` with per-frame timeouts for `baud` and the default retries.
fn open(port: &str, baud: u32) -> anyhow::Result<Client> {
    Client::open(port, baud, runner::client_timeouts(baud))
        .with_context(|| format!("cannot open {port}"))
}

/// A client error: the port failing is the command failing (`Err`, exit 2); anything the device
/// said or failed to say is a failed operation (`Ok(false)`, exit 1).
fn device_failure(what: &str, e: ClientError) -> Outcome {
    match e {
        ClientError::Serial(_) | ClientError::Io(_) => {
            Err(anyhow::Error::new(e).context(what.to_string()))
        }
        e => {
            eprintln!("{what} failed: {e}");
            Ok(false)
        }
    }
}

/// `cockpit sim`: a `sim` board in its bootloader, serving USART1 on a pseudo-terminal until
/// standard input ends (or Ctrl-C). Prints `USART1: /dev/pts/N` on stdout first, and which image
/// boots at the end.
pub fn sim(args: SimArgs) -> Outcome {
    let mut target = SimTarget::new();
    target.set_baud(args.baud);
    if let Some(path) = &args.image {
        let image = program::build(path)?;
        target
            .load(&image.bytes)
            .with_context(|| format!("loading {}", path.display()))?;
    }
    let port = target.bootloader_port()?;
    println!("USART1: {port}");
    std::io::stdout().flush()?;
    eprintln!(
        "Oracle bootloader on {port} at {} baud 8N1; end of input (Ctrl-D) or Ctrl-C stops",
        args.baud
    );
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
    target.reboot()?;
    match target.booted_image_crc32() {
        Some(crc) => eprintln!("stopped; the board boots the image with CRC-32 {crc:08X}"),
        None => {
            eprintln!("stopped; no bank holds a valid image (the board stays in its bootloader)")
        }
    }
    Ok(true)
}

/// Prints an upload report: bytes, chunks, retries, duration, line efficiency, readback.
fn print_report(r: &UploadReport, baud: u32) {
    let efficiency = r
        .line_efficiency
        .map_or("n/a".into(), |e| format!("{:.1}%", e * 100.0));
    println!(
        "uploaded {} bytes in {} chunks of ≤ {} bytes, {} retries, {:.1} ms at {baud} baud: \
         line efficiency {efficiency}",
        r.bytes,
        r.chunks,
        r.chunk_size,
        r.retries,
        r.duration.as_secs_f64() * 1e3,
    );
    println!(
        "readback of 0x{:08X}+{}: CRC-32 {:08X} matches ({:.1} ms); {} bytes sent, {} received",
        r.target_address,
        r.bytes,
        r.crc32,
        r.readback_duration.as_secs_f64() * 1e3,
        r.wire_bytes_sent,
        r.wire_bytes_received
    );
}

/// `cockpit upload`: builds the image, uploads it with a progress bar (hidden when stderr is
/// not a terminal), verifies the readback CRC-32, prints the figures.
pub fn upload(args: UploadArgs) -> Outcome {
    let image = program::build(&args.image)?.bytes;
    let mut client = open(&args.port, args.baud)?;
    if args.original {
        return match client.upload_original(&image) {
            Ok(f) => {
                println!(
                    "uploaded {} bytes with the original --flash flow: verification_hash {:02X?}",
                    f.actual_data_length, f.verification_hash
                );
                Ok(true)
            }
            Err(e) => device_failure("upload", e),
        };
    }
    let bar = ProgressBar::new(image.len() as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
        )
        .expect("static template is valid")
        .progress_chars("=> "),
    );
    let outcome = client.upload(&image, |p| {
        bar.set_position(p.bytes_sent as u64);
        bar.set_message(format!("{} chunks, {} retries", p.chunks_sent, p.retries));
    });
    bar.finish_and_clear();
    match outcome {
        Ok(r) => {
            print_report(&r, args.baud);
            Ok(true)
        }
        Err(e) => device_failure("upload", e),
    }
}

/// `cockpit oracle info`: handshake and DeviceInfo.
fn info(port: &str, baud: u32) -> Outcome {
    let mut client = open(port, baud)?;
    let (h, d) = match client
        .handshake()
        .and_then(|h| Ok((h, client.device_info()?)))
    {
        Ok(x) => x,
        Err(e) => return device_failure("info", e),
    };
    println!("bootloader_version    {}", h.bootloader_version);
    println!("capabilities          {}", h.capabilities);
    println!("flash_page_size       {} bytes", h.flash_page_size);
    println!("target_flash_address  0x{:08X}", h.target_flash_address);
    println!("device_model          {}", d.device_model);
    println!("flash_total_size      {} bytes", d.flash_total_size);
    println!("bootloader_region_end 0x{:08X}", d.bootloader_region_end);
    println!(
        "hypervisor_region     0x{:08X}..0x{:08X}",
        d.hypervisor_region_start, d.hypervisor_region_end
    );
    println!(
        "bytecode_region       0x{:08X}..0x{:08X}",
        d.bytecode_region_start, d.bytecode_region_end
    );
    println!("test_page_address     0x{:08X}", d.test_page_address);
    println!("unique_device_id      {:02X?}", d.unique_device_id);
    println!("hardware_revision     {}", d.hardware_revision);
    Ok(true)
}

/// Two different valid CVBC images of a few KiB (several 1000-byte chunks) for the scenarios:
/// `image` and `alternate_image` of [`ScenarioConfig`].
fn scenario_images() -> (Vec<u8>, Vec<u8>) {
    let image = |name: &str, instructions: usize| {
        CvbcWriter {
            code: vec![Instruction::new(Opcode::Halt, 0, 0); instructions],
            name: name.into(),
            ..Default::default()
        }
        .to_bytes()
    };
    (image("scenario-a", 600), image("scenario-b", 700))
}

/// Runs the selected scenarios against `client` on `bench`.
fn run_scenarios<T: Transport>(
    names: &[&str],
    client: &mut Client<T>,
    bench: &mut dyn Bench,
) -> anyhow::Result<Vec<scenario::ScenarioReport>> {
    let (a, b) = scenario_images();
    let cfg = ScenarioConfig::new(a, b);
    names
        .iter()
        .map(|name| Ok(scenario::run(name, client, bench, &cfg)?))
        .collect()
}

/// The scenarios against an `emu` board's firmware bootloader (real-time bench).
#[cfg(feature = "emu")]
fn emu_scenarios(names: &[&str], baud: u32) -> anyhow::Result<Vec<scenario::ScenarioReport>> {
    let mut target = cockpit_harness::emu::EmuTarget::new();
    let port = target.bootloader_port()?;
    let reports = run_scenarios(names, &mut open(&port, baud)?, &mut WallClock::default());
    target.reboot()?;
    reports
}

#[cfg(not(feature = "emu"))]
fn emu_scenarios(_: &[&str], _: u32) -> anyhow::Result<Vec<scenario::ScenarioReport>> {
    anyhow::bail!("--emu needs a cockpit built with the `emu` cargo feature")
}

/// `cockpit oracle scenario`.
fn scenarios(args: ScenarioArgs) -> Outcome {
    let names: Vec<&str> = if args.name == "all" {
        scenario::CATALOGUE.iter().map(|s| s.name).collect()
    } else {
        let spec = scenario::find(&args.name).with_context(|| {
            let known: Vec<_> = scenario::CATALOGUE.iter().map(|s| s.name).collect();
            format!(
                "unknown scenario {:?} (known: all, {})",
                args.name,
                known.join(", ")
            )
        })?;
        vec![spec.name]
    };
    let reports = match &args.port {
        Some(port) => run_scenarios(
            &names,
            &mut open(port, args.baud)?,
            &mut WallClock::default(),
        )?,
        None if args.emu => emu_scenarios(&names, args.baud)?,
        None => {
            let link = SerialLink::open(&mut SimFlash::new(), args.baud)?;
            let mut client = open(link.path(), args.baud)?;
            run_scenarios(&names, &mut client, &mut SimBench(&link))?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        let mut table = Table::new();
        table.set_header(["scenario", "outcome", "bench ms", "wall ms", "message"]);
        for r in &reports {
            table.add_row([
                r.name.clone(),
                format!("{:?}", r.outcome).to_lowercase(),
                format!("{:.1}", r.bench_ms),
                format!("{:.1}", r.wall_ms),
                r.message.clone(),
            ]);
        }
        println!("{table}");
    }
    let count = |o| reports.iter().filter(|r| r.outcome == o).count();
    let failed = count(ScenarioOutcome::Fail);
    let summary = format!(
        "{} passed, {failed} failed, {} skipped",
        count(ScenarioOutcome::Pass),
        count(ScenarioOutcome::Skip)
    );
    if args.json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    Ok(failed == 0)
}
