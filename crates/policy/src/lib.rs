//! rampart-policy (under construction).
