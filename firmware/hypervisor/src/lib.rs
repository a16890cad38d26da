//! Cockpit hypervisor core: the board-agnostic part of the firmware that runs CockpitVM guest
//! programs. `#![no_std]`, no heap, no panics; the STM32G474 firmware (issue 5) and the harness's
//! `sim` board both run it.
//!
//! Data flow: [`loader::load`] finds and validates the image in flash → [`run::run`] executes it
//! in slices on a [`cockpit_vm::Vm`] whose HAL calls go through [`VmHost`] to a [`Board`] →
//! the board shows the effects (pins, console, time) and stores the [`telemetry`] record.
//!
//! Program delivery: [`bootloader::Bootloader`] (the Oracle protocol's device engine, fed UART
//! bytes and polled with the time) writes a new image into the inactive A/B bank through a
//! [`FlashProgrammer`] and activates it with one atomic metadata write; [`boot::select`] picks
//! the bank to run at reset.
//!
//! Documented addresses and constants (see `README.md`):
//! - [`PROGRAM_BANK_ADDR`] `0x0801_0000`, [`PROGRAM_BANK_SIZE`] 192 KiB;
//! - [`telemetry::TELEMETRY_ADDR`] `0x2000_0000` (start of SRAM1), [`fault::FAULT_ADDR`]
//!   `0x2000_0040` (the firmware's fault record), [`failsafe::BOOT_ADDR`] `0x2000_0080` (its
//!   fail-safe record);
//! - [`runctl::RUNCTL_ADDR`] `0x2000_00C0` (the run-control record: a harness's budget for the
//!   next guest run, and when that run started and ended);
//! - [`vmsnap::VM_SNAPSHOT_ADDR`] `0x2000_0100` (the VM's stack and globals when the guest stops);
//! - [`CPU_HZ`] 170 MHz, the core clock the cycle model and the `sim` board assume.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

pub mod board;
pub mod boot;
pub mod bootloader;
pub mod clocks;
pub mod failsafe;
pub mod fault;
pub mod flash;
pub mod host;
pub mod loader;
#[cfg(feature = "std")]
pub mod loopback;
pub mod pins;
pub mod record;
pub mod run;
pub mod runctl;
pub mod telemetry;
pub mod vmsnap;

pub use board::{Board, Flash, FlashError, SliceFlash, byte_range};
pub use boot::{Bank, BootChoice};
pub use bootloader::{Bootloader, Tx};
pub use flash::{FlashProgrammer, MemFlash, PAGE_SIZE, ProgramError};
pub use host::VmHost;
pub use loader::{LoadError, PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE, load, load_boot};
pub use pins::{Pin, PinMode};
pub use run::{Limits, Outcome, run};
pub use runctl::{RUNCTL_ADDR, RunControl};
pub use telemetry::{TELEMETRY_ADDR, TelemetryRecord};
pub use vmsnap::{VM_SNAPSHOT_ADDR, VmSnapshot};

/// Core clock of the STM32G474 as the hypervisor configures it: 170 MHz (8 MHz HSE, PLL
/// M=/2, N=85, R=/2). The unit of [`Board::account_cycles`].
pub const CPU_HZ: u32 = 170_000_000;
/// Flash base address (RM0440 §2.2): `0x0800_0000`.
pub const FLASH_BASE: u32 = 0x0800_0000;
/// Flash size of the STM32G474xE: 512 KiB.
pub const FLASH_SIZE: usize = 512 * 1024;
