//! The `sim` board: a modelled STM32G474 on the host, running the hypervisor core
//! (`cockpit-hypervisor`) in virtual time.
//!
//! One concept per module: [`clock`] (170 MHz virtual cycle counter), [`gpio`] (ports A–G),
//! [`rcc`] (clock tree, FLASH_ACR), [`usart`] (console UART), [`memory`] (memory map, flash,
//! SRAM), [`board`] (`SimBoard`: the hypervisor's `Board`), [`serial`] (USART1 as a
//! pseudo-terminal served by the Oracle bootloader, at a simulated line rate), [`target`]
//! (`SimTarget`: the harness's `Target`).
//!
//! What is modelled: register files at RM0440 addresses with RM0440 reset values, the boot state
//! the hypervisor firmware sets up (170 MHz PLL from the 8 MHz HSE, USART1 at 115200 baud on
//! PA9/PA10), GPIO register semantics (MODER/PUPDR/BSRR/ODR/IDR), blocking UART timing, virtual
//! time advanced by the VM's cycle model, delays and UART bytes. Not modelled: interrupts,
//! timers/PWM waveforms, the ADC (analog inputs are injected values), register locking, clock
//! gating of register access.

pub mod board;
pub mod clock;
pub mod gpio;
pub mod memory;
pub mod rcc;
pub mod serial;
pub mod target;
pub mod usart;

pub use board::SimBoard;
pub use memory::SimFlash;
pub use serial::{SerialLink, SimBench};
pub use target::SimTarget;

#[cfg(test)]
mod tests;
