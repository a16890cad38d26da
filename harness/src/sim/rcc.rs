//! RCC (reset and clock control, RM0440 §7.4) and the flash access control register
//! (FLASH_ACR, RM0440 §3.7.1), which together hold the clock configuration.

use crate::regmap::rcc;

/// RCC_CR bits.
pub mod cr {
    /// HSI16 clock enable.
    pub const HSION: u32 = 1 << 8;
    /// HSI16 ready.
    pub const HSIRDY: u32 = 1 << 10;
    /// HSE clock enable.
    pub const HSEON: u32 = 1 << 16;
    /// HSE ready.
    pub const HSERDY: u32 = 1 << 17;
    /// Main PLL enable.
    pub const PLLON: u32 = 1 << 24;
    /// Main PLL locked.
    pub const PLLRDY: u32 = 1 << 25;
}

/// RCC_AHB2ENR GPIOxEN bit for port `index` (0 = A … 6 = G).
pub const fn gpio_en(index: usize) -> u32 {
    1 << index
}
/// RCC_APB2ENR.USART1EN (bit 14).
pub const USART1EN: u32 = 1 << 14;

/// Boot value of RCC_PLLCFGR: PLLSRC = HSE (0b11), PLLM = /2 (field 1), PLLN = 85, PLLR = /2
/// (field 0), PLLREN = 1 → 8 MHz / 2 × 85 / 2 = 170 MHz.
pub const PLLCFGR_170MHZ: u32 = 0b11 | 1 << 4 | 85 << 8 | 1 << 24;
/// Boot value of RCC_CFGR: SW = PLL (0b11), SWS = PLL (0b11), AHB/APB1/APB2 not divided.
pub const CFGR_PLL: u32 = 0b11 | 0b11 << 2;
/// FLASH_ACR.PRFTEN (bit 8): prefetch enable.
pub const ACR_PRFTEN: u32 = 1 << 8;
/// FLASH_ACR.ICEN (bit 9): instruction cache enable.
pub const ACR_ICEN: u32 = 1 << 9;
/// FLASH_ACR.DCEN (bit 10): data cache enable.
pub const ACR_DCEN: u32 = 1 << 10;
/// FLASH_ACR.DBG_SWEN (bit 18): debugger access enable; 1 at reset, software may clear it to
/// lock the debugger out.
pub const ACR_DBG_SWEN: u32 = 1 << 18;
/// FLASH_ACR reset value (RM0440 §3.7.1): `0x0004_0600` = DBG_SWEN | DCEN | ICEN, LATENCY 0.
pub const FLASH_ACR_RESET: u32 = ACR_DBG_SWEN | ACR_DCEN | ACR_ICEN;
/// FLASH_ACR as the firmware sets it for 170 MHz in range-1 boost mode (RM0440 §3.3.3:
/// 4 wait states): the reset value (DBG_SWEN, DCEN, ICEN kept) with LATENCY = 4 and PRFTEN;
/// `0x0004_0704`.
pub const FLASH_ACR_170MHZ: u32 = FLASH_ACR_RESET | ACR_PRFTEN | 4;

/// Number of modelled RCC registers.
const COUNT: usize = rcc::REGISTERS.len();

/// The RCC register file plus FLASH_ACR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rcc {
    /// Register values, in the order of [`rcc::REGISTERS`].
    regs: [u32; COUNT],
    /// FLASH_ACR (flash latency and caches).
    pub flash_acr: u32,
}

impl Default for Rcc {
    fn default() -> Self {
        Self::reset()
    }
}

impl Rcc {
    /// RM0440 reset state (the reset values of [`rcc::REGISTERS`]): running from HSI16 at
    /// 16 MHz.
    pub fn reset() -> Self {
        Rcc {
            regs: rcc::REGISTERS.map(|(_, _, reset)| reset),
            flash_acr: FLASH_ACR_RESET,
        }
    }

    /// The state after the hypervisor's clock setup: HSE on and ready, PLL (HSE/2 × 85 / 2 =
    /// 170 MHz) on and locked and selected as SYSCLK, flash at 4 wait states, USART1 clock
    /// enabled (APB2ENR.USART1EN), GPIOA clock enabled (AHB2ENR.GPIOAEN, for PA9/PA10).
    pub fn boot() -> Self {
        let mut r = Self::reset();
        r.set(
            rcc::CR,
            r.get(rcc::CR) | cr::HSEON | cr::HSERDY | cr::PLLON | cr::PLLRDY,
        );
        r.set(rcc::PLLCFGR, PLLCFGR_170MHZ);
        r.set(rcc::CFGR, CFGR_PLL);
        r.set(rcc::APB2ENR, r.get(rcc::APB2ENR) | USART1EN);
        r.set(rcc::AHB2ENR, r.get(rcc::AHB2ENR) | gpio_en(0));
        r.flash_acr = FLASH_ACR_170MHZ;
        r
    }

