//! What the `crm` source and target share about a HubSpot-style CRM v3
//! API: how its error responses are classified ([`errors`]) and which
//! object and property names may go into its paths and queries
//! ([`names`]). A plain library, compiled into both plugins
//! (wasm32-wasip2) and run natively by its tests.

pub mod errors;
pub mod names;
