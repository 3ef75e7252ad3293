//! rampart-wire (under construction).
