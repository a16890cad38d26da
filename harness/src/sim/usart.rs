//! USART register file (RM0440 "USART registers") with a blocking transmitter that records a
//! transcript and reports how long each byte occupies the line.

use crate::regmap::usart;

/// USART_CR1.UE (bit 0): USART enable.
pub const CR1_UE: u32 = 1 << 0;
/// USART_CR1.RE (bit 2): receiver enable.
pub const CR1_RE: u32 = 1 << 2;
/// USART_CR1.TE (bit 3): transmitter enable.
pub const CR1_TE: u32 = 1 << 3;
/// USART_ISR.TC (bit 6): transmission complete.
pub const ISR_TC: u32 = 1 << 6;
/// USART_ISR.TXE (bit 7): transmit data register empty.
pub const ISR_TXE: u32 = 1 << 7;
/// USART_ISR.TEACK (bit 21): transmit enable acknowledge.
pub const ISR_TEACK: u32 = 1 << 21;
/// USART_ISR.REACK (bit 22): receive enable acknowledge.
pub const ISR_REACK: u32 = 1 << 22;
/// USART_ISR reset value (FIFO disabled): TXE | TC = `0x0000_00C0`.
pub const ISR_RESET: u32 = ISR_TXE | ISR_TC;
/// USART_BRR for 115200 baud from a 170 MHz kernel clock (PCLK2), oversampling by 16, PRESC = 1:
/// round(170 000 000 / 115 200) = 1476 (`0x5C4`); actual rate 115 176 baud (−0.02 %).
pub const BRR_115200_AT_170MHZ: u32 = 1476;

/// One USART's registers and its transmit transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usart {
    /// Registers by offset / 4 (CR1 … PRESC).
    regs: [u32; 12],
    /// Every byte written to TDR since the last reset.
    pub transcript: Vec<u8>,
}

impl Default for Usart {
    fn default() -> Self {
        Self::reset()
    }
}

impl Usart {
    /// Reset state: all registers 0 except ISR = `0x0000_00C0`.
    pub fn reset() -> Self {
        let mut regs = [0; 12];
        regs[(usart::ISR / 4) as usize] = ISR_RESET;
        Usart {
            regs,
            transcript: Vec::new(),
        }
    }

    /// The console configuration the hypervisor sets up on USART1: CR1 = UE | RE | TE,
    /// BRR = 1476 (115200 baud at 170 MHz), ISR = TXE | TC | TEACK | REACK.
    pub fn console() -> Self {
        let mut u = Self::reset();
        u.regs[(usart::CR1 / 4) as usize] = CR1_UE | CR1_RE | CR1_TE;
        u.regs[(usart::BRR / 4) as usize] = BRR_115200_AT_170MHZ;
        u.regs[(usart::ISR / 4) as usize] |= ISR_TEACK | ISR_REACK;
        u
    }

    /// Reads the register at byte `offset` (0x00…0x2C, 4-aligned); the write-only RQR and ICR
    /// read 0. `None` for any other offset.
    pub fn read(&self, offset: u32) -> Option<u32> {
        if !offset.is_multiple_of(4) {
            return None;
        }
        let value = self.regs.get((offset / 4) as usize).copied()?;
        Some(if usart::WRITE_ONLY.contains(&offset) {
            0
        } else {
            value
        })
    }

    /// Whether the transmitter is usable (UE and TE set).
    fn can_transmit(&self) -> bool {
        let cr1 = self.regs[(usart::CR1 / 4) as usize];
        cr1 & (CR1_UE | CR1_TE) == CR1_UE | CR1_TE
    }

    /// Kernel-clock cycles one byte occupies the line ([`usart::frame_cycles`]). With the
    /// console setup (8N1): 14 760 cycles = 86.8 µs at 170 MHz.
    pub fn byte_cycles(&self) -> u64 {
        usart::frame_cycles(&self.regs)
    }

    /// Transmits one byte, blocking: writes TDR, appends to the transcript, and returns the
    /// cycles until TC (the caller advances the clock). `None` if UE/TE are not set.
    pub fn transmit(&mut self, byte: u8) -> Option<u64> {
        if !self.can_transmit() {
            return None;
        }
        self.regs[(usart::TDR / 4) as usize] = u32::from(byte);
        self.transcript.push(byte);
        Some(self.byte_cycles())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_and_console_state() {
        let u = Usart::reset();
        assert_eq!(u.read(usart::ISR), Some(0x0000_00C0));
        assert_eq!(u.read(usart::CR1), Some(0));
        assert!(!u.can_transmit());
        let mut c = Usart::console();
        assert_eq!(c.read(usart::CR1), Some(0x0D));
        assert_eq!(c.read(usart::BRR), Some(0x5C4));
        assert_eq!(c.read(usart::ISR), Some(0x0060_00C0));
        assert_eq!(c.transmit(b'A'), Some(14_760));
        assert_eq!(c.read(usart::TDR), Some(0x41));
        assert_eq!(c.transcript, b"A");
        assert_eq!(c.read(0x30), None);
        assert_eq!(c.read(0x2A), None, "unaligned");
        assert_eq!(c.read(usart::ICR), Some(0), "write-only");
    }
}
