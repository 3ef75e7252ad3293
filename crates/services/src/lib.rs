//! rampart-services (under construction).
