//! Transports: placeholder, being written.
