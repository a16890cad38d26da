//! [`ProbeRsLink`]: the [`DebugLink`] on probe-rs 0.32 (`Session` + `Core` 0, the flash loader,
//! `rtt::Rtt`). Only compiled here, never run: there is no probe on CI (see `harness/BENCH.md`
//! for the checks on a real board).

use std::time::Duration;

use probe_rs::flashing::{
    DownloadOptions, FlashProgress as PrsProgress, ProgressEvent, ProgressOperation,
};
use probe_rs::probe::DebugProbeSelector;
use probe_rs::probe::list::Lister;
use probe_rs::rtt::Rtt;
use probe_rs::{Core, MemoryInterface, Permissions, RegisterId, Session};

use super::link::{DebugLink, FlashPhase, FlashProgress, FlashRegion, LinkError, Operation};
use super::select::ProbeListing;
use crate::corereg::CoreRegister;

/// How long `halt`/`reset_and_halt` wait for the core to report halted (probe-rs's own
/// timeout, inside the [`super::Timeouts::control`] bound).
const HALT_WAIT: Duration = Duration::from_millis(500);

/// A probe-rs session attached to one chip.
pub struct ProbeRsLink {
    session: Session,
    /// The RTT control block attached to, and its address.
    rtt: Option<(u32, Rtt)>,
}

fn failed(op: Operation) -> impl Fn(probe_rs::Error) -> LinkError {
    move |e| LinkError::failed(op, e)
}

impl ProbeRsLink {
    /// Opens the probe `probe` names and attaches to `chip` (probe-rs target name), holding
    /// reset during the attach when `under_reset`, at `speed_khz` when given. Errors:
    /// [`LinkError::Failed`] of [`Operation::Attach`] with probe-rs's message.
    pub fn open(
        probe: &ProbeListing,
        chip: &str,
        under_reset: bool,
        speed_khz: Option<u32>,
    ) -> Result<Self, LinkError> {
        let attach = |e: &dyn std::fmt::Display| LinkError::failed(Operation::Attach, e);
        let selector = DebugProbeSelector {
            vendor_id: probe.vid,
            product_id: probe.pid,
            interface: None,
            serial_number: probe.serial.clone(),
        };
        let mut p = Lister::new().open(selector).map_err(|e| attach(&e))?;
        if let Some(khz) = speed_khz {
            p.set_speed(khz).map_err(|e| attach(&e))?;
        }
        let session = if under_reset {
            p.attach_under_reset(chip, Permissions::default())
        } else {
            p.attach(chip, Permissions::default())
        }
        .map_err(|e| attach(&e))?;
        Ok(ProbeRsLink { session, rtt: None })
    }

    fn core(&mut self, op: Operation) -> Result<Core<'_>, LinkError> {
        self.session.core(0).map_err(failed(op))
    }
}

fn phase(op: ProgressOperation) -> Option<FlashPhase> {
    match op {
        ProgressOperation::Erase => Some(FlashPhase::Erase),
        ProgressOperation::Program => Some(FlashPhase::Program),
        ProgressOperation::Verify => Some(FlashPhase::Verify),
        _ => None,
    }
}

impl DebugLink for ProbeRsLink {
    fn reset_and_halt(&mut self) -> Result<(), LinkError> {
        self.core(Operation::Control)?
            .reset_and_halt(HALT_WAIT)
            .map(drop)
            .map_err(failed(Operation::Control))
    }

    fn resume(&mut self) -> Result<(), LinkError> {
        self.core(Operation::Control)?
            .run()
            .map_err(failed(Operation::Control))
    }

