//! Oracle bootloader protocol (in progress).
#![no_std]
