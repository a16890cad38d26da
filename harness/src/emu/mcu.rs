//! `Mcu`: one emulated STM32G474 (Cortex-M4 core in unicorn + [`Periph`]), its memory map, the
//! MMIO/exception/semihosting hooks and the run loop.
//!
//! Time: unicorn does not count instructions cheaply, so a block hook adds an estimate of
//! `ceil(block bytes / 2)` core cycles per executed basic block (one cycle per halfword of
//! code: 16-bit instructions ≈ 1 cycle, 32-bit ≈ 2). DWT CYCCNT, SysTick, the IWDG and the
//! pin-edge timestamps all run on that clock at 170 MHz.

use std::collections::HashMap;
use std::rc::Rc;

use unicorn_engine::unicorn_const::{Arch, HookType, MemType, Mode, Prot};
use unicorn_engine::{ArmCpuModel, RegisterARM, Unicorn};

use super::mpu::{Access, Mpu};
use super::periph::{Periph, ResetCause, StopRequest, exc};
use cockpit_hypervisor::runctl::{self, RUNCTL_ADDR, RunControl};
use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE};

/// SRAM1 + SRAM2 (contiguous): `0x2000_0000`, 96 KiB.
pub const SRAM_BASE: u32 = 0x2000_0000;
/// SRAM1 + SRAM2 size.
pub const SRAM_SIZE: usize = 96 * 1024;
/// CCM SRAM: `0x1000_0000`, 32 KiB, aliased at `0x2001_8000`.
pub const CCM_BASE: u32 = 0x1000_0000;
/// CCM alias after SRAM2.
pub const CCM_ALIAS: u32 = 0x2001_8000;
/// CCM size.
pub const CCM_SIZE: usize = 32 * 1024;
/// Cycles between periodic checks (timers, pending exceptions, stop conditions).
const CHECK_EVERY: u64 = 1024;
/// Cycles between returns to the run loop to evaluate the caller's `until` predicate (1 ms of
/// board time at 170 MHz): often enough for timely stops, rare enough that leaving and
/// re-entering unicorn costs nothing measurable.
const PREDICATE_EVERY: u64 = 170_000;

/// How a call to [`Mcu::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Semihosting exit with this code.
    Exit(u32),
    /// The firmware polls an empty USART receiver.
    Idle,
    /// A non-semihosting breakpoint.
    Breakpoint(u8),
    /// The cycle limit was reached.
    Cycles,
    /// The caller's `until` predicate said stop (checked every ~170 000 cycles = 1 ms).
    Predicate,
    /// The core locked up (a fault during HardFault, or a bad vector): message.
    Lockup,
    /// A reset was requested (software or watchdog) and [`Mcu::set_stop_at_reset`] is on: the
    /// reset has not been performed.
    Reset(ResetCause),
}

/// Mutable state the hooks see: the peripherals plus core bookkeeping.
pub struct Core {
    /// The peripherals.
    pub p: Periph,
    /// Next cycle count at which the block hook does its periodic work.
    next_check: u64,
    /// Stop at this cycle count.
    cycle_limit: u64,
    /// A pending flash byte fix-up (address, bytes) after a trapped flash store.
    fixup: Option<(u32, Vec<u8>)>,
    /// The caller asked to check the predicate.
    want_predicate: bool,
    /// Next cycle count at which the run loop evaluates the predicate.
    next_predicate: u64,
    /// Exceptions taken (for tests/metrics).
    pub exceptions_taken: u64,
    /// Set when the core locked up.
    lockup: bool,
    /// Resets performed (software, watchdog).
    pub resets: Vec<ResetCause>,
    /// Return [`Stop::Reset`] instead of resetting.
    stop_at_reset: bool,
    /// `Some(privileged)` while the MPU checks accesses (enabled, and not in HardFault with
    /// HFNMIENA = 0): the privilege the unicorn permissions were computed for.
    mpu_check: Option<bool>,
    /// The MPU view the unicorn permissions currently implement.
    mpu_applied: MpuView,
    /// Unicorn permissions per [`Granule`] for each MPU view met so far.
    mpu_perms: HashMap<MpuView, Rc<[Prot]>>,
    /// The permissions currently set per granule.
    perms_applied: Rc<[Prot]>,
    /// The access the MPU refused (address, kind), for the MemManage entry.
    mpu_fault: Option<(u32, Access)>,
}

/// What the unicorn permissions depend on: the MPU registers and the privilege, or `None`
/// when the MPU does not check accesses.
type MpuView = Option<(Mpu, bool)>;

/// A range of unicorn-mapped memory that gets one permission set: a page of RAM or flash, or a
/// whole MMIO mapping (unicorn would split an MMIO mapping at a partial `mem_protect`, and the
/// split parts would see the wrong offsets in the MMIO callbacks).
#[derive(Clone, Copy)]
struct Granule {
    base: u32,
    size: u32,
    /// Permissions without the MPU (flash is never writable: stores trap to the FLASH model).
    prot: Prot,
}

