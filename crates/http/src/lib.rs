//! The HTTP policy of edge-session, pure and natively testable.
