/// What the writer needs to know about the run it records.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run.
    pub run_id: i64,
    /// Its pipeline's name.
    pub pipeline: String,
    /// Its configuration.
    pub config_hash: String,
    /// A test sync: its errors and skips are recorded, but it adds no
    /// dead-letter entry, resolves none and commits no cursor.
    pub test: bool,
}
