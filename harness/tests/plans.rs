//! Every plan of `test-plans/` as libtest tests, one per applicable board, named
//! `<plan>::<board>` (`blinky::sim`, `blinky::nucleo-1`): `sim` (and `emu` with the `emu`
//! feature); with the `hil` feature the real boards of the hardware map (`COCKPIT_BOARDS` or
//! `./boards.toml`) instead. `harness = false`: libtest-mimic provides libtest's command line
//! (filters, `--exact`, `--list`, `--ignored`, `--format terse`) and summary line, so
//! `cargo test` and `cargo nextest` both run it. Each test goes through the runner
//! (`cockpit_harness::runner::run_job`: an `infra_error` is retried once) and holds its board's
//! lock while the board is in use (from after the program is built to the end of the test), so
//! no two tests share a real board. With `hil` and no boards configured,
//! the one test `hil::hardware_map` fails, saying why.

use std::path::Path;

use cockpit_harness::bench::{self, PlannedTest};
use cockpit_harness::discover;
use cockpit_harness::report;
use cockpit_harness::result::Verdict;
use libtest_mimic::{Arguments, Trial};

fn trial(test: PlannedTest) -> Trial {
    Trial::test(test.name.clone(), move || {
        let result = test.run();
        match result.verdict {
            Verdict::Pass => Ok(()),
            _ => Err(report::failure_details(std::slice::from_ref(&result)).into()),
        }
    })
}

fn main() {
    let args = Arguments::from_args();
    let plans = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-plans");
    let trials = match (
        bench::test_boards(cfg!(feature = "hil")),
        discover::discover(std::slice::from_ref(&plans)),
    ) {
        (Err(why), _) => vec![Trial::test("hil::hardware_map", move || Err(why.into()))],
        (_, Err(e)) => {
            let why = format!("cannot read the plans in {}: {e}", plans.display());
            vec![Trial::test("plans::discover", move || Err(why.into()))]
        }
        (Ok(boards), Ok(files)) => {
            let tests = bench::planned_tests(discover::load(&files), &boards);
            if tests.is_empty() {
                let why = format!(
                    "no plan in {} applies to the boards ({}): a plan runs on a real board when \
                     its `boards` has \"probe\" and the board has the fixtures its tags name",
                    plans.display(),
                    boards
                        .iter()
                        .map(|b| b.info().id)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                vec![Trial::test("plans::none_apply", move || Err(why.into()))]
            } else {
                tests.into_iter().map(trial).collect()
            }
        }
    };
    libtest_mimic::run(&args, trials).exit();
}