    /// Position in [`rcc::REGISTERS`] of the register at byte `offset` from `RCC_BASE`.
    fn position(offset: u32) -> Option<usize> {
        rcc::REGISTERS.iter().position(|(_, o, _)| *o == offset)
    }

    /// Reads the register at byte `offset` from `RCC_BASE`; `None` for an offset that is not a
    /// modelled register (reserved or unmodelled).
    pub fn read(&self, offset: u32) -> Option<u32> {
        self.regs.get(Self::position(offset)?).copied()
    }

    /// The value of a modelled register (`offset` one of the [`rcc`] constants); 0 otherwise.
    fn get(&self, offset: u32) -> u32 {
        self.read(offset).unwrap_or(0)
    }

    /// Sets a modelled register (`offset` one of the [`rcc`] constants); ignores other offsets.
    fn set(&mut self, offset: u32, value: u32) {
        if let Some(r) = Self::position(offset).and_then(|i| self.regs.get_mut(i)) {
            *r = value;
        }
    }

    /// Sets RCC_AHB2ENR.GPIOxEN for port `index` (what the firmware does before touching a port).
    pub fn enable_gpio(&mut self, index: usize) {
        self.set(rcc::AHB2ENR, self.get(rcc::AHB2ENR) | gpio_en(index));
    }

    /// SYSCLK in Hz computed from CFGR.SWS and PLLCFGR (HSE = 8 MHz, HSI16 = 16 MHz); tests use
    /// it to check that the boot registers encode [`cockpit_hypervisor::CPU_HZ`].
    #[cfg(test)]
    pub fn sysclk_hz(&self) -> u64 {
        let pll = self.get(rcc::PLLCFGR);
        match self.get(rcc::CFGR) >> 2 & 0b11 {
            0b10 => 8_000_000,
            0b11 => {
                let src: u64 = if pll & 0b11 == 0b11 {
                    8_000_000
                } else {
                    16_000_000
                };
                let m = u64::from(pll >> 4 & 0xF) + 1;
                let n = u64::from(pll >> 8 & 0x7F);
                let r = 2 * (u64::from(pll >> 25 & 0b11) + 1);
                src / m * n / r
            }
            _ => 16_000_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_and_boot_values() {
        let r = Rcc::reset();
        assert_eq!(r.read(rcc::CR), Some(0x0000_0500));
        assert_eq!(r.read(rcc::CFGR), Some(0x0000_0005));
        assert_eq!(r.read(rcc::PLLCFGR), Some(0x0000_1000));
        assert_eq!(r.read(rcc::AHB1ENR), Some(0x0000_0100));
        assert_eq!(r.read(rcc::APB1ENR1), Some(0x0000_0400));
        assert_eq!(r.read(0x9C), Some(0), "CCIPR2, the last modelled register");
        assert_eq!(r.flash_acr, 0x0004_0600, "DBG_SWEN | DCEN | ICEN");
        assert_eq!(r.read(rcc::AHB2ENR), Some(0));
        assert_eq!(r.read(0x14), None, "reserved offset");
        for (name, offset, reset) in rcc::REGISTERS {
            assert_eq!(r.read(offset), Some(reset), "RCC.{name}");
        }
        assert_eq!(r.sysclk_hz(), 16_000_000);

        let b = Rcc::boot();
        assert_eq!(b.read(rcc::CR), Some(0x0303_0500));
        assert_eq!(b.read(rcc::PLLCFGR), Some(0x0100_5513));
        assert_eq!(b.read(rcc::CFGR), Some(0x0000_000F));
        assert_eq!(b.read(rcc::APB2ENR), Some(0x0000_4000));
        assert_eq!(b.read(rcc::AHB2ENR), Some(0x0000_0001));
        assert_eq!(
            b.sysclk_hz(),
            u64::from(cockpit_hypervisor::CPU_HZ),
            "170 MHz"
        );
        assert_eq!(b.flash_acr, 0x0004_0704, "DBG_SWEN kept, LATENCY 4, PRFTEN");
    }
}
