//! The boards a run can use, by name: `sim`, `emu` (with the `emu` feature) and the real boards
//! of the hardware map ([`crate::boards`]). `cockpit run --board NAME` and the libtest target
//! (`harness/tests/plans.rs`) both pick boards here, open them for the runner, and hold a real
//! board's lock while its tests run.

use std::cell::RefCell;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use crate::boards::{Board, HardwareMap};
use crate::discover::Job;
use crate::plan::{BOARD_KINDS, Plan};
use crate::probe::{FlashProgressView, ProbeTarget};
use crate::result::TestResult;
use crate::runner;
use crate::sim::SimTarget;
use crate::target::{Target, TargetError, TargetInfo};

/// Simulated board kinds this build can run (`emu` needs the `emu` cargo feature).
#[cfg(feature = "emu")]
pub const SIMULATED: [&str; 2] = ["sim", "emu"];
/// Simulated board kinds this build can run (`emu` needs the `emu` cargo feature).
#[cfg(not(feature = "emu"))]
pub const SIMULATED: [&str; 1] = ["sim"];

/// One board to run tests on.
#[derive(Clone, Debug)]
pub enum TestBoard {
    /// A simulated kind (`sim`, `emu`): a fresh, identical board for every test, so tests run
    /// in parallel.
    Simulated(&'static str),
    /// A real board of the hardware map: one test at a time, under its [`BoardLock`].
    Hardware(Board),
}

impl TestBoard {
    /// The board called `name`: a kind of [`SIMULATED`], else a board id of `map`.
    /// Errors: a message naming what is known (the kinds, the map's ids, or the missing map).
    pub fn named(name: &str, map: Option<&HardwareMap>) -> Result<TestBoard, String> {
        if let Some(kind) = SIMULATED.iter().find(|k| **k == name) {
            return Ok(TestBoard::Simulated(kind));
        }
        if let Some(board) = map.and_then(|m| m.get(name)) {
            return Ok(TestBoard::Hardware(board.clone()));
        }
        let boards = match map {
            Some(m) if m.boards.is_empty() => format!("{} has no boards", m.path.display()),
            Some(m) => format!(
                "boards of {}: {}",
                m.path.display(),
                m.boards
                    .iter()
                    .map(|b| b.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("no hardware map at {}", HardwareMap::locate().display()),
        };
        let kinds = SIMULATED.join(", ");
        Err(if BOARD_KINDS.contains(&name) {
            format!(
                "board kind `{name}` is not available in this build (available: {kinds}; {boards})"
            )
        } else {
            format!("unknown board `{name}` (board kinds: {kinds}; {boards})")
        })
    }

    /// The identity its results carry when the board cannot be opened; a real board's kind is
    /// `probe`, its id the map's id, its serial the selector's, its backend the probe backend's.
    pub fn info(&self) -> TargetInfo {
        match self {
            TestBoard::Simulated(kind) => TargetInfo::new(*kind, *kind),
            TestBoard::Hardware(b) => TargetInfo {
                serial: b.probe.as_ref().and_then(|p| p.serial.clone()),
                backend: Some(crate::probe::BACKEND.to_string()),
                ..TargetInfo::new("probe", b.id.as_str())
            },
        }
    }

    /// Whether `plan` runs on this board: the plan's `boards` has the kind; for a real board,
    /// see [`Board::applies_to`].
    pub fn applies_to(&self, plan: &Plan) -> bool {
        match self {
            TestBoard::Simulated(kind) => plan.boards.iter().any(|b| b == kind),
            TestBoard::Hardware(b) => b.applies_to(plan),
        }
    }

    /// Whether several tests may run at once (each on its own fresh board).
    pub fn parallel(&self) -> bool {
        matches!(self, TestBoard::Simulated(_))
    }

    /// A fresh board for one test attempt. Errors: a real board that cannot be reached
    /// (`Board`: an infrastructure failure), or a backend this build lacks (`Unsupported`).
    pub fn open(&self) -> Result<Box<dyn Target>, TargetError> {
        match self {
            TestBoard::Simulated("sim") => Ok(Box::new(SimTarget::new())),
            #[cfg(feature = "emu")]
            TestBoard::Simulated("emu") => Ok(Box::new(crate::emu::EmuTarget::new())),
            TestBoard::Simulated(kind) => Err(TargetError::Unsupported(format!(
                "board kind `{kind}` is not built in"
            ))),
            TestBoard::Hardware(b) => open_hardware(b),
        }
    }

    /// For a real board, waits until no other process or thread uses it and returns the lock
    /// that keeps it ours until dropped; `None` for simulated boards. `waiting` is called once
    /// if the board is busy, before blocking. Errors: the lock file cannot be created.
    pub fn lock(&self, waiting: impl FnOnce()) -> std::io::Result<Option<BoardLock>> {
        match self {
            TestBoard::Simulated(_) => Ok(None),
            TestBoard::Hardware(b) => BoardLock::acquire(&b.id, waiting).map(Some),
        }
    }
}

/// Opens real board `b` through the probe backend ([`ProbeTarget::open`]: select the probe,
/// attach, flash the firmware unless the board holds it), showing the flash progress on stderr
/// ([`FlashProgressView`]).
fn open_hardware(b: &Board) -> Result<Box<dyn Target>, TargetError> {
    let mut view = FlashProgressView::stderr(&b.id);
    let target = ProbeTarget::open(b.probe_config(), &mut |p| view.update(p));
    view.finish();
    Ok(Box::new(target?))
}

/// The boards the libtest target (`harness/tests/plans.rs`) runs plans on: without `hil`, the
/// [`SIMULATED`] kinds; with `hil`, the boards of the hardware map ([`HardwareMap::locate`]).
/// Errors (`hil` only): a message when there is no hardware map, it is invalid, or it has no
/// boards — a `hil` test run without boards must fail, not pass.
pub fn test_boards(hil: bool) -> Result<Vec<TestBoard>, String> {
    if !hil {
        return Ok(SIMULATED.iter().map(|k| TestBoard::Simulated(k)).collect());
    }
    let path = HardwareMap::locate();
    match HardwareMap::load_located() {
        Err(e) => Err(e.to_string()),
        Ok(None) => Err(format!(
            "no boards configured: the hardware map {} does not exist (set {} or create \
             ./boards.toml; see harness/boards.example.toml)",
            path.display(),
            crate::boards::BOARDS_ENV
        )),
        Ok(Some(m)) if m.boards.is_empty() => Err(format!(
            "no boards configured: the hardware map {} has no [[board]]",
            m.path.display()
        )),
        Ok(Some(m)) => Ok(m.boards.into_iter().map(TestBoard::Hardware).collect()),
    }
}

/// One test of the libtest target: a plan (or a plan file that does not load) on one board.
#[derive(Clone, Debug)]
pub struct PlannedTest {
    /// `<plan name>::<board id>` (an invalid plan file: its file stem).
    pub name: String,
    /// The plan.
    pub job: Arc<Job>,
    /// The board.
    pub board: TestBoard,
}

impl PlannedTest {
    /// Runs the test through [`runner::run_job`] (so an `infra_error` is retried once). A real
    /// board's lock is taken when the test first needs the board (after its program is built;
    /// a compile-only plan never takes it) and held to the end of the test; a lock that cannot
    /// be taken is a board failure (`infra_error`).
    pub fn run(&self) -> TestResult {
        let info = self.board.info();
        let lock = RefCell::new(None);
        runner::run_job(&self.job, &info, || {
            if lock.borrow().is_none() {
                let taken = self
                    .board
                    .lock(|| eprintln!("{}: board `{}` is in use; waiting", self.name, info.id))
                    .map_err(|e| {
                        TargetError::Board(format!("cannot lock board `{}`: {e}", info.id))
                    })?;
                *lock.borrow_mut() = Some(taken);
            }
            self.board.open()
        })
    }
}

/// Every (job, board) pair where the plan applies to the board, in job then board order; an
/// invalid plan file goes on every board (its test reports why it cannot load).
pub fn planned_tests(jobs: Vec<Job>, boards: &[TestBoard]) -> Vec<PlannedTest> {
    let mut tests = Vec::new();
    for job in jobs.into_iter().map(Arc::new) {
        for board in boards {
            let applies = match job.as_ref() {
                Job::Plan(p) => board.applies_to(p),
                Job::Invalid { .. } => true,
            };
            if applies {
                tests.push(PlannedTest {
                    name: format!("{}::{}", job.name(), board.info().id),
                    job: Arc::clone(&job),
                    board: board.clone(),
                });
            }
        }
    }
    tests
}

/// Exclusive use of one real board across threads and processes (`cargo test` runs tests on
/// threads, `cargo nextest` in processes, and two `cockpit run`s may share a bench): an
/// advisory `flock` on `<temp dir>/cockpit-board-<id>.lock`, released on drop.
#[derive(Debug)]
pub struct BoardLock {
    _file: File,
}

impl BoardLock {
    /// The lock file of board `id`.
    pub fn path(id: &str) -> PathBuf {
        std::env::temp_dir().join(format!("cockpit-board-{id}.lock"))
    }

    /// Takes board `id`'s lock, calling `waiting` once and then blocking if another holder has
    /// it. Errors: the lock file cannot be created or locked.
    pub fn acquire(id: &str, waiting: impl FnOnce()) -> std::io::Result<BoardLock> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(Self::path(id))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting();
                file.lock()?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        Ok(BoardLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn map() -> HardwareMap {
        HardwareMap::parse(
            "[[board]]\nid = \"bench-test-a\"\nprobe = \"0483:374b:S1\"\n",
            Path::new("boards.toml"),
        )
        .unwrap()
    }

    #[test]
    fn boards_by_name_and_what_is_known_otherwise() {
        let map = map();
        assert!(matches!(
            TestBoard::named("sim", None),
            Ok(TestBoard::Simulated("sim"))
        ));
        let b = TestBoard::named("bench-test-a", Some(&map)).unwrap();
        let info = b.info();
        assert_eq!(
            (info.kind.as_str(), info.id.as_str(), info.serial.as_deref()),
            ("probe", "bench-test-a", Some("S1"))
        );
        assert_eq!(info.backend.as_deref(), Some(crate::probe::BACKEND));
        assert!(!b.parallel());
        let e = TestBoard::named("nucleo-9", Some(&map)).unwrap_err();
        assert!(
            e.contains("unknown board `nucleo-9`") && e.contains("boards.toml: bench-test-a"),
            "{e}"
        );
        let e = TestBoard::named("probe", None).unwrap_err();
        assert!(e.contains("board kind `probe` is not available"), "{e}");
        assert!(e.contains("no hardware map at"), "{e}");
    }

    #[test]
    fn a_real_board_is_used_by_one_holder_at_a_time() {
        let board = TestBoard::named("bench-test-a", Some(&map())).unwrap();
        let first = board.lock(|| panic!("free board")).unwrap();
        assert!(first.is_some());
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let board = board.clone();
            std::thread::spawn(move || {
                let mut waited = false;
                let lock = board.lock(|| waited = true).unwrap();
                tx.send(waited).unwrap();
                drop(lock);
            })
        };
        // The second holder waits until the first lets go.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        waiter.join().unwrap();
        assert!(TestBoard::Simulated("sim").lock(|| {}).unwrap().is_none());
    }

    #[test]
    fn every_applicable_plan_becomes_one_test_per_board() {
        let dir = tempfile::tempdir().unwrap();
        let plan = |file: &str, body: &str| {
            let path = dir.path().join(file);
            std::fs::write(&path, body).unwrap();
            path
        };
        let files = [
            plan(
                "a.toml",
                "name = \"alpha\"\nprogram = \"p.c\"\nboards = [\"sim\", \"probe\"]\n",
            ),
            plan(
                "b.toml",
                "name = \"beta\"\nprogram = \"p.c\"\nboards = [\"probe\"]\n\
                            tags = [\"user_key_pc13\"]\n",
            ),
            plan("c.toml", "name = \"gamma\"\nprogram = \"p.c\"\nwat = 1\n"),
        ];
        let map = HardwareMap::parse(
            "[[board]]\nid = \"bare\"\n[[board]]\nid = \"keyed\"\nfixtures = [\"user_key_pc13\"]\n",
            Path::new("boards.toml"),
        )
        .unwrap();
        let boards: Vec<TestBoard> = std::iter::once(TestBoard::Simulated("sim"))
            .chain(map.boards.into_iter().map(TestBoard::Hardware))
            .collect();
        let names: Vec<String> = planned_tests(crate::discover::load(&files), &boards)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(
            names,
            [
                "alpha::sim",
                "alpha::bare",
                "alpha::keyed",
                "beta::keyed",
                "c::sim",
                "c::bare",
                "c::keyed"
            ]
        );
    }

    #[test]
    fn without_hil_the_simulated_kinds_and_with_hil_no_map_is_an_error() {
        let sim: Vec<String> = test_boards(false)
            .unwrap()
            .iter()
            .map(|b| b.info().id)
            .collect();
        assert_eq!(sim, SIMULATED);
        // The test process's current directory is the crate, which has no boards.toml.
        if std::env::var_os(crate::boards::BOARDS_ENV).is_none() {
            let e = test_boards(true).unwrap_err();
            assert!(
                e.starts_with("no boards configured: the hardware map /"),
                "{e}"
            );
            assert!(e.contains("harness/boards.toml does not exist"), "{e}");
        }
    }

    #[test]
    fn a_planned_test_runs_through_the_runner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            dir.path().join("p.c"),
            "int main() { printf(\"hi\\n\"); return 0; }\n",
        )
        .unwrap();
        std::fs::write(
            &path,
            "name = \"t\"\nprogram = \"p.c\"\n[[console]]\ncontains = \"hi\"\n",
        )
        .unwrap();
        let tests = planned_tests(
            crate::discover::load(&[path]),
            &[TestBoard::Simulated("sim")],
        );
        let r = tests[0].run();
        assert_eq!(r.verdict, crate::result::Verdict::Pass, "{:?}", r.failure);
        assert_eq!(r.console, "hi\n");
    }
}
