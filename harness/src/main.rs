//! `cockpit`: the Cockpit HIL test harness command line. See `cockpit --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