/// Peripheral mappings outside the private peripheral bus (which the MPU never restricts):
/// APB1, APB2, AHB1 (RCC, FLASH, PWR, USARTs, IWDG); GPIOA–G; UID and flash size.
const MMIO_GOVERNED: [(u32, u32); 3] = [
    (0x4000_0000, 0x3_0000),
    (0x4800_0000, 0x2000),
    (0x1FFF_7000, 0x1000),
];
/// Private peripheral bus mappings: ITM, DWT, SCS (SysTick, NVIC, SCB, MPU); DBGMCU.
const MMIO_PPB: [(u32, u32); 2] = [(0xE000_0000, 0x1_0000), (0xE004_2000, 0x1000)];

/// An emulated MCU. Not `Send` (unicorn is `Rc`-based): create one per run.
pub struct Mcu<'a> {
    uc: Unicorn<'a, Core>,
    /// The memory the MPU governs, in granules (see [`Granule`]).
    granules: Vec<Granule>,
    /// CCM SRAM backing store (mapped twice); declared after `uc` so it is dropped after it.
    #[allow(dead_code)]
    ccm: Box<[u8]>,
}

fn uc_err(e: unicorn_engine::unicorn_const::uc_error) -> String {
    format!("unicorn: {e:?}")
}

impl<'a> Mcu<'a> {
    /// A powered-off MCU whose flash (both at `0x0800_0000` and at the boot alias 0) is the
    /// 512 KiB buffer `flash`.
    ///
    /// # Safety
    /// `flash` must point to `FLASH_SIZE` bytes that stay valid and are not otherwise accessed
    /// while the `Mcu` exists.
    pub unsafe fn new(flash: *mut u8) -> Result<Self, String> {
        let core = Core {
            p: Periph::new(flash),
            next_check: 0,
            cycle_limit: u64::MAX,
            fixup: None,
            want_predicate: false,
            next_predicate: 0,
            exceptions_taken: 0,
            lockup: false,
            resets: Vec::new(),
            stop_at_reset: false,
            mpu_check: None,
            mpu_applied: None,
            mpu_perms: HashMap::new(),
            perms_applied: Rc::from(Vec::new()),
            mpu_fault: None,
        };
        let mut uc =
            Unicorn::new_with_data(Arch::ARM, Mode::THUMB | Mode::MCLASS, core).map_err(uc_err)?;
        uc.ctl_set_cpu_model(ArmCpuModel::CORTEX_M4 as i32)
            .map_err(uc_err)?;
        // SAFETY: the caller guarantees `flash` (FLASH_SIZE bytes) outlives the emulator.
        unsafe {
            uc.mem_map_ptr(
                u64::from(FLASH_BASE),
                FLASH_SIZE as u64,
                Prot::READ | Prot::EXEC,
                flash.cast(),
            )
            .map_err(uc_err)?;
            uc.mem_map_ptr(0, FLASH_SIZE as u64, Prot::READ | Prot::EXEC, flash.cast())
                .map_err(uc_err)?;
        }
        uc.mem_map(u64::from(SRAM_BASE), SRAM_SIZE as u64, Prot::ALL)
            .map_err(uc_err)?;
        // CCM at 0x1000_0000 and its alias share one host buffer owned by the `Mcu` (dropped
        // after the emulator: field order).
        let mut ccm = vec![0u8; CCM_SIZE].into_boxed_slice();
        let ccm_ptr = ccm.as_mut_ptr();
        // SAFETY: the boxed slice does not move when the `Box` moves, and `Mcu::ccm` drops
        // after `Mcu::uc`.
        unsafe {
            uc.mem_map_ptr(
                u64::from(CCM_BASE),
                CCM_SIZE as u64,
                Prot::ALL,
                ccm_ptr.cast(),
            )
            .map_err(uc_err)?;
            uc.mem_map_ptr(
                u64::from(CCM_ALIAS),
                CCM_SIZE as u64,
                Prot::ALL,
                ccm_ptr.cast(),
            )
            .map_err(uc_err)?;
        }
        for (base, size) in MMIO_GOVERNED.into_iter().chain(MMIO_PPB) {
            let (base, size) = (u64::from(base), u64::from(size));
            uc.mmio_map(
                base,
                size,
                Some(move |u: &mut Unicorn<Core>, off: u64, sz: usize| -> u64 {
                    let addr = (base + off) as u32;
                    if Periph::is_gpio(addr) {
                        learn_guest_start(u);
                    }
                    let c = u.get_data_mut();
                    if let Some(wake) = c.p.tx_poll_wake(addr) {
                        skip_to(c, wake);
                    }
                    u64::from(c.p.read(addr, sz))
                }),
                Some(move |u: &mut Unicorn<Core>, off: u64, sz: usize, v: u64| {
                    let c = u.get_data_mut();
                    let addr = (base + off) as u32;
                    c.p.write(addr, sz, v as u32);
                    // Peripheral writes may pend interrupts or request a stop: check soon
                    // (except the hot, inert ones: watchdog refresh, GPIO, USART TDR).
                    if !c.p.write_is_inert(addr, v as u32) {
                        c.next_check = 0;
                    }
                }),
            )
            .map_err(uc_err)?;
        }
        // Accesses unicorn refuses: MPU violations (→ MemManage), accesses the MPU allows in a
        // granule it partly restricts, and flash stores (flash is mapped read-only; stores are
        // handed to the FLASH model).
        uc.add_mem_hook(HookType::MEM_PROT, 0, u64::from(u32::MAX), prot_hook)
            .map_err(uc_err)?;
        uc.add_block_hook(1, 0, |u: &mut Unicorn<Core>, addr: u64, size: u32| {
            let c = u.get_data_mut();
            c.p.cycles += u64::from(size).div_ceil(2);
            if c.p.cycles < c.next_check {
                return;
            }
            block_work(u, addr as u32);
        })
        .map_err(uc_err)?;
        uc.add_intr_hook(|u: &mut Unicorn<Core>, intno: u32| intr(u, intno))
            .map_err(uc_err)?;
        let page = uc.ctl_get_page_size().map_err(uc_err)?;
        let flash_size = FLASH_SIZE as u32;
        let rx = Prot::READ | Prot::EXEC;
        let mut granules = Vec::new();
        for (base, size, prot) in [
            (0, flash_size, rx),
            (FLASH_BASE, flash_size, rx),
            (SRAM_BASE, SRAM_SIZE as u32, Prot::ALL),
            (CCM_BASE, CCM_SIZE as u32, Prot::ALL),
            (CCM_ALIAS, CCM_SIZE as u32, Prot::ALL),
        ] {
            granules.extend((0..size / page).map(|i| Granule {
                base: base + i * page,
                size: page,
                prot,
            }));
        }
        granules.extend(MMIO_GOVERNED.map(|(base, size)| Granule {
            base,
            size,
            prot: Prot::READ | Prot::WRITE,
        }));
        let mut mcu = Mcu { uc, granules, ccm };
        let all: Rc<[Prot]> = mcu.granules.iter().map(|g| g.prot).collect();
        let c = mcu.uc.get_data_mut();
        c.mpu_perms.insert(None, all.clone());
        c.perms_applied = all;
        Ok(mcu)
    }

