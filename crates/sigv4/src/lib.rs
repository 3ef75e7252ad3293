//! rampart-sigv4 (under construction).
