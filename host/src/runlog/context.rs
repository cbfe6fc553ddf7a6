/// What the writer needs to know about the run it records.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run.
    pub run_id: i64,
    /// Its pipeline's name.
    pub pipeline: String,
    /// Its configuration.
    pub config_hash: String,
}