    /// The peripherals.
    pub fn periph(&self) -> &Periph {
        &self.uc.get_data().p
    }

    /// The peripherals, mutably (inject USART input, drive pins, set idle detection).
    pub fn periph_mut(&mut self) -> &mut Periph {
        &mut self.uc.get_data_mut().p
    }

    /// Makes [`Mcu::run`] return [`Stop::Reset`] at a reset request instead of rebooting the
    /// core (a caller that hands the reset to a later run).
    pub fn set_stop_at_reset(&mut self, on: bool) {
        self.uc.get_data_mut().stop_at_reset = on;
    }

    /// Core bookkeeping (exceptions taken, resets).
    pub fn core(&self) -> &Core {
        self.uc.get_data()
    }

    /// Reads guest memory (RAM, flash; not MMIO).
    pub fn mem_read(&self, addr: u32, buf: &mut [u8]) -> Result<(), String> {
        self.uc.mem_read(u64::from(addr), buf).map_err(uc_err)
    }

    /// Writes guest RAM.
    pub fn mem_write(&mut self, addr: u32, data: &[u8]) -> Result<(), String> {
        self.uc.mem_write(u64::from(addr), data).map_err(uc_err)
    }

    /// A 32-bit word from RAM/flash, or a peripheral register (without read side effects).
    pub fn read_u32(&self, addr: u32) -> Option<u32> {
        let mut b = [0u8; 4];
        if self.uc.mem_read(u64::from(addr), &mut b).is_ok() {
            return Some(u32::from_le_bytes(b));
        }
        let periph = (0x4000_0000..0x4003_0000).contains(&addr)
            || (0x4800_0000..0x4800_2000).contains(&addr)
            || addr >= 0xE000_0000;
        periph.then(|| self.periph().peek(addr))
    }

    /// A core register.
    pub fn reg(&self, r: RegisterARM) -> u32 {
        self.uc.reg_read(r).unwrap_or(0) as u32
    }

    /// Zeroes RAM (power-on) — CCM included.
    pub fn clear_ram(&mut self) -> Result<(), String> {
        self.mem_write(SRAM_BASE, &vec![0; SRAM_SIZE])?;
        self.mem_write(CCM_BASE, &vec![0; CCM_SIZE])
    }

