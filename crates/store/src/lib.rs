//! rampart-store (under construction).
