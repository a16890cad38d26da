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
/// FLASH_ACR reset value (RM0440 §3.7.1): ICEN | DCEN, 0 wait states.
pub const FLASH_ACR_RESET: u32 = 0x0000_0600;
/// FLASH_ACR at 170 MHz (range 1 boost): LATENCY = 4 wait states, PRFTEN | ICEN | DCEN.
pub const FLASH_ACR_170MHZ: u32 = 4 | 1 << 8 | 1 << 9 | 1 << 10;

/// Highest modelled offset + 4, in words.
const WORDS: usize = 0xA0 / 4;

/// RM0440 §7.4 reset values of the modelled registers. Factory-programmed fields (ICSCR HSICAL,
/// CRRCR HSI48CAL) read 0; CSR's reset flags read 0; BDCR as after an RTC-domain reset.
const RESET: [(u32, u32); 24] = [
    (0x00, 0x0000_0500), // CR: HSION | HSIRDY
    (0x04, 0x4000_0000), // ICSCR: HSITRIM = 64
    (0x08, 0x0000_0005), // CFGR: SW = SWS = HSI16
    (0x0C, 0x0000_1000), // PLLCFGR: PLLN = 16
    (0x18, 0),           // CIER
    (0x1C, 0),           // CIFR
    (0x20, 0),           // CICR
    (0x28, 0),           // AHB1RSTR
    (0x2C, 0),           // AHB2RSTR
    (0x30, 0),           // AHB3RSTR
    (0x38, 0),           // APB1RSTR1
    (0x3C, 0),           // APB1RSTR2
    (0x40, 0),           // APB2RSTR
    (0x48, 0x0000_0100), // AHB1ENR: FLASHEN
    (0x4C, 0),           // AHB2ENR
    (0x50, 0),           // AHB3ENR
    (0x58, 0x0000_0400), // APB1ENR1: RTCAPBEN
    (0x5C, 0),           // APB1ENR2
    (0x60, 0),           // APB2ENR
    (0x88, 0),           // CCIPR
    (0x90, 0),           // BDCR
    (0x94, 0),           // CSR
    (0x98, 0),           // CRRCR
    (0x9C, 0),           // CCIPR2
];

/// The RCC register file plus FLASH_ACR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rcc {
    regs: [u32; WORDS],
    /// FLASH_ACR (flash latency and caches).
    pub flash_acr: u32,
}

impl Default for Rcc {
    fn default() -> Self {
        Self::reset()
    }
}

impl Rcc {
    /// RM0440 reset state: running from HSI16 at 16 MHz.
    pub fn reset() -> Self {
        let mut regs = [0; WORDS];
        for (off, v) in RESET {
            regs[off as usize / 4] = v;
        }
        Rcc {
            regs,
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

    /// Whether `offset` is a modelled RCC register.
    pub fn is_register(offset: u32) -> bool {
        RESET.iter().any(|(o, _)| *o == offset)
    }

    /// Reads a modelled register; `None` for other offsets.
    pub fn read(&self, offset: u32) -> Option<u32> {
        Self::is_register(offset).then(|| self.get(offset))
    }

    fn get(&self, offset: u32) -> u32 {
        self.regs.get(offset as usize / 4).copied().unwrap_or(0)
    }

    fn set(&mut self, offset: u32, value: u32) {
        if let Some(r) = self.regs.get_mut(offset as usize / 4) {
            *r = value;
        }
    }

    /// Sets RCC_AHB2ENR.GPIOxEN for port `index` (what the firmware does before touching a port).
    pub fn enable_gpio(&mut self, index: usize) {
        self.set(rcc::AHB2ENR, self.get(rcc::AHB2ENR) | gpio_en(index));
    }

    /// SYSCLK in Hz computed from CFGR.SWS and PLLCFGR (HSE = 8 MHz, HSI16 = 16 MHz).
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
        assert_eq!(r.read(0x48), Some(0x0000_0100));
        assert_eq!(r.read(rcc::AHB2ENR), Some(0));
        assert_eq!(r.read(0x14), None, "reserved offset");
        assert_eq!(r.sysclk_hz(), 16_000_000);

        let b = Rcc::boot();
        assert_eq!(b.read(rcc::CR), Some(0x0303_0500));
        assert_eq!(b.read(rcc::PLLCFGR), Some(0x0100_5513));
        assert_eq!(b.read(rcc::CFGR), Some(0x0000_000F));
        assert_eq!(b.read(rcc::APB2ENR), Some(0x0000_4000));
        assert_eq!(b.read(rcc::AHB2ENR), Some(0x0000_0001));
        assert_eq!(b.sysclk_hz(), 170_000_000);
    }
}