    /// Core reset: SP and PC from the vector table at the boot alias (0 = flash), PRIMASK and
    /// CONTROL cleared, thread mode; RAM is kept.
    pub fn reset_core(&mut self) -> Result<(), String> {
        let sp = self.read_u32(FLASH_BASE).unwrap_or(0);
        let pc = self.read_u32(FLASH_BASE + 4).unwrap_or(0);
        let uc = &mut self.uc;
        for r in [
            RegisterARM::R0,
            RegisterARM::R1,
            RegisterARM::R2,
            RegisterARM::R3,
            RegisterARM::R12,
            RegisterARM::PRIMASK,
            RegisterARM::BASEPRI,
            RegisterARM::CONTROL,
            RegisterARM::IPSR,
        ] {
            uc.reg_write(r, 0).map_err(uc_err)?;
        }
        uc.reg_write(RegisterARM::LR, 0xFFFF_FFFF).map_err(uc_err)?;
        uc.reg_write(RegisterARM::MSP, u64::from(sp))
            .map_err(uc_err)?;
        uc.reg_write(RegisterARM::SP, u64::from(sp))
            .map_err(uc_err)?;
        uc.reg_write(RegisterARM::PC, u64::from(pc | 1))
            .map_err(uc_err)?;
        let c = self.uc.get_data_mut();
        c.p.active.clear();
        c.next_check = 0;
        Ok(())
    }

    /// Runs until a stop condition: semihosting exit, idle USART polling (if enabled in
    /// [`Periph::idle_polls`]), `max_cycles` more cycles, `until()` returning true (checked
    /// every ~170 000 cycles = 1 ms of board time), or a lockup. Resets (software or watchdog)
    /// reboot the core and continue, unless [`Mcu::set_stop_at_reset`] is on. Errors: only emulator failures that are not guest faults.
    pub fn run(&mut self, max_cycles: u64, mut until: impl FnMut(&Self) -> bool) -> Stop {
        let limit = self.periph().cycles.saturating_add(max_cycles);
        self.uc.get_data_mut().cycle_limit = limit;
        loop {
            if self.sync_mpu().is_err() {
                return Stop::Lockup;
            }
            let pc = self.reg(RegisterARM::PC);
            let res = self.uc.emu_start(u64::from(pc | 1), u64::MAX, 0, 0);
            apply_fixup(self.uc.get_data_mut());
            if let Err(e) = res {
                // A guest fault at the faulting instruction: an MPU violation (MemManage), or
                // an unmapped/protected access or undefined instruction (HardFault).
                let pc = self.reg(RegisterARM::PC);
                let c = self.uc.get_data_mut();
                if c.lockup {
                    return Stop::Lockup;
                }
                let taken = if let Some((addr, access)) = c.mpu_fault.take() {
                    mem_manage(&mut self.uc, addr, access, pc)
                } else {
                    use unicorn_engine::unicorn_const::uc_error as E;
                    let cfsr = match e {
                        E::READ_UNMAPPED | E::WRITE_UNMAPPED | E::READ_PROT | E::WRITE_PROT => {
                            1 << 15 | 1 << 9 // BFARVALID | PRECISERR
                        }
                        E::FETCH_UNMAPPED | E::FETCH_PROT => 1 << 8, // IBUSERR
                        _ => 1 << 16,                                // UNDEFINSTR
                    };
                    hard_fault(&mut self.uc, cfsr, pc)
                };
                if taken.is_err() {
                    return Stop::Lockup;
                }
                continue;
            }
            let c = self.uc.get_data_mut();
            if c.lockup {
                return Stop::Lockup;
            }
            match c.p.stop.take() {
                Some(StopRequest::Exit(code)) => return Stop::Exit(code),
                Some(StopRequest::Idle) => return Stop::Idle,
                Some(StopRequest::Breakpoint(n)) => return Stop::Breakpoint(n),
                Some(StopRequest::Reset(cause)) if c.stop_at_reset => return Stop::Reset(cause),
                Some(StopRequest::Reset(cause)) => {
                    // The reset moves the cycle clock's origin: learn the guest's start on the
                    // old one first.
                    learn_guest_start(&mut self.uc);
                    let c = self.uc.get_data_mut();
                    c.resets.push(cause);
                    c.p.system_reset(cause);
                    if self.reset_core().is_err() {
                        return Stop::Lockup;
                    }
                    continue;
                }
                None => {}
            }
            if c.p.cycles >= c.cycle_limit {
                return Stop::Cycles;
            }
            if std::mem::take(&mut c.want_predicate) {
                if until(self) {
                    return Stop::Predicate;
                }
                continue;
            }
            // Nothing asked for this stop: unicorn ends `emu_start` after a `wfi` (EXCP_HLT,
            // PC past the instruction).
            let pc = self.reg(RegisterARM::PC);
            let mut ins = [0u8; 2];
            if self.mem_read(pc.wrapping_sub(2) & !1, &mut ins).is_ok()
                && u16::from_le_bytes(ins) == WFI
            {
                self.sleep_until_event();
            }
        }
    }
}

/// Thumb `wfi` (16-bit encoding).
const WFI: u16 = 0xBF30;

