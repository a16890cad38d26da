//! Protocol constants shared by the device engine and the host client (see `README.md`).

/// Largest unescaped frame payload, bytes (`BOOTLOADER_MAX_PAYLOAD_SIZE`, reference §2.2).
pub const MAX_PAYLOAD: usize = 1024;

/// Largest `FlashReadRequest.length` / `FlashReadResponse.flash_data`, bytes (reference §2.10).
pub const MAX_READ: usize = 256;

/// Flash page (erase unit) of the STM32G474RE, bytes; sent as `HandshakeResponse.flash_page_size`.
pub const FLASH_PAGE_SIZE: u32 = 2048;

/// Size of one A/B program bank, bytes (192 KiB): the upper bound of
/// `FlashProgramRequest.total_data_length`.
pub const BANK_SIZE: u32 = 192 * 1024;

/// Programming granularity: one 64-bit double word, bytes (reference §2.5).
pub const PROGRAM_UNIT: u32 = 8;

/// A partial frame is dropped after this long without a byte, milliseconds.
pub const FRAME_TIMEOUT_MS: u32 = 500;

/// A session with no valid request for this long ends, milliseconds.
pub const SESSION_TIMEOUT_MS: u32 = 30_000;

/// Default line rate of USART1 (8N1: 10 bit times per byte), bit/s (reference §2.1).
pub const DEFAULT_BAUD: u32 = 115_200;

/// `HandshakeResponse.bootloader_version` / `DeviceInfoResponse.bootloader_version`:
/// "Cockpit-" + crate version (≤ 16 bytes).
pub const BOOTLOADER_VERSION: &str = concat!("Cockpit-", env!("CARGO_PKG_VERSION"));

/// `HandshakeResponse.supported_capabilities` sent by the Cockpit device.
pub const DEVICE_CAPABILITIES: &str =
    "flash_program,verify,dual_bank,chunked,flash_read,device_info";

/// The capability a `HandshakeRequest.capabilities` must contain (substring match, §2.4).
pub const REQUIRED_CAPABILITY: &str = "flash_program";

/// Capabilities the original Python client sends (reference §2.9).
pub const ORIGINAL_CLIENT_CAPABILITIES: &str = "flash_program,verify,error_recovery";

/// `max_packet_size` the original Python client sends (reference §2.9).
pub const ORIGINAL_MAX_PACKET_SIZE: u32 = 256;

/// `DeviceInfoResponse.device_model` of the target.
pub const DEVICE_MODEL: &str = "STM32G474RE";

/// Length of a protobuf varint encoding `v`, bytes (1..=5).
pub const fn varint_len(v: u32) -> usize {
    match v {
        0..=0x7F => 1,
        0x80..=0x3FFF => 2,
        0x4000..=0x1F_FFFF => 3,
        0x20_0000..=0x0FFF_FFFF => 4,
        _ => 5,
    }
}

/// Worst-case encoded size of a `BootloaderRequest{sequence_id, data: DataPacket{offset, data,
/// data_crc32}}` carrying `data_len` bytes, assuming 5-byte varints for the sequence id, the
/// offset and the CRC, bytes.
pub const fn data_request_size(data_len: usize) -> usize {
    let inner = 6 + 1 + varint_len(data_len as u32) + data_len + 6;
    6 + 1 + varint_len(inner as u32) + inner
}

/// The largest `DataPacket.data` length whose encoded request fits in `max_packet_size` bytes of
/// frame payload (clamped to [`MAX_PAYLOAD`]); 1000 for 1024. Returns 0 if nothing fits.
pub const fn max_chunk_len(max_packet_size: usize) -> usize {
    let limit = if max_packet_size < MAX_PAYLOAD {
        max_packet_size
    } else {
        MAX_PAYLOAD
    };
    let mut n = limit;
    while n > 0 && data_request_size(n) > limit {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes() {
        assert_eq!(max_chunk_len(1024), 1000);
        assert!(data_request_size(1000) <= 1024);
        assert!(data_request_size(1001) > 1024);
        assert_eq!(max_chunk_len(256), 232);
        assert_eq!(max_chunk_len(0), 0);
        assert!(BOOTLOADER_VERSION.len() <= 16);
        assert!(DEVICE_CAPABILITIES.len() <= 128);
    }
}
