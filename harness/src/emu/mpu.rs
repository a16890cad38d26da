//! The Cortex-M4 MPU (ARMv7-M PMSAv7; ARM DDI0403E §B3.5, PM0214 §4.5): its registers and the
//! access check. [`super::mcu`] turns the check into unicorn page permissions (so that unicorn
//! itself faults on a violation) and raises MemManage.
//!
//! Registers (absolute addresses): MPU_TYPE `0xE000_ED90` (DREGION = 8, read-only), MPU_CTRL
//! `0xE000_ED94` (ENABLE bit 0, HFNMIENA bit 1, PRIVDEFENA bit 2), MPU_RNR `0xE000_ED98`,
//! MPU_RBAR `0xE000_ED9C` (ADDR bits 31:5; a write with VALID (bit 4) also sets RNR to REGION,
//! bits 3:0; reads return ADDR | RNR), MPU_RASR `0xE000_EDA0` (XN bit 28, AP bits 26:24,
//! TEX/S/C/B stored but without effect, SRD bits 15:8, SIZE bits 5:1 = log2(size) − 1, ENABLE
//! bit 0), and the aliases RBAR_A1..A3 / RASR_A1..A3 at `0xE000_EDA4..=0xE000_EDB8`.
//!
//! Rules: the highest-numbered enabled region containing the address decides (a disabled
//! subregion, for regions of 256 bytes or more, does not contain it); no region → the default
//! map for privileged accesses when PRIVDEFENA = 1, else a fault. AP (privileged/unprivileged):
//! `000` none/none, `001` RW/none, `010` RW/RO, `011` RW/RW, `101` RO/none, `110` and `111`
//! RO/RO (`100` reserved: none). An instruction fetch needs read permission and XN = 0. The
//! private peripheral bus (`0xE000_0000..0xE010_0000`) always uses the default map.

/// MPU_TYPE address (first MPU register).
pub const MPU_TYPE: u32 = 0xE000_ED90;
/// One past the last MPU register (RASR_A3).
pub const MPU_END: u32 = 0xE000_EDBC;
/// Number of regions (MPU_TYPE.DREGION).
pub const REGIONS: usize = 8;
/// MPU_CTRL.ENABLE.
pub const CTRL_ENABLE: u32 = 1;
/// MPU_CTRL.HFNMIENA: the MPU also applies in HardFault and NMI handlers.
pub const CTRL_HFNMIENA: u32 = 1 << 1;
/// MPU_CTRL.PRIVDEFENA: privileged accesses outside every region use the default map.
pub const CTRL_PRIVDEFENA: u32 = 1 << 2;
/// MPU_RBAR.VALID.
const RBAR_VALID: u32 = 1 << 4;
/// The RASR bits the model stores (XN, AP, TEX, S, C, B, SRD, SIZE, ENABLE).
const RASR_MASK: u32 = 0x173F_FF3F;
/// The private peripheral bus, always accessed through the default map.
const PPB: std::ops::Range<u32> = 0xE000_0000..0xE010_0000;

/// The kind of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Data read.
    Read,
    /// Data write.
    Write,
    /// Instruction fetch.
    Exec,
}

/// The MPU registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mpu {
    /// MPU_CTRL (bits 2:0).
    pub ctrl: u32,
    rnr: u32,
    rbar: [u32; REGIONS],
    rasr: [u32; REGIONS],
}

impl Mpu {
    /// Whether `addr` is an MPU register.
    pub fn is_register(addr: u32) -> bool {
        (MPU_TYPE..MPU_END).contains(&addr)
    }

    fn region(&self) -> usize {
        self.rnr as usize % REGIONS
    }

    /// Reads the register at `addr` (word-aligned; see the module docs).
    pub fn read(&self, addr: u32) -> u32 {
        match addr.wrapping_sub(MPU_TYPE) {
            0x00 => (REGIONS as u32) << 8,
            0x04 => self.ctrl,
            0x08 => self.rnr,
            0x0C | 0x14 | 0x1C | 0x24 => self.rbar[self.region()] | self.rnr & 0xF,
            0x10 | 0x18 | 0x20 | 0x28 => self.rasr[self.region()],
            _ => 0,
        }
    }

    /// Writes the register at `addr` (word-aligned; see the module docs).
    pub fn write(&mut self, addr: u32, v: u32) {
        match addr.wrapping_sub(MPU_TYPE) {
            0x04 => self.ctrl = v & 7,
            0x08 => self.rnr = v & 0xFF,
            0x0C | 0x14 | 0x1C | 0x24 => {
                if v & RBAR_VALID != 0 {
                    self.rnr = v & 0xF;
                }
                let n = self.region();
                self.rbar[n] = v & !0x1F;
            }
            0x10 | 0x18 | 0x20 | 0x28 => {
                let n = self.region();
                self.rasr[n] = v & RASR_MASK;
            }
            _ => {}
        }
    }

    /// MPU_CTRL.ENABLE.
    pub fn enabled(&self) -> bool {
        self.ctrl & CTRL_ENABLE != 0
    }

    /// Whether the MPU checks accesses made in a HardFault or NMI handler (MPU_CTRL.HFNMIENA).
    pub fn applies_in_hardfault(&self) -> bool {
        self.ctrl & CTRL_HFNMIENA != 0
    }