impl Mcu<'_> {
    /// Makes the unicorn permissions implement the current MPU view (registers, privilege,
    /// HardFault exemption): `mem_protect` on the runs of granules whose permissions change,
    /// translated code dropped where execute permission goes, then a TLB flush. The permissions
    /// of each view are computed once and cached (firmware switches between a few views).
    /// Errors: unicorn refused a `mem_protect`.
    fn sync_mpu(&mut self) -> Result<(), String> {
        let view = mpu_view(&self.uc);
        let c = self.uc.get_data_mut();
        if c.mpu_applied == view {
            return Ok(());
        }
        let granules = &self.granules;
        let perms = c
            .mpu_perms
            .entry(view)
            .or_insert_with(|| granule_perms(granules, view))
            .clone();
        let old = std::mem::replace(&mut c.perms_applied, perms.clone());
        c.mpu_applied = view;
        c.mpu_check = view.map(|v| v.1);
        let mut i = 0;
        while i < perms.len() {
            if perms[i] == old[i] {
                i += 1;
                continue;
            }
            let (start, base) = (i, self.granules[i].base);
            let mut end = base;
            let mut lost_exec = false;
            while i < perms.len()
                && perms[i] != old[i]
                && perms[i] == perms[start]
                && self.granules[i].base == end
            {
                end += self.granules[i].size;
                lost_exec |= old[i].0 & !perms[i].0 & Prot::EXEC.0 != 0;
                i += 1;
            }
            let (b, e) = (u64::from(base), u64::from(end));
            self.uc
                .mem_protect(b, e - b, perms[start])
                .map_err(uc_err)?;
            if lost_exec {
                self.uc.ctl_remove_cache(b, e).map_err(uc_err)?;
            }
        }
        self.uc.ctl_flush_tlb().map_err(uc_err)
    }

    /// `wfi`: the core sleeps until an exception is pending. The wake-up sources are timed
    /// events ([`Periph::next_event`]), so the clock jumps straight to the next one instead of
    /// executing idle cycles; an exception already pending wakes it at once.
    fn sleep_until_event(&mut self) {
        let c = self.uc.get_data_mut();
        c.p.tick();
        let current = c.p.active.last().map_or(256, |a| a.1);
        if c.p.next_exception(current).is_some() {
            c.next_check = 0;
            return;
        }
        skip_to(c, u64::MAX);
    }
}

/// Advances the clock to `wake` without executing code (a sleeping or busy-polling core),
/// stopping earlier at the next timed event ([`Periph::next_event`]), the cycle limit or the
/// next predicate check, and makes the next block boundary do its periodic work.
fn skip_to(c: &mut Core, wake: u64) {
    let wake = wake
        .min(c.p.next_event())
        .min(c.cycle_limit)
        .min(c.next_predicate.max(c.p.cycles + 1));
    c.p.cycles = c.p.cycles.max(wake);
    c.next_check = 0;
}

/// The MPU view of the core now: `None` while the MPU does not check accesses (disabled, or in
/// HardFault/NMI with HFNMIENA = 0), else the registers and whether the code is privileged
/// (handler mode, or thread mode with CONTROL.nPRIV = 0).
fn mpu_view(u: &Unicorn<Core>) -> MpuView {
    let c = u.get_data();
    let mpu = c.p.mpu;
    let exempt = || {
        !mpu.applies_in_hardfault()
            && c.p
                .active
                .iter()
                .any(|a| a.0 == exc::HARDFAULT || a.0 == exc::NMI)
    };
    if !mpu.enabled() || exempt() {
        return None;
    }
    let handler = !c.p.active.is_empty();
    let privileged = handler || u.reg_read(RegisterARM::CONTROL).unwrap_or(0) & 1 == 0;
    Some((mpu, privileged))
}

/// The unicorn permissions of each granule in `view`: a permission stays only if the MPU
/// grants it for every byte of the granule (accesses to the rest of a partly restricted
/// granule reach [`prot_hook`], which checks them exactly).
fn granule_perms(granules: &[Granule], view: MpuView) -> Rc<[Prot]> {
    let check = [
        (Prot::READ, Access::Read),
        (Prot::WRITE, Access::Write),
        (Prot::EXEC, Access::Exec),
    ];
    granules
        .iter()
        .map(|g| {
            let mut p = g.prot;
            if let Some((mpu, privileged)) = view {
                for (bit, access) in check {
                    if p.0 & bit.0 != 0 && !mpu.allows_all(g.base, g.size, access, privileged) {
                        p = Prot(p.0 & !bit.0);
                    }
                }
            }
            p
        })
        .collect()
}