    fn halt(&mut self) -> Result<(), LinkError> {
        let mut core = self.core(Operation::Control)?;
        if core.core_halted().map_err(failed(Operation::Control))? {
            return Ok(());
        }
        core.halt(HALT_WAIT)
            .map(drop)
            .map_err(failed(Operation::Control))
    }

    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        let mut buf = vec![0u8; len];
        self.core(Operation::Access)?
            .read(u64::from(addr), &mut buf)
            .map_err(failed(Operation::Access))?;
        Ok(buf)
    }

    fn write_memory(&mut self, addr: u32, data: &[u8]) -> Result<(), LinkError> {
        self.core(Operation::Access)?
            .write(u64::from(addr), data)
            .map_err(failed(Operation::Access))
    }

    fn read_u32(&mut self, addr: u32) -> Result<u32, LinkError> {
        self.core(Operation::Access)?
            .read_word_32(u64::from(addr))
            .map_err(failed(Operation::Access))
    }

    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, LinkError> {
        self.core(Operation::Access)?
            .read_core_reg::<u32>(RegisterId(reg.regsel()))
            .map_err(failed(Operation::Access))
    }

    fn write_flash(
        &mut self,
        regions: &[FlashRegion],
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<(), LinkError> {
        let flash = |e: &dyn std::fmt::Display| LinkError::failed(Operation::Flash, e);
        let mut loader = self.session.target().flash_loader();
        for r in regions {
            loader
                .add_data(u64::from(r.addr), &r.data)
                .map_err(|e| flash(&e))?;
        }
        let mut totals = [None::<u64>; 3];
        let mut done = [0u64; 3];
        let mut options = DownloadOptions::default();
        options.progress = PrsProgress::new(|event| {
            let (op, size, total) = match event {
                ProgressEvent::AddProgressBar { operation, total } => (operation, 0, total),
                ProgressEvent::Progress {
                    operation, size, ..
                } => (operation, size, None),
                _ => return,
            };
            let Some(phase) = phase(op) else { return };
            let i = phase as usize;
            totals[i] = total.or(totals[i]);
            done[i] += size;
            progress(FlashProgress {
                phase,
                done: done[i],
                total: totals[i],
            });
        });
        loader
            .commit(&mut self.session, options)
            .map_err(|e| flash(&e))?;
        // The chip was reset by the flash algorithm; a cached RTT block may be stale.
        self.rtt = None;
        Ok(())
    }

    fn rtt_read(&mut self, control_block: u32, channel: usize) -> Result<Vec<u8>, LinkError> {
        let rtt_err = |e: &dyn std::fmt::Display| LinkError::failed(Operation::Rtt, e);
        let mut core = self.session.core(0).map_err(|e| rtt_err(&e))?;
        if self.rtt.as_ref().is_none_or(|(a, _)| *a != control_block) {
            match Rtt::attach_at(&mut core, u64::from(control_block)) {
                Ok(rtt) => self.rtt = Some((control_block, rtt)),
                // Not initialised yet by the firmware (just after reset): nothing to read.
                Err(probe_rs::rtt::Error::ControlBlockNotFound) => return Ok(Vec::new()),
                Err(e) => return Err(rtt_err(&e)),
            }
        }
        let Some((_, rtt)) = self.rtt.as_mut() else {
            return Ok(Vec::new());
        };
        let Some(up) = rtt.up_channel(channel) else {
            return Err(rtt_err(&format!("no up-channel {channel}")));
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = up.read(&mut core, &mut buf).map_err(|e| rtt_err(&e))?;
            out.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cockpit_hypervisor::boot::META_PAGES;
    use cockpit_hypervisor::{FLASH_BASE, PROGRAM_BANK_ADDR};
    use probe_rs::flashing::FlashLayout;
    use probe_rs::probe::fake_probe::FakeProbe;

    use super::*;
    use crate::probe::DEFAULT_CHIP;

    /// probe-rs's `FakeProbe` (a mocked core with no memory behind it: reads return 0, writes
    /// vanish) checks what it can without hardware: the chip name attaches with the real STM32G4
    /// debug sequence, word and core-register reads go through, and the flash loader places
    /// our regions in the chip's flash map with 2 KiB sectors at bank A and the boot metadata
    /// pages, so a metadata page write erases only that page.
    #[test]
    fn fake_probe_attaches_the_chip_and_maps_our_flash_regions() {
        let probe = FakeProbe::with_mocked_core().into_probe();
        let session = probe
            .attach(DEFAULT_CHIP, Permissions::default())
            .expect("attach STM32G474RETx");
        let mut link = ProbeRsLink { session, rtt: None };
        assert_eq!(link.read_u32(0x2000_0000), Ok(0));
        link.halt().expect("halt");
        assert_eq!(link.read_core_register(CoreRegister::Msp), Ok(0));
        let mut loader = link.session.target().flash_loader();
        for addr in [FLASH_BASE, PROGRAM_BANK_ADDR, META_PAGES[0], META_PAGES[1]] {
            loader
                .add_data(u64::from(addr), &[0x5A; 2048])
                .unwrap_or_else(|e| panic!("{addr:#x}: {e}"));
        }
        assert!(
            loader.add_data(0x3000_0000, &[0; 4]).is_err(),
            "no memory there"
        );
        let mut layouts: Vec<FlashLayout> = Vec::new();
        // The fake has no RAM for the flash algorithm, so the commit fails after planning the
        // layout (FlashLayoutReady), which is what this test reads.
        let mut options = DownloadOptions::default();
        options.progress = PrsProgress::new(|e| {
            if let ProgressEvent::FlashLayoutReady { flash_layout } = e {
                layouts.extend(flash_layout);
            }
        });
        assert!(loader.commit(&mut link.session, options).is_err());
        let sectors: Vec<(u64, u64)> = layouts
            .iter()
            .flat_map(|l| l.sectors().iter().map(|s| (s.address(), s.size())))
            .collect();
        for page in META_PAGES {
            assert!(sectors.contains(&(u64::from(page), 2048)), "{sectors:x?}");
        }
        assert!(sectors.contains(&(u64::from(PROGRAM_BANK_ADDR), 2048)));
    }
}