    /// The RASR of the highest-numbered enabled region whose enabled part contains `addr`.
    fn matching(&self, addr: u32) -> Option<u32> {
        (0..REGIONS).rev().find_map(|n| {
            let rasr = self.rasr[n];
            if rasr & 1 == 0 {
                return None;
            }
            // SIZE < 4 is UNPREDICTABLE; taken as the 32-byte minimum.
            let log2 = ((rasr >> 1) & 0x1F).max(4) + 1;
            let size = 1u64 << log2;
            let base = u64::from(self.rbar[n]) & !(size - 1);
            let off = u64::from(addr).checked_sub(base).filter(|&o| o < size)?;
            if log2 >= 8 && rasr >> (8 + off / (size / 8)) & 1 != 0 {
                return None;
            }
            Some(rasr)
        })
    }

    /// Whether the MPU permits `access` to the byte at `addr` by privileged (or unprivileged)
    /// code. Always true while the MPU is disabled (the caller decides whether it applies, e.g.
    /// in HardFault).
    pub fn allows(&self, addr: u32, access: Access, privileged: bool) -> bool {
        if !self.enabled() || PPB.contains(&addr) {
            return true;
        }
        let Some(rasr) = self.matching(addr) else {
            return privileged && self.ctrl & CTRL_PRIVDEFENA != 0;
        };
        let (read, write) = match ((rasr >> 24) & 7, privileged) {
            (0b011, _) | (0b001 | 0b010, true) => (true, true),
            (0b010, false) | (0b101, true) | (0b110 | 0b111, _) => (true, false),
            _ => (false, false),
        };
        match access {
            Access::Read => read,
            Access::Write => write,
            Access::Exec => read && rasr & (1 << 28) == 0,
        }
    }

    /// Whether every byte of `[addr, addr + len)` permits `access` (checked at the MPU's
    /// 32-byte granularity; `addr` and `len` multiples of 32).
    pub fn allows_all(&self, addr: u32, len: u32, access: Access, privileged: bool) -> bool {
        (0..len / 32).all(|i| self.allows(addr + 32 * i, access, privileged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mpu(regions: &[(u32, u32)], ctrl: u32) -> Mpu {
        let mut m = Mpu::default();
        for (n, &(rbar, rasr)) in regions.iter().enumerate() {
            m.write(0xE000_ED9C, rbar | RBAR_VALID | n as u32);
            m.write(0xE000_EDA0, rasr);
        }
        m.write(0xE000_ED94, ctrl);
        m
    }

    const AP_RW: u32 = 0b011 << 24;
    const AP_PRIV_RW: u32 = 0b001 << 24;
    const AP_RO: u32 = 0b110 << 24;
    const XN: u32 = 1 << 28;
    const fn size(log2: u32) -> u32 {
        (log2 - 1) << 1
    }

    #[test]
    fn registers_read_back() {
        let m = mpu(&[(0x2000_0000, size(10) | AP_RW | 1)], 5);
        assert_eq!(m.read(0xE000_ED90), 0x800, "DREGION = 8");
        assert_eq!(m.read(0xE000_ED94), 5);
        assert_eq!(m.read(0xE000_ED98), 0, "RBAR.VALID set RNR");
        assert_eq!(m.read(0xE000_ED9C), 0x2000_0000);
        assert_eq!(m.read(0xE000_EDA0), size(10) | AP_RW | 1);
    }

    #[test]
    fn disabled_or_ppb_allows_everything() {
        let m = mpu(&[(0x2000_0000, size(10) | 1)], 0);
        assert!(m.allows(0x2000_0000, Access::Write, false));
        let m = mpu(&[], CTRL_ENABLE);
        assert!(!m.allows(0x2000_0000, Access::Read, true), "no background");
        assert!(m.allows(0xE000_ED94, Access::Write, false), "PPB");
    }

    #[test]
    fn background_needs_privdefena_and_privilege() {
        let m = mpu(&[], CTRL_ENABLE | CTRL_PRIVDEFENA);
        assert!(m.allows(0x4800_0000, Access::Write, true));
        assert!(!m.allows(0x4800_0000, Access::Read, false));
    }

    #[test]
    fn highest_region_wins_and_subregions_fall_through() {
        // Region 0: 1 KiB RW; region 1: its first 256 B, read-only, subregion 1 (32 B at +32)
        // disabled.
        let m = mpu(
            &[
                (0x2000_0000, size(10) | AP_RW | XN | 1),
                (0x2000_0000, size(8) | AP_RO | (0b10 << 8) | 1),
            ],
            CTRL_ENABLE,
        );
        assert!(
            !m.allows(0x2000_0000, Access::Write, true),
            "region 1 is RO"
        );
        assert!(m.allows(0x2000_0000, Access::Exec, true), "region 1 not XN");
        assert!(
            m.allows(0x2000_0020, Access::Write, true),
            "subregion off: region 0"
        );
        assert!(!m.allows(0x2000_0020, Access::Exec, true), "region 0 is XN");
        assert!(m.allows(0x2000_0100, Access::Write, false));
        assert!(!m.allows(0x2000_0400, Access::Read, true), "outside both");
        assert!(!m.allows_all(0x2000_0000, 0x400, Access::Write, true));
        assert!(m.allows_all(0x2000_0100, 0x300, Access::Write, true));
    }

    #[test]
    fn access_permissions_by_privilege() {
        let m = mpu(&[(0x2000_0000, size(5) | AP_PRIV_RW | 1)], CTRL_ENABLE);
        assert!(m.allows(0x2000_001F, Access::Write, true));
        assert!(!m.allows(0x2000_001F, Access::Read, false));
        assert!(
            !m.allows(0x2000_0020, Access::Read, true),
            "32-byte region ends"
        );
        let m = mpu(&[(0x2000_0000, size(5) | (0b010 << 24) | 1)], CTRL_ENABLE);
        assert!(m.allows(0x2000_0000, Access::Read, false));
        assert!(!m.allows(0x2000_0000, Access::Write, false));
    }
}
