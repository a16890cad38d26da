//! Framing shared by the no-init RAM records that carry a version ([`crate::vmsnap`],
//! [`crate::runctl`]): little-endian 32-bit words, word 0 `MAGIC`, word 1 `VERSION`
//! (`major << 16 | minor`; another major is rejected), the last word the XOR of all others.

/// Why a record's framing was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer words (or bytes) than the record has.
    TooShort,
    /// Word 0 is not the record's magic.
    BadMagic(u32),
    /// Word 1 has another major version.
    BadVersion(u32),
    /// Checksum mismatch: (stored, computed).
    BadChecksum(u32, u32),
}

/// XOR of `words`.
pub fn xor(words: &[u32]) -> u32 {
    words.iter().fold(0, |a, w| a ^ w)
}

/// Sets the last word of `w` to the XOR of the others.
pub fn seal(w: &mut [u32]) {
    if let Some((last, rest)) = w.split_last_mut() {
        *last = xor(rest);
    }
}

/// The first `n` words of `w` if they are a record with `magic`, the major version of
/// `version` and a valid checksum.
pub fn check(w: &[u32], n: usize, magic: u32, version: u32) -> Result<&[u32], FrameError> {
    let w = w
        .get(..n)
        .filter(|w| w.len() >= 3)
        .ok_or(FrameError::TooShort)?;
    if w[0] != magic {
        return Err(FrameError::BadMagic(w[0]));
    }
    if w[1] >> 16 != version >> 16 {
        return Err(FrameError::BadVersion(w[1]));
    }
    let computed = xor(&w[..n - 1]);
    if w[n - 1] != computed {
        return Err(FrameError::BadChecksum(w[n - 1], computed));
    }
    Ok(w)
}

/// The first `N` little-endian words of `bytes` (as read from RAM); `TooShort` if fewer.
pub fn words<const N: usize>(bytes: &[u8]) -> Result<[u32; N], FrameError> {
    if bytes.len() < 4 * N {
        return Err(FrameError::TooShort);
    }
    let mut w = [0u32; N];
    for (d, c) in w.iter_mut().zip(bytes.chunks_exact(4)) {
        *d = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_accepts_a_sealed_record_and_names_what_is_wrong() {
        let mut w = [0xAB, 0x0001_0002, 7, 0];
        seal(&mut w);
        assert_eq!(w[3], 0xAB ^ 0x0001_0002 ^ 7);
        assert_eq!(check(&w, 4, 0xAB, 0x0001_0000), Ok(&w[..]));
        assert_eq!(
            check(&w[..3], 4, 0xAB, 0x0001_0000),
            Err(FrameError::TooShort)
        );
        assert_eq!(
            check(&w, 4, 0xAC, 0x0001_0000),
            Err(FrameError::BadMagic(0xAB))
        );
        assert_eq!(
            check(&w, 4, 0xAB, 0x0002_0000),
            Err(FrameError::BadVersion(0x0001_0002))
        );
        w[2] = 8;
        assert!(matches!(
            check(&w, 4, 0xAB, 0x0001_0000),
            Err(FrameError::BadChecksum(..))
        ));
        let bytes = [1, 0, 0, 0, 2, 0, 0, 0, 9];
        assert_eq!(words::<2>(&bytes), Ok([1, 2]));
        assert_eq!(words::<3>(&bytes), Err(FrameError::TooShort));
    }
}