/// The unicorn hook for refused accesses (`Mcu::new`); true lets the access proceed. An access
/// the MPU refuses is recorded for the MemManage entry; a flash store goes to the FLASH model;
/// anything else the MPU allows proceeds unless unicorn's own map forbids it (a fetch from
/// MMIO). A store the MPU allows into a RAM page unicorn holds read-only is done here (unicorn
/// discards stores to read-only RAM even when the hook allows them).
fn prot_hook(u: &mut Unicorn<Core>, t: MemType, addr: u64, size: usize, value: i64) -> bool {
    let access = match t {
        MemType::READ_PROT => Access::Read,
        MemType::WRITE_PROT => Access::Write,
        MemType::FETCH_PROT => Access::Exec,
        _ => return false,
    };
    let a = addr as u32;
    let c = u.get_data_mut();
    if let Some(privileged) = c.mpu_check {
        let last = a.wrapping_add(size.max(1) as u32 - 1);
        if !(c.p.mpu.allows(a, access, privileged) && c.p.mpu.allows(last, access, privileged)) {
            c.mpu_fault = Some((a, access));
            return false;
        }
    }
    let flash = if a < FLASH_SIZE as u32 {
        a + FLASH_BASE
    } else {
        a
    };
    let in_flash = (FLASH_BASE..FLASH_BASE + FLASH_SIZE as u32).contains(&flash);
    match access {
        Access::Write if in_flash => {
            apply_fixup(c);
            let dw = flash & !7;
            c.p.flash_store(flash, size, value as u32);
            // The raw store still lands in the buffer after this hook: restore what the model
            // decided at the next block boundary (or the next flash store).
            c.fixup = Some((dw, c.p.flash_snapshot(dw).to_vec()));
            c.next_check = 0;
            true
        }
        Access::Exec => !in_mmio(a),
        Access::Write if !in_mmio(a) => {
            let bytes = value.to_le_bytes();
            u.mem_write(addr, &bytes[..size.min(8)]).is_ok()
        }
        _ => true,
    }
}

/// Whether `a` is in a governed MMIO mapping.
fn in_mmio(a: u32) -> bool {
    MMIO_GOVERNED.iter().any(|&(b, s)| (b..b + s).contains(&a))
}

/// Execution priority (ARMv7-M B1.5.4): the most urgent active exception, PRIMASK (−1 here,
/// so that it also masks priority 0) and BASEPRI; 256 in thread mode without masking.
fn execution_priority(u: &Unicorn<Core>) -> i32 {
    let mut current = u.get_data().p.active.last().map_or(256, |a| a.1);
    let primask = u.reg_read(RegisterARM::PRIMASK).unwrap_or(0);
    let basepri = u.reg_read(RegisterARM::BASEPRI).unwrap_or(0) as i32 & 0xF0;
    if basepri != 0 {
        current = current.min(basepri);
    }
    if primask & 1 != 0 {
        current.min(-1)
    } else {
        current
    }
}

/// HardFault entry for a fault at `pc` with these CFSR bits (HFSR.FORCED: escalated). Errors: a
/// fault while HardFault is active (lockup), or a failed exception entry.
fn hard_fault(u: &mut Unicorn<Core>, cfsr: u32, pc: u32) -> Result<(), ()> {
    let c = u.get_data_mut();
    if c.p.active.iter().any(|a| a.0 == exc::HARDFAULT) {
        return Err(());
    }
    let old = c.p.scb.get(&0x28).copied().unwrap_or(0);
    c.p.scb.insert(0x28, old | cfsr);
    c.p.scb.insert(0x2C, 1 << 30); // HFSR.FORCED
    take_exception(u, exc::HARDFAULT, pc)
}

/// An MPU violation at `pc` (ARMv7-M B3.5.1): CFSR.MMFSR IACCVIOL (fetch) or DACCVIOL +
/// MMARVALID with MMFAR = `addr` (data), then MemManage if SHCSR.MEMFAULTENA is set and its
/// priority beats the execution priority, else HardFault (escalation, HFSR.FORCED).
fn mem_manage(u: &mut Unicorn<Core>, addr: u32, access: Access, pc: u32) -> Result<(), ()> {
    const IACCVIOL: u32 = 1;
    const DACCVIOL: u32 = 1 << 1;
    const MMARVALID: u32 = 1 << 7;
    const MEMFAULTENA: u32 = 1 << 16;
    let mmfsr = if access == Access::Exec {
        IACCVIOL
    } else {
        u.get_data_mut().p.scb.insert(0x34, addr); // MMFAR
        DACCVIOL | MMARVALID
    };
    let current = execution_priority(u);
    let c = u.get_data_mut();
    let enabled = c.p.scb.get(&0x24).copied().unwrap_or(0) & MEMFAULTENA != 0;
    if !enabled || c.p.priority(exc::MEMMANAGE) >= current {
        return hard_fault(u, mmfsr, pc);
    }
    let old = c.p.scb.get(&0x28).copied().unwrap_or(0);
    c.p.scb.insert(0x28, old | mmfsr);
    take_exception(u, exc::MEMMANAGE, pc)
}

/// The input schedule's origin ([`Periph::set_guest_start`]): once the firmware has written a
/// taken run-control record (`cockpit_hypervisor::runctl`, before the guest's first
/// instruction), the guest started at its `START_CYCLES` on the cycle clock of this boot
/// (DWT CYCCNT from [`Periph::cyccnt_origin`]). Nothing is learned before that, nor when the
/// schedule does not need it.
fn learn_guest_start(u: &mut Unicorn<Core>) {
    if !u.get_data().p.needs_guest_start() {
        return;
    }
    let mut b = [0u8; runctl::SIZE];
    if u.mem_read(u64::from(RUNCTL_ADDR), &mut b).is_err() {
        return;
    }
    if let Some(r) = RunControl::decode_bytes(&b).ok().filter(|r| r.is_taken()) {
        let p = &mut u.get_data_mut().p;
        let start = p.cyccnt_origin() + r.start_cycles;
        p.set_guest_start(start);
    }
}

