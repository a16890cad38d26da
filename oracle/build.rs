//! Generates the message types from `proto/bootloader.proto` without a `protoc` binary:
//! `protox` compiles the schema into a `FileDescriptorSet`, which feeds
//! - `micropb-gen` (always): bounded, heap-free device types (`heapless` containers sized by the
//!   nanopb maxima of reference §2.3) → `$OUT_DIR/bootloader_micropb.rs`;
//! - `prost-build` (feature `std`): host types → `$OUT_DIR/bootloader.rs`.

use std::{env, fs, path::PathBuf};

use micropb_gen::{Config, Generator};
use prost::Message as _;

const PROTO: &str = "proto/bootloader.proto";

/// (field path, capacity in bytes) for every `string` / `bytes` field: the original nanopb maxima
/// (reference §2.3) plus the V2 bounds (§2.10).
const BOUNDS: &[(&str, u32)] = &[
    (".bootloader.HandshakeRequest.capabilities", 64),
    (".bootloader.HandshakeResponse.bootloader_version", 16),
    (".bootloader.HandshakeResponse.supported_capabilities", 128),
    (".bootloader.DataPacket.data", 1024),
    (".bootloader.FlashProgramResponse.verification_hash", 32),
    (".bootloader.FlashProgramResponse.flash_sample", 64),
    (".bootloader.Acknowledgment.message", 64),
    (".bootloader.ErrorReport.diagnostic_message", 128),
    (".bootloader.FlashReadResponse.flash_data", 256),
    (".bootloader.DeviceInfoResponse.device_model", 32),
    (".bootloader.DeviceInfoResponse.bootloader_version", 16),
    (".bootloader.DeviceInfoResponse.unique_device_id", 12),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var("OUT_DIR")?);

    let fds = protox::compile([PROTO], ["proto"])?;
    let fds_path = out.join("bootloader.fds");
    fs::write(&fds_path, fds.encode_to_vec())?;

    let mut generator = Generator::new();
    generator.use_container_heapless();
    for (path, max) in BOUNDS {
        generator.configure(path, Config::new().max_bytes(*max));
    }
    generator.compile_fdset_file(&fds_path, out.join("bootloader_micropb.rs"))?;

    #[cfg(feature = "std")]
    prost_build::Config::new().compile_fds(fds)?;

    Ok(())
}
