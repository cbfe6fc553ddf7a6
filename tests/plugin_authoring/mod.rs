//! What a plugin author meets: refusals that name every import at once and
//! say how to fix them for the plugin's kind and the command, setup errors
//! that keep the plugin's own code and name the plugin, and `sluice plugin
//! test --cases`, `sluice plugin new` and `sluice plugin doctor`.

mod agreement;
mod cases;
mod doctor;
mod refusals;
mod scaffold;
mod scaffold_c;
mod scaffold_connectors;
mod scaffold_js;
mod scaffold_zig;
mod sdk_package;
