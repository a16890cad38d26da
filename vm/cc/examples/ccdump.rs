//! Compiles an ArduinoC file and prints the diagnostics or the disassembly.
//! Usage: `cargo run -p cockpit-cc --example ccdump -- file.ino`
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: ccdump FILE");
        std::process::exit(2);
    };
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    match cockpit_cc::compile(&src, &path) {
        Ok(c) => {
            if !c.warnings.is_empty() {
                eprint!("{}", c.warnings);
            }
            let program = cockpit_vm::Program::parse(&c.image).expect("valid image");
            let mut listing = String::new();
            cockpit_vm::disasm::write_listing(&program, &mut listing).expect("listing");
            print!("{listing}");
        }
        Err(d) => {
            eprint!("{d}");
            std::process::exit(1);
        }
    }
}
