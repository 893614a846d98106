//! # netcore-endpoint
//!
//! The application layer: a `Router` with exact routes, blueprints (nesting),
//! middleware as tower layers and hooks; request/response calls and
//! notifications; lifecycle and user events; a scheduler; a TTL cache; and a
//! multi-connection `Server`.
//!
//! **Status:** in progress (see the "netcore-endpoint" issue). Built so far:
//!
//! | module | what it holds |
//! |---|---|
//! | [`events`] | lifecycle and user events: `on`, `once`, `off`, async listeners |
//! | [`scheduler`] | `after` / `every` tasks with cancellable handles |
//! | [`cache`] | a typed TTL cache with a size bound, on moka |

pub mod cache;
pub mod events;
pub mod scheduler;
