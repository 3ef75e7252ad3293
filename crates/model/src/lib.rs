//! rampart-model (under construction).
