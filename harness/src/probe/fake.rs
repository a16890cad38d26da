//! [`ScriptedLink`]: a simulated STM32G474 behind the [`DebugLink`] boundary, for tests without
//! hardware. It is not an emulator: the "firmware" is a script of memory writes and RTT bytes
//! that appear while the core runs, at given polls (reads of the run-control record, which
//! `ProbeTarget::run` reads once per poll); errors and delays can be injected per [`Operation`].
//!
//! The board state is shared ([`ScriptedLink::board`]) so a test can inspect it after handing
//! the link to a [`super::ProbeTarget`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cockpit_hypervisor::runctl::RUNCTL_ADDR;
use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE};

use super::link::{DebugLink, FlashPhase, FlashProgress, FlashRegion, LinkError, Operation};
use crate::corereg::CoreRegister;

/// SRAM1 + SRAM2 base and size (RM0440 §2.2).
const SRAM: (u32, usize) = (0x2000_0000, 96 * 1024);

/// What the scripted firmware does at one poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Writes bytes to RAM (or a peripheral word, when 4 bytes at a register address).
    Write {
        /// Address.
        addr: u32,
        /// Bytes.
        bytes: Vec<u8>,
    },
    /// Appends bytes to RTT up-channel 0.
    Rtt(Vec<u8>),
}

/// The simulated board's state.
#[derive(Debug)]
pub struct FakeBoard {
    /// 512 KiB of flash from `0x0800_0000`, erased (`0xFF`) at first.
    pub flash: Vec<u8>,
    /// 96 KiB of SRAM from `0x2000_0000`.
    pub ram: Vec<u8>,
    /// Peripheral and system registers (word address → value); other addresses are unmapped.
    pub registers: HashMap<u32, u32>,
    /// Core registers (R0–R15, xPSR, MSP, PSP by REGSEL number).
    pub core: [u32; 19],
    /// Whether the core is halted.
    pub halted: bool,
    /// The run script: `(poll, step)`; a step applies once the running core's run-control
    /// record has been read `poll` times since the last resume.
    pub script: Vec<(usize, Step)>,
    /// Run-control record reads since the last resume.
    pub polls: usize,
    /// Unread RTT up-channel 0 bytes.
    pub rtt: VecDeque<u8>,
    /// Errors to return, per operation (every call of that kind fails while set).
    pub fail: HashMap<Operation, String>,
    /// Delays before each call, per operation (to trigger timeouts).
    pub delay: HashMap<Operation, Duration>,
    /// Calls made, in order (`"reset_and_halt"`, `"write_flash 0x08000000+1024"`, …).
    pub calls: Vec<String>,
}

impl Default for FakeBoard {
    fn default() -> Self {
        FakeBoard {
            flash: vec![0xFF; FLASH_SIZE],
            ram: vec![0; SRAM.1],
            registers: HashMap::new(),
            core: [0; 19],
            halted: true,
            script: Vec::new(),
            polls: 0,
            rtt: VecDeque::new(),
            fail: HashMap::new(),
            delay: HashMap::new(),
            calls: Vec::new(),
        }
    }
}

fn span(base: u32, size: usize, addr: u32, len: usize) -> Option<std::ops::Range<usize>> {
    let off = usize::try_from(addr.checked_sub(base)?).ok()?;
    let end = off.checked_add(len)?;
    (end <= size).then_some(off..end)
}

impl FakeBoard {
    /// The calls whose text starts with `prefix`.
    pub fn calls_of(&self, prefix: &str) -> usize {
        self.calls.iter().filter(|c| c.starts_with(prefix)).count()
    }

    fn enter(&mut self, op: Operation, call: String) -> Result<Option<Duration>, LinkError> {
        self.calls.push(call);
        if let Some(m) = self.fail.get(&op) {
            return Err(LinkError::failed(op, m));
        }
        Ok(self.delay.get(&op).copied())
    }

    fn advance(&mut self) {
        if self.halted {
            return;
        }
        self.polls += 1;
        let due: Vec<Step> = self
            .script
            .iter()
            .filter(|(at, _)| *at == self.polls)
            .map(|(_, s)| s.clone())
            .collect();
        for step in due {
            match step {
                Step::Write { addr, bytes } => {
                    if let Some(r) = span(SRAM.0, SRAM.1, addr, bytes.len()) {
                        self.ram[r].copy_from_slice(&bytes);
                    } else if let Ok(w) = <[u8; 4]>::try_from(bytes.as_slice()) {
                        self.registers.insert(addr, u32::from_le_bytes(w));
                    }
                }
                Step::Rtt(b) => self.rtt.extend(b),
            }
        }
    }

    fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        if addr == RUNCTL_ADDR {
            self.advance();
        }
        if let Some(r) = span(FLASH_BASE, FLASH_SIZE, addr, len) {
            return Ok(self.flash[r].to_vec());
        }
        if let Some(r) = span(SRAM.0, SRAM.1, addr, len) {
            return Ok(self.ram[r].to_vec());
        }
        if len == 4
            && let Some(v) = self.registers.get(&addr)
        {
            return Ok(v.to_le_bytes().to_vec());
        }
        Err(LinkError::failed(
            Operation::Access,
            format!("{len} bytes at {addr:#010x}: no memory there"),
        ))
    }
}

/// A [`DebugLink`] to a [`FakeBoard`].
#[derive(Clone, Debug, Default)]
pub struct ScriptedLink {
    board: Arc<Mutex<FakeBoard>>,
}

impl ScriptedLink {
    /// A link to a board with erased flash and an empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// The board, to set up a script or inspect it.
    pub fn board(&self) -> MutexGuard<'_, FakeBoard> {
        self.board.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Enters an operation: records the call, fails or sleeps as injected (sleeping without
    /// holding the board).
    fn enter(&self, op: Operation, call: String) -> Result<(), LinkError> {
        let delay = self.board().enter(op, call)?;
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        Ok(())
    }
}

impl DebugLink for ScriptedLink {
    fn reset_and_halt(&mut self) -> Result<(), LinkError> {
        self.enter(Operation::Control, "reset_and_halt".into())?;
        self.board().halted = true;
        Ok(())
    }

    fn resume(&mut self) -> Result<(), LinkError> {
        self.enter(Operation::Control, "resume".into())?;
        let mut b = self.board();
        b.halted = false;
        b.polls = 0;
        Ok(())
    }

    fn halt(&mut self) -> Result<(), LinkError> {
        self.enter(Operation::Control, "halt".into())?;
        self.board().halted = true;
        Ok(())
    }

    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        self.enter(Operation::Access, format!("read {addr:#010x}+{len}"))?;
        self.board().read(addr, len)
    }

    fn write_memory(&mut self, addr: u32, data: &[u8]) -> Result<(), LinkError> {
        self.enter(
            Operation::Access,
            format!("write {addr:#010x}+{}", data.len()),
        )?;
        let mut b = self.board();
        let r = span(SRAM.0, SRAM.1, addr, data.len()).ok_or_else(|| {
            LinkError::failed(Operation::Access, format!("no RAM at {addr:#010x}"))
        })?;
        b.ram[r].copy_from_slice(data);
        Ok(())
    }

    fn read_u32(&mut self, addr: u32) -> Result<u32, LinkError> {
        self.enter(Operation::Access, format!("read_u32 {addr:#010x}"))?;
        let b = self.board().read(addr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, LinkError> {
        self.enter(Operation::Access, format!("read_core_register {reg}"))?;
        let b = self.board();
        if !b.halted {
            return Err(LinkError::failed(Operation::Access, "core is running"));
        }
        Ok(b.core[usize::from(reg.regsel())])
    }

    fn write_flash(
        &mut self,
        regions: &[FlashRegion],
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<(), LinkError> {
        let total: usize = regions.iter().map(|r| r.data.len()).sum();
        let first = regions.first().map_or(0, |r| r.addr);
        self.enter(
            Operation::Flash,
            format!("write_flash {first:#010x}+{total}"),
        )?;
        let mut done = 0;
        for r in regions {
            let range = span(FLASH_BASE, FLASH_SIZE, r.addr, r.data.len()).ok_or_else(|| {
                LinkError::failed(Operation::Flash, format!("no flash at {:#010x}", r.addr))
            })?;
            self.board().flash[range].copy_from_slice(&r.data);
            done += r.data.len() as u64;
            progress(FlashProgress {
                phase: FlashPhase::Program,
                done,
                total: Some(total as u64),
            });
        }
        Ok(())
    }

    fn rtt_read(&mut self, control_block: u32, channel: usize) -> Result<Vec<u8>, LinkError> {
        self.enter(
            Operation::Rtt,
            format!("rtt_read {control_block:#010x} {channel}"),
        )?;
        Ok(self.board().rtt.drain(..).collect())
    }
}
