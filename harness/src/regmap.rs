//! RM0440 register names → addresses (in progress).
