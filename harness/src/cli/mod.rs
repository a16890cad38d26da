//! The `cockpit` command line: argument parsing and dispatch to one module per subcommand.
//!
//! Exit status: 0 = success (for `run`: every test passed), 1 = a test did not pass, the
//! program did not compile, or the bootloader rejected an operation / a scenario failed,
//! 2 = the command itself failed (bad arguments, unknown board kind, unusable database or
//! serial port, no plans found).

mod boards;
mod demo;
mod history;
mod list;
mod oracle;
mod program;
mod regressions;
mod run;
mod select;
mod serve;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Cockpit: hardware-in-the-loop test harness for CockpitVM guest programs.
#[derive(Parser, Debug)]
#[command(name = "cockpit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run test plans on a board, judge them, store the results and print a report.
    Run(run::RunArgs),
    /// Compile an ArduinoC program to a CVBC image.
    Compile {
        /// Source file (.c or .ino).
        source: PathBuf,
        /// Output image; default: the source path with extension `.cvbc`.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the disassembly of a program (a .cvbc/CONC image, or a source compiled first).
    Disasm {
        /// Image or source file.
        program: PathBuf,
    },
    /// Show a test's stored metric history, newest first.
    History(history::HistoryArgs),
    /// List the plans (name, boards, tags, description) without running them.
    List(list::ListArgs),
    /// List the real boards of the hardware map (`COCKPIT_BOARDS` or `./boards.toml`) and the
    /// debug probes and serial ports present, with each board's status; exits 1 when a
    /// configured board is not ready.
    Boards(boards::BoardsArgs),
    /// Start a `sim` board in its Oracle bootloader, USART1 on a pseudo-terminal (prints
    /// `USART1: /dev/pts/N`), until end of input or Ctrl-C.
    Sim(oracle::SimArgs),
    /// Upload a program through the Oracle bootloader on a serial port (chunks, retries,
    /// readback CRC-32 verification).
    Upload(oracle::UploadArgs),
    /// Talk to an Oracle bootloader: device info, fault-injection scenarios.
    Oracle {
        #[command(subcommand)]
        command: oracle::OracleCommand,
    },
    /// Serve the dashboard (runs, test history, regressions) over the result store.
    Serve(serve::ServeArgs),
    /// List timing regressions; exits 1 when an unacknowledged one exists (a CI gate).
    Regressions(regressions::RegressionsArgs),
    /// Fill a result store with a synthetic history (noise, outliers, known step changes).
    DemoHistory(demo::DemoArgs),
}

/// How a command ended: `Ok(true)` = success, `Ok(false)` = a test failed or a program did not
/// compile, `Err` = the command itself failed.
type Outcome = anyhow::Result<bool>;

/// Parses the command line, runs the subcommand, and maps its outcome to the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome: Outcome = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Compile { source, output } => program::compile(&source, output),
        Command::Disasm { program } => program::disasm(&program),
        Command::History(args) => history::history(args),
        Command::List(args) => list::list(args),
        Command::Boards(args) => boards::boards(args),
        Command::Sim(args) => oracle::sim(args),
        Command::Upload(args) => oracle::upload(args),
        Command::Oracle { command } => oracle::oracle(command),
        Command::Serve(args) => serve::serve(args),
        Command::Regressions(args) => regressions::regressions(args),
        Command::DemoHistory(args) => demo::demo_history(args),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A single-threaded tokio runtime for the (async) result store.
fn store_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
