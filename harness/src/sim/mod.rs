//! The `sim` board (in progress).