fn apply_fixup(c: &mut Core) {
    if let Some((addr, bytes)) = c.fixup.take() {
        c.p.flash_restore(addr, &bytes);
    }
}

/// Periodic work at a block boundary (`pc` = the block about to run): flash fix-ups, timers,
/// stop requests, exception entry.
fn block_work(u: &mut Unicorn<Core>, pc: u32) {
    let c = u.get_data_mut();
    apply_fixup(c);
    c.next_check = c.p.cycles + CHECK_EVERY;
    c.p.tick();
    if c.p.systick.csr & 1 != 0 {
        c.next_check = c.next_check.min(c.p.systick.next_wrap);
    }
    c.next_check = c.next_check.min(c.p.next_event());
    if c.p.cycles >= c.next_predicate {
        c.next_predicate = c.p.cycles + PREDICATE_EVERY;
        c.want_predicate = true;
    }
    if c.want_predicate || c.p.stop.is_some() || c.p.cycles >= c.cycle_limit {
        let _ = u.emu_stop();
        return;
    }
    // MPU registers or privilege changed (an MPU register write, an exception entry or return
    // just before this block: they all make this the next block to check): stop before the
    // block runs, and the run loop updates the permissions.
    if mpu_view(u) != u.get_data().mpu_applied {
        let _ = u.emu_stop();
        return;
    }
    let current = execution_priority(u);
    let c = u.get_data_mut();
    if let Some(e) = c.p.next_exception(current)
        && take_exception(u, e, pc).is_err()
    {
        u.get_data_mut().lockup = true;
        let _ = u.emu_stop();
    }
}

fn rd32(u: &Unicorn<Core>, addr: u32) -> Result<u32, ()> {
    let mut b = [0u8; 4];
    u.mem_read(u64::from(addr), &mut b).map_err(|_| ())?;
    Ok(u32::from_le_bytes(b))
}

/// xPSR.IT (ICI/IT bits 26:25 and 15:10).
const XPSR_IT: u32 = 0x0600_FC00;

