//! The `emu` board: a virtual STM32G474 on [unicorn-engine] that runs the firmware ELF
//! unmodified (the same image that is flashed onto a real board).
//!
//! # Enabling
//! unicorn is GPL-2.0, so the board is behind the optional `emu` cargo feature (off by
//! default). Building it needs `cmake` and `libclang-dev` (`apt-get install -y
//! --no-install-recommends cmake libclang-dev`); the first build compiles unicorn's ARM
//! backend only (about 1–2 min on 2 cores). Then:
//! `cargo test -p cockpit-harness --features emu`, `cargo bench -p cockpit-harness --features
//! emu --bench emu`, `cargo run -p cockpit-harness --features emu -- run --board emu …`. The
//! firmware ELF is taken from `COCKPIT_FIRMWARE_ELF`, else
//! `firmware/stm32g474/target/thumbv7em-none-eabihf/release/cockpit-firmware`.
//!
//! # The board it models
//! The WeAct Studio STM32G474 core board, the firmware's default profile `board-weact`
//! (`firmware/stm32g474/README.md`, "Board profiles"): the RCC does not model crystals (HSE
//! ready bits follow the enables, every peripheral clock is 170 MHz), the console is USART1 and
//! the user key on PC13 is pressed low ([`USER_KEY_PRESSED_HIGH`]). The NUCLEO-G474RE profile's
//! ELF runs too: LPUART1 is modelled, and becomes the console once the firmware enables it
//! ([`Periph::console_index`]); its 24 MHz HSE is not (no crystal is), so its PLL settings are
//! checked only by the `const` asserts and host tests of `cockpit_hypervisor::clocks`.
//!
//! # Modules
//! [`periph`] (peripheral models as plain Rust state), [`mpu`] (the MPU registers and access
//! check), [`mcu`] (`Mcu`: the unicorn core, memory map, MMIO/exception/semihosting hooks, MPU
//! enforcement, run loop), [`serial`] (USART1 as a pseudo-terminal in bootloader mode),
//! [`target`] (`EmuTarget`: the harness's `Target`).
//!
//! # What is modelled
//! - Memory map (RM0440 §2.2): flash 512 KiB at `0x0800_0000` and its boot alias at 0 (one
//!   buffer); SRAM1 + SRAM2 96 KiB at `0x2000_0000`; CCM 32 KiB at `0x1000_0000` and its alias
//!   `0x2001_8000` (one buffer); UID (`0x1FFF_7590`), flash size, DBGMCU IDCODE (0x469).
//! - Cortex-M4 core (unicorn's `CORTEX_M4` model, Thumb-2, `msr`/`mrs`, `cpsid`/`cpsie`).
//! - Exceptions (unicorn has no NVIC): SysTick, PendSV, USART1/2/3 and LPUART1 IRQs and any NVIC IRQ set
//!   pending by software (ISPR, STIR), with ISER/ICER/ISPR/ICPR/IABR/IPR, SHPR priorities
//!   (4 bits), PRIMASK/BASEPRI masking and nesting; entry stacks the 8-word basic frame
//!   (8-byte aligned, xPSR bit 9), clears EPSR.IT (the frame keeps it), sets EXC_RETURN and
//!   IPSR; return on EXC_RETURN in handler mode unstacks it. Entry is checked at basic-block boundaries, at least every 1024 cycles
//!   and right after peripheral writes. Guest faults (unmapped/protected access, undefined
//!   instruction) enter HardFault with CFSR (PRECISERR/IBUSERR/UNDEFINSTR) and HFSR.FORCED; a
//!   fault inside HardFault is a lockup (the run ends). SVC enters SVCall.
//! - MPU (PMSAv7, 8 regions; [`mpu`]): MPU_TYPE/CTRL/RNR/RBAR/RASR and the aliases; region
//!   size, base, SRD, AP, XN, region priority, PRIVDEFENA, HFNMIENA (HardFault/NMI exempt),
//!   privileged (handler mode or CONTROL.nPRIV = 0) vs unprivileged. Enforced by unicorn
//!   itself: when the MPU view (registers, privilege) changes, the run loop sets unicorn page
//!   permissions (`mem_protect`; pages of flash, SRAM, CCM and their aliases; whole MMIO
//!   mappings outside the PPB) to what the MPU grants for the whole page, so code runs at full
//!   speed; refused accesses reach a hook that checks the exact address (32-byte granularity:
//!   allowed → the access proceeds, slowly; refused → fault). A violation sets CFSR.MMFSR
//!   (DACCVIOL + MMARVALID with MMFAR, or IACCVIOL) and enters MemManage when
//!   SHCSR.MEMFAULTENA is set and its priority allows, else HardFault (HFSR.FORCED). The
//!   permissions of each view are computed once per `Mcu` (firmware toggling between two
//!   configurations costs a few `mem_protect` calls per switch). The MPU view is re-read
//!   before the first basic block after an MPU register write (the `dsb; isb` firmware must
//!   issue anyway ends the block), an exception entry or return, and at the periodic check.
//! - RCC (reset values from [`crate::regmap::rcc`]; HSIRDY/HSERDY/PLLRDY/HSI48RDY/LSERDY/
//!   LSIRDY follow their enables, CFGR.SWS follows SW, CSR reset flags + RMVF), PWR (register
//!   file, SR2 always ready), FLASH (ACR; KEYR unlock sequence, wrong key locks until reset; CR
//!   LOCK; page erase PER+BKER+PNB+STRT, mass erase; double-word programming with PG into
//!   erased double words only — PROGERR/PGAERR/SIZERR/PGSERR/WRPERR in SR; EOP with EOPIE;
//!   OPTR with DBANK = 1), GPIO A–G (the `sim` board's `GpioPort` model; output edges of the
//!   17 logical pins logged with board time; inputs driven by `drive_input` on a schedule:
//!   every GPIO read applies the level of its cycle, timed from the guest's start, which the
//!   MCU learns from the firmware's run-control record at the first GPIO read after the
//!   firmware wrote `START_CYCLES` (or at a reset) — no timed event is needed, since nothing
//!   reacts to an input by itself (no EXTI), so a `wfi` or TX-wait fast-forward cannot skip
//!   past a change: the next read sees it), USART1/2/3 and
//!   LPUART1 (BRR / 256 cycles per bit) (TDR → transcript, console = USART1, or LPUART1 once
//!   enabled; TX paced at the line rate — TDR + shift register, frame
//!   time from BRR, word length, stop bits, OVER8 and PRESC at a 170 MHz kernel clock, TXE/TC
//!   timed, TCCF; a repeated ISR read with no other peripheral access in between (a polling
//!   loop) while the transmitter is busy fast-forwards board time to the next TXE/TC, or to the
//!   end of the next received byte if earlier, bounded by the next timed event (SysTick,
//!   IWDG, TX interrupts, the cycle cap): deterministic, and waiting for the line costs no
//!   emulated polling; RX from a line model: each byte reaches RDR/RXNE one frame time after
//!   the previous one, ORE when the firmware has not read RDR in time (CR3.OVRDIS: overwrite),
//!   ICR.ORECF; TEACK/REACK follow TE/RE; RXNEIE/TXEIE/TCIE interrupts; in bootloader mode
//!   USART1 is a pseudo-terminal (`/dev/pts/N`) served by the firmware's own Oracle
//!   bootloader, board time paced to wall time, see [`serial`]), SysTick (CSR/RVR/CVR/CALIB,
//!   COUNTFLAG, core or HCLK/8 clock), DWT (CTRL, CYCCNT), IWDG (KR start/refresh/unlock, PR,
//!   RLR at 32 kHz LSI; expiry resets the MCU with RCC_CSR.IWDGRSTF, RAM kept), AIRCR
//!   SYSRESETREQ (software reset), ITM port 0, semihosting (`bkpt 0xab`: SYS_WRITEC,
//!   SYS_WRITE0, SYS_WRITE, SYS_CLOCK, SYS_EXIT, SYS_EXIT_EXTENDED).
//! - Time: core cycles estimated as one cycle per halfword of executed code, counted per basic
//!   block (so timestamps inside one block are equal), at 170 MHz.
//! - The harness's budget: before releasing the core after power-on, [`EmuTarget`] writes the
//!   run's instruction and board-time budget into the run-control record
//!   (`cockpit_hypervisor::runctl`, `0x2000_00C0`); the firmware ends the guest with
//!   `BUDGET_EXCEEDED` exactly there and publishes its end state, and reports in the record
//!   when the guest started and ended: `virtual_time` and pin-edge times count from the
//!   guest's start, as on `sim`. The emulator's own cycle cap is a safety net
//!   [`crate::records::BOOT_MARGIN`] beyond the budget. The run ends when the record says the
//!   guest run ended and the firmware's closing `guest: …` line has left USART1.
//! - What a probe reads after a run, from the RAM the run left: the telemetry, VM snapshot and
//!   run-control records; the firmware's defmt log (RTT up-channel 0 at `_SEGGER_RTT`, decoded
//!   with [`crate::rtt`] against the ELF: [`crate::target::Target::log`]); the firmware's stack
//!   high-water mark ([`crate::stack_peak`]: the stack between `_stack_end` and `_stack_start`
//!   is painted at power-on and scanned after the run; metric
//!   [`crate::target::STACK_PEAK_METRIC`]).
//! - Speed (`cargo bench -p cockpit-harness --features emu --bench emu`, release, measured on a
//!   quiet 2-core machine on 2026-11-22, with MPU guest isolation): 887 M Thumb instructions/s on
//!   a tight loop (≥ 100 M is the target; about 5× a real 170 MHz Cortex-M4); boot to the end of
//!   `guest: running` = 13.2 ms of board time (2,246,855 cycles, deterministic) in 6.1 ms of
//!   wall time; the whole `blinky` plan (4 s of board time) 44.5 ms wall on `emu` against
//!   5.5 µs on `sim`; one guest↔firmware MPU switch round trip 22 µs (`mpu_switch_10k`).
//!
//! # Not modelled (yet)
//! MPU: exception stacking/unstacking and vector reads are not checked (no MSTKERR/MUNSTKERR);
//! a thread-mode `msr CONTROL` that drops privilege takes effect for the MPU at the next
//! exception entry/return, MPU write or periodic check (≤ 1024 cycles), not at the next
//! instruction; unprivileged accesses to the PPB are not refused; the memory attributes
//! (TEX/S/C/B) and the default map's XN for device/peripheral space have no effect.
//! The FPU lazy-stacking extended frame (exception entry always pushes the basic frame, so an
//! interrupted FP context is not saved); PSP/MSP banking on exception entry (handlers run on the
//! current stack; cortex-m-rt firmware uses MSP only); exact cycle timing and wait states; a
//! live RTT reader (the log is read once, after the run, so only its first KiB — the buffer —
//! is kept); USART framing/noise/parity errors, FIFO mode, bytes lost in the shift register at
//! a reset (the transcript keeps every byte written to TDR); DMA, timers, ADC, EXTI, RTC, option-byte
//! programming, read-out/write protection, ECC; unmodelled peripheral addresses read 0 and are
//! recorded in `Periph::unmodelled`.
//!
//! [unicorn-engine]: https://www.unicorn-engine.org/

pub mod mcu;
pub mod mpu;
pub mod periph;
pub mod serial;
pub mod target;

pub use mcu::{Mcu, Stop};
pub use periph::Periph;
pub use target::{EmuTarget, Firmware};

/// The level of PC13 while the user key is pressed: low (the WeAct core board's key pulls it to
/// ground; the firmware's `board-weact` profile enables the pull-up).
pub const USER_KEY_PRESSED_HIGH: bool = false;
