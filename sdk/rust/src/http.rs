//! HTTP through the host, for source and target connectors.
//!
//! Connectors never open sockets themselves: the host checks every request
//! against the connection profile's allow-list, adds credentials, enforces
//! timeouts and size caps. Only the `source` and `target` worlds import
//! `http`; a field transformer or normalizer that calls [`send`] cannot be
//! instantiated by the host. [`send`] only works inside the component: in
//! native unit tests it panics.

pub use crate::bindings::imports::sluice::plugin::http::{
    HttpError, Method, Request, Response, send,
};
