//! Blocking host calls end at the plugin's deadline.
//!
//! The epoch deadline interrupts a plugin only while it runs WebAssembly;
//! a guest blocked inside the host (sleeping on a `wasi:clocks` timer
//! through `wasi:io/poll`) is not running any. WASI's own `poll` and
//! `pollable.block` are therefore replaced by versions that wait at most
//! until the call's deadline: past it, the call fails as `timeout` and the
//! instance is discarded like after any other failure. Every wait a guest
//! can make through WASI goes through these two functions (clock timers,
//! sockets when linked, streams' readiness). The contract's `http` import
//! has its own cap: each request's timeout is the smaller of the
//! connection's and the time left before the deadline.

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll::{Host as _, HostPollable as _};
use wasmtime_wasi::runtime::in_tokio;

use super::host_state::HostState;

/// The `wasi:io/poll` instance `wasmtime-wasi` defines; components built
/// against any 0.2.x version link to it.
const POLL_INTERFACE: &str = "wasi:io/poll@0.2.12";

/// The error a blocking host call fails with at the deadline; the sandbox
/// classifies the call as `timeout` from [`HostState::deadline_hit`].
#[derive(Debug, thiserror::Error)]
#[error("the call's deadline passed while the plugin was blocked in a host call")]
pub struct DeadlineReached;

/// Replace `poll` and `pollable.block` in `linker` (which already holds
/// WASI) with deadline-bounded versions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut poll = linker.instance(POLL_INTERFACE)?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, HostState>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let state = store.data_mut();
            let remaining = state.remaining();
            let table = state.table();
            let outcome = in_tokio(async {
                match remaining {
                    Some(left) => tokio::time::timeout(left, table.poll(pollables)).await.ok(),
                    None => Some(table.poll(pollables).await),
                }
            });
            match outcome {
                Some(ready) => ready.map(|r| (r,)),
                None => {
                    state.deadline_hit = true;
                    Err(DeadlineReached.into())
                }
            }
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, HostState>, (pollable,): (Resource<DynPollable>,)| {
            let state = store.data_mut();
            let remaining = state.remaining();
            let table = state.table();
            let outcome = in_tokio(async {
                match remaining {
                    Some(left) => tokio::time::timeout(left, table.block(pollable)).await.ok(),
                    None => Some(table.block(pollable).await),
                }
            });
            match outcome {
                Some(done) => done,
                None => {
                    state.deadline_hit = true;
                    Err(DeadlineReached.into())
                }
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
