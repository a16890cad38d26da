//! Cockpit hypervisor core (in progress).
#![no_std]
