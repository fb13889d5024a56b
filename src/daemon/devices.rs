//! Real and simulated hardware, adapted to the daemon's ports.