/// Exception entry (ARMv7-M B1.5.6): stacks the 8-word basic frame on the current stack
/// (8-byte aligned, xPSR bit 9 records the adjustment), sets LR to EXC_RETURN, IPSR to `e`
/// and PC to the vector. `ret` is the address execution resumes at.
fn take_exception(u: &mut Unicorn<Core>, e: u32, ret: u32) -> Result<(), ()> {
    let r = |u: &Unicorn<Core>, reg| u.reg_read(reg).map(|v| v as u32).map_err(|_| ());
    let sp = r(u, RegisterARM::SP)?;
    let mut xpsr = r(u, RegisterARM::XPSR)? | 1 << 24;
    let frame_sp = (sp - 0x20) & !7;
    if (sp - 0x20) & 4 != 0 {
        xpsr |= 1 << 9;
    }
    let words = [
        r(u, RegisterARM::R0)?,
        r(u, RegisterARM::R1)?,
        r(u, RegisterARM::R2)?,
        r(u, RegisterARM::R3)?,
        r(u, RegisterARM::R12)?,
        r(u, RegisterARM::LR)?,
        ret & !1,
        xpsr,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    u.mem_write(u64::from(frame_sp), &bytes).map_err(|_| ())?;
    let in_handler = !u.get_data().p.active.is_empty();
    let control = r(u, RegisterARM::CONTROL)?;
    let exc_return = if in_handler {
        0xFFFF_FFF1u32
    } else if control & 2 != 0 {
        0xFFFF_FFFD
    } else {
        0xFFFF_FFF9
    };
    let vtor = u.get_data().p.scb.get(&0x08).copied().unwrap_or(0);
    let vector = rd32(u, vtor + 4 * e)?;
    if vector == 0 || vector == 0xFFFF_FFFF {
        return Err(());
    }
    u.reg_write(RegisterARM::SP, u64::from(frame_sp))
        .map_err(|_| ())?;
    u.reg_write(RegisterARM::LR, u64::from(exc_return))
        .map_err(|_| ())?;
    // Entry clears EPSR.IT (the frame keeps it): a handler entered inside an IT block must not
    // run its first instructions conditionally.
    u.reg_write(RegisterARM::XPSR, u64::from(xpsr & !XPSR_IT & !(1 << 9)))
        .map_err(|_| ())?;
    u.reg_write(RegisterARM::IPSR, u64::from(e))
        .map_err(|_| ())?;
    u.reg_write(RegisterARM::PC, u64::from(vector | 1))
        .map_err(|_| ())?;
    let c = u.get_data_mut();
    let prio = c.p.priority(e);
    c.p.clear_pending(e);
    c.p.active.push((e, prio));
    c.exceptions_taken += 1;
    c.next_check = 0;
    Ok(())
}

/// Exception return (a `bx`/`pop` of EXC_RETURN in handler mode): unstacks the frame.
fn exception_return(u: &mut Unicorn<Core>) -> Result<(), ()> {
    let sp = u.reg_read(RegisterARM::SP).map_err(|_| ())? as u32;
    let mut b = [0u8; 32];
    u.mem_read(u64::from(sp), &mut b).map_err(|_| ())?;
    let w = |i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
    let xpsr = w(7);
    let new_sp = sp + 0x20 + if xpsr & 1 << 9 != 0 { 4 } else { 0 };
    for (i, reg) in [
        RegisterARM::R0,
        RegisterARM::R1,
        RegisterARM::R2,
        RegisterARM::R3,
        RegisterARM::R12,
        RegisterARM::LR,
    ]
    .into_iter()
    .enumerate()
    {
        u.reg_write(reg, u64::from(w(i))).map_err(|_| ())?;
    }
    u.reg_write(RegisterARM::SP, u64::from(new_sp))
        .map_err(|_| ())?;
    u.reg_write(RegisterARM::XPSR, u64::from(xpsr & !(1 << 9)))
        .map_err(|_| ())?;
    u.reg_write(RegisterARM::PC, u64::from(w(6) | 1))
        .map_err(|_| ())?;
    let c = u.get_data_mut();
    c.p.active.pop();
    c.next_check = 0;
    Ok(())
}

/// Interrupt hook: `bkpt` (intno 7; semihosting for `bkpt 0xab`), exception return (intno 8).
fn intr(u: &mut Unicorn<Core>, intno: u32) {
    let pc = u.reg_read(RegisterARM::PC).unwrap_or(0) as u32;
    match intno {
        7 => {
            let mut ins = [0u8; 2];
            let _ = u.mem_read(u64::from(pc), &mut ins);
            if ins[1] == 0xBE && ins[0] == 0xAB {
                semihosting(u);
                let _ = u.reg_write(RegisterARM::PC, u64::from((pc + 2) | 1));
            } else {
                u.get_data_mut().p.stop = Some(StopRequest::Breakpoint(ins[0]));
                let _ = u.emu_stop();
            }
        }
        8 => {
            if exception_return(u).is_err() {
                u.get_data_mut().lockup = true;
                let _ = u.emu_stop();
            }
        }
        _ => {
            // Other CPU exceptions (UDF, SVC, …): HardFault (UNDEFINSTR) for anything but SVC,
            // which is taken as SVCall (11); for SVC the PC already points past the instruction.
            let taken = if intno == 2 {
                take_exception(u, 11, pc)
            } else {
                hard_fault(u, 1 << 16, pc)
            };
            if taken.is_err() {
                u.get_data_mut().lockup = true;
                let _ = u.emu_stop();
            }
        }
    }
}

/// ARM semihosting (operation in r0, parameter block in r1; result in r0).
fn semihosting(u: &mut Unicorn<Core>) {
    let op = u.reg_read(RegisterARM::R0).unwrap_or(0) as u32;
    let arg = u.reg_read(RegisterARM::R1).unwrap_or(0) as u32;
    let mut result = 0u32;
    match op {
        // SYS_WRITEC
        0x03 => {
            let mut b = [0u8];
            if u.mem_read(u64::from(arg), &mut b).is_ok() {
                u.get_data_mut().p.semihosting.push(b[0]);
            }
        }
        // SYS_WRITE0
        0x04 => {
            let mut a = arg;
            let mut out = Vec::new();
            let mut b = [0u8];
            while u.mem_read(u64::from(a), &mut b).is_ok() && b[0] != 0 && out.len() < 65536 {
                out.push(b[0]);
                a += 1;
            }
            u.get_data_mut().p.semihosting.extend(out);
        }
        // SYS_WRITE: [handle, buf, len] → bytes not written (0).
        0x05 => {
            let (buf, len) = (rd32(u, arg + 4).unwrap_or(0), rd32(u, arg + 8).unwrap_or(0));
            if let Ok(v) = u.mem_read_as_vec(u64::from(buf), len as usize) {
                u.get_data_mut().p.semihosting.extend(v);
            } else {
                result = len;
            }
        }
        // SYS_CLOCK: centiseconds.
        0x10 => result = (u.get_data().p.now_ns() / 10_000_000) as u32,
        // SYS_EXIT: reason in r1 (0x20026 = ApplicationExit); SYS_EXIT_EXTENDED: [reason, code].
        0x18 => {
            u.get_data_mut().p.stop = Some(StopRequest::Exit(arg));
            let _ = u.emu_stop();
        }
        0x20 => {
            let code = rd32(u, arg + 4).unwrap_or(0);
            u.get_data_mut().p.stop = Some(StopRequest::Exit(code));
            let _ = u.emu_stop();
        }
        _ => result = u32::MAX,
    }
    let _ = u.reg_write(RegisterARM::R0, u64::from(result));
}
