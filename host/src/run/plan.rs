use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value as Json;

use super::connector_step::{SourceStep, TargetStep};
use super::native::{NativeNormalize, NativeTransform, NormalizeStep, TransformStep};
use crate::config::{ConfigError, ConnectorConfig, LoadedPipeline, PluginStep};
use crate::connection::{AuthConfig, CONNECTIONS_ENV, Connection, Connections, Secret};
use crate::plugin::{
    CallStats, DEFAULT_WRITE_QUOTA_MB, DirGuard, Grants, Origin, PluginId, PluginKind,
    ProtectedPaths, Registry, Runtime, Sandbox, WorldBinding, resolve_path,
};
use crate::runlog::PluginUse;
use crate::runlog::StepVersionRow;
use crate::stages::ingest::IngestEntity;
use crate::stages::normalize::RecordNormalizer;
use crate::stages::transform::FieldPlan;
use crate::stages::transform::ValueTransformer;
use crate::store::swap::{LiveStep, Prepare, SwapSlot};
use crate::strategy::RunControl;

/// Every plugin instance a run needs, configured and split by stage.
#[derive(Debug)]
pub struct Plan {
    /// Entity names, by index.
    pub entity_names: Vec<String>,
    /// Records per batch.
    pub batch_size: u32,
    /// Source per entity.
    pub ingest: Vec<IngestEntity<SourceStep>>,
    /// Normalizer chain per entity.
    pub normalize: Vec<Vec<NormalizeStep>>,
    /// Field mappings per entity.
    pub transform: Vec<Vec<FieldPlan<TransformStep>>>,
    /// Target per entity.
    pub execute: Vec<TargetStep>,
    /// Error policies and circuit breaker shared by the stages.
    pub control: Arc<RunControl>,
    /// The connections the connectors use.
    pub connections: Vec<Arc<Connection>>,
    /// Role of each plugin instance, in the order they appear in the stages.
    roles: Vec<String>,
    /// The slots of the steps that follow a store name (live swap).
    live: Vec<Arc<dyn Prepare>>,
}

struct Builder<'a> {
    loaded: &'a LoadedPipeline,
    runtime: &'a Runtime,
    registry: &'a Registry,
    opened: RefCell<HashMap<String, Arc<Connection>>>,
}

impl Plan {
    /// Resolve, compile, link and configure every plugin of the pipeline.
    /// Any problem (unknown plugin, bad option, missing capability) is
    /// reported against the line of the pipeline file that caused it.
    pub fn build(
        loaded: &LoadedPipeline,
        runtime: &Runtime,
        registry: &Registry,
    ) -> Result<Plan, ConfigError> {
        let b = Builder {
            loaded,
            runtime,
            registry,
            opened: RefCell::new(HashMap::new()),
        };
        let p = &loaded.pipeline;
        let mut source_grants = b.grants(&p.source, false)?;
        source_grants.connection = b.connection(&p.source)?;
        let mut target_grants = b.grants(&p.target, true)?;
        target_grants.connection = b.connection(&p.target)?;
        if let Some(swap) = &p.source.live_swap {
            return Err(loaded.error_at(
                &swap.span(),
                "`live_swap` applies to targets: a source named by store name always switches at its next batch".to_owned(),
            ));
        }
        let target_swap = p
            .target
            .live_swap
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or_default();
        let mut plan = Plan {
            entity_names: p
                .entities
                .iter()
                .map(|e| e.name.get_ref().clone())
                .collect(),
            batch_size: p.batch_size(),
            ingest: Vec::new(),
            normalize: Vec::new(),
            transform: Vec::new(),
            execute: Vec::new(),
            control: Arc::new(run_control(p)),
            connections: Vec::new(),
            roles: Vec::new(),
            live: Vec::new(),
        };
        let mut roles_by_stage: [Vec<String>; 4] = Default::default();
        for entity in &p.entities {
            let name = entity.name.get_ref();
            let role = format!("source:{name}");
            let (source, live) = b.sandbox_live(
                &role,
                &connector_step(&p.source, merge(&p.source.options, &entity.source_options)),
                &p.source.plugin.span(),
                source_grants.clone(),
            )?;
            let source = match live {
                Some(slot) => {
                    plan.live.push(slot.clone());
                    SourceStep::Live(LiveStep::new(source, slot))
                }
                None => SourceStep::Plugin(source),
            };
            roles_by_stage[0].push(role);
            plan.ingest.push(IngestEntity {
                name: name.clone(),
                key_field: entity.key.clone(),
                source,
                incremental: entity.incremental,
                start_cursor: None,
            });

            let mut chain = Vec::new();
            for (i, step) in entity.normalize.iter().enumerate() {
                let role = format!("normalize:{name}#{}", i + 1);
                let (sandbox, live) =
                    b.sandbox_live(&role, step.get_ref(), &step.span(), Grants::default())?;
                chain.push(match live {
                    Some(slot) => {
                        plan.live.push(slot.clone());
                        NormalizeStep::Live(LiveStep::new(sandbox, slot))
                    }
                    None => NormalizeStep::Plugin(sandbox),
                });
                roles_by_stage[1].push(role);
            }
            plan.normalize.push(chain);

            let mut fields = Vec::new();
            for field in &entity.fields {
                let target = field.target.get_ref();
                let mut steps = Vec::new();
                for (i, step) in field.transform.iter().enumerate() {
                    let role = format!("transform:{name}.{target}#{}", i + 1);
                    let (sandbox, live) =
                        b.sandbox_live(&role, step.get_ref(), &step.span(), Grants::default())?;
                    steps.push(match live {
                        Some(slot) => {
                            plan.live.push(slot.clone());
                            TransformStep::Live(LiveStep::new(sandbox, slot))
                        }
                        None => TransformStep::Plugin(sandbox),
                    });
                    roles_by_stage[2].push(role);
                }
                fields.push(FieldPlan {
                    target: target.clone(),
                    source: field.source_path().to_owned(),
                    default: field.default.as_ref().map(toml_to_json),
                    required: field.required,
                    steps,
                });
            }
            plan.transform.push(fields);

            let role = format!("target:{name}");
            let (target, live) = b.sandbox_live(
                &role,
                &connector_step(&p.target, merge(&p.target.options, &entity.target_options)),
                &p.target.plugin.span(),
                target_grants.clone(),
            )?;
            plan.execute.push(match live {
                Some(slot) => {
                    plan.live.push(slot.clone());
                    TargetStep::Live {
                        step: LiveStep::new(target, slot),
                        swap: target_swap,
                        begun: false,
                    }
                }
                None => TargetStep::Plugin(target),
            });
            roles_by_stage[3].push(role);
        }
        plan.roles = roles_by_stage.concat();
        plan.connections = b.opened.into_inner().into_values().collect();
        Ok(plan)
    }

    /// Every plugin instance with its role and resource use so far.
    pub fn plugin_uses(&self) -> Vec<PluginUse> {
        fn usage<W: WorldBinding>(s: &Sandbox<W>) -> (PluginKind, PluginId, String, CallStats) {
            (
                W::KIND,
                s.id().clone(),
                s.origin().to_string(),
                s.stats().clone(),
            )
        }
        fn native(kind: PluginKind, id: &PluginId) -> (PluginKind, PluginId, String, CallStats) {
            (kind, id.clone(), "native".to_owned(), CallStats::default())
        }
        let normalizers = self.normalize.iter().flatten().map(|n| match n {
            NormalizeStep::Plugin(p) => usage(p),
            NormalizeStep::Live(p) => usage(p.sandbox()),
            NormalizeStep::Native(id, _) => native(PluginKind::Normalizer, id),
        });
        let transformers =
            self.transform
                .iter()
                .flatten()
                .flat_map(|f| &f.steps)
                .map(|t| match t {
                    TransformStep::Plugin(p) => usage(p),
                    TransformStep::Live(p) => usage(p.sandbox()),
                    TransformStep::Native(id, _) => native(PluginKind::FieldTransformer, id),
                });
        let all = self
            .ingest
            .iter()
            .map(|e| usage(e.source.sandbox()))
            .chain(normalizers)
            .chain(transformers)
            .chain(self.execute.iter().map(|t| usage(t.sandbox())));
        all.zip(&self.roles)
            .map(|((kind, id, origin, stats), role)| PluginUse {
                role: role.clone(),
                id,
                kind,
                origin,
                stats,
            })
            .collect()
    }

    /// The slots of the steps that follow a store name, for the run's
    /// swap watcher (`store::swap::watch`).
    pub fn live_slots(&self) -> &[Arc<dyn Prepare>] {
        &self.live
    }

    /// Which version of each step that follows a store name processed
    /// which batches.
    pub fn step_versions(&self) -> Vec<StepVersionRow> {
        let normalizers = self.normalize.iter().flatten().filter_map(|n| match n {
            NormalizeStep::Live(p) => Some(p.segments()),
            _ => None,
        });
        let transformers = self
            .transform
            .iter()
            .flatten()
            .flat_map(|f| &f.steps)
            .filter_map(|t| match t {
                TransformStep::Live(p) => Some(p.segments()),
                _ => None,
            });
        let sources = self.ingest.iter().filter_map(|e| match &e.source {
            SourceStep::Live(p) => Some(p.segments()),
            SourceStep::Plugin(_) => None,
        });
        let targets = self.execute.iter().filter_map(|t| match t {
            TargetStep::Live { step, .. } => Some(step.segments()),
            TargetStep::Plugin(_) => None,
        });
        sources
            .chain(normalizers)
            .chain(transformers)
            .chain(targets)
            .flat_map(|s| s.iter().cloned())
            .collect()
    }

    /// Replace plugin steps by native stand-ins, for benchmarks that measure
    /// the sandbox against plain Rust. `transform` and `normalize` get each
    /// step's role (`transform:contacts.email#2`, `normalize:contacts#1`)
    /// and return its replacement, or `None` to keep the plugin.
    pub fn use_native(
        &mut self,
        mut transform: impl FnMut(&str) -> Option<NativeTransform>,
        mut normalize: impl FnMut(&str) -> Option<NativeNormalize>,
    ) {
        for (entity, chain) in self.entity_names.iter().zip(&mut self.normalize) {
            for (i, step) in chain.iter_mut().enumerate() {
                if let Some(f) = normalize(&format!("normalize:{entity}#{}", i + 1)) {
                    *step = NormalizeStep::Native(step.plugin().clone(), f);
                }
            }
        }
        for (entity, fields) in self.entity_names.iter().zip(&mut self.transform) {
            for field in fields {
                for (i, step) in field.steps.iter_mut().enumerate() {
                    if let Some(f) =
                        transform(&format!("transform:{entity}.{}#{}", field.target, i + 1))
                    {
                        *step = TransformStep::Native(step.plugin().clone(), f);
                    }
                }
            }
        }
    }
}

impl Builder<'_> {
    fn grants(&self, connector: &ConnectorConfig, writable: bool) -> Result<Grants, ConfigError> {
        let Some(dir) = &connector.dir else {
            return Ok(Grants::default());
        };
        let path = self.loaded.resolve_path(dir.get_ref());
        let protected = self.runtime.protected().with(&self.connection_files());
        // Refused before anything is created: `dir = ".sluice/out"` must not
        // even make the directory.
        if let Some(conflict) = protected.conflict(&path) {
            return Err(self
                .loaded
                .error_at(&dir.span(), format!("`dir` {conflict}")));
        }
        if writable {
            std::fs::create_dir_all(&path).map_err(|e| {
                self.loaded.error_at(
                    &dir.span(),
                    format!("cannot create target directory {}: {e}", path.display()),
                )
            })?;
        }
        // Symbolic links are resolved once, here: the plugin is granted the
        // directory that was checked, whatever the links point at later.
        let path = resolve_path(&path);
        if let Some(conflict) = protected.conflict(&path) {
            return Err(self
                .loaded
                .error_at(&dir.span(), format!("`dir` {conflict}")));
        }
        let dir_guard = writable.then(|| {
            let quota = connector.write_quota_mb.unwrap_or(DEFAULT_WRITE_QUOTA_MB);
            Arc::new(DirGuard::new(&path, quota))
        });
        Ok(Grants {
            data_dir: Some((path, writable)),
            dir_guard,
            ..Grants::default()
        })
    }

    /// The connections file this pipeline would use and every secret file
    /// it names: no plugin may be granted them.
    fn connection_files(&self) -> ProtectedPaths {
        let mut files = ProtectedPaths::default();
        let path = self.loaded.connections_path();
        files.add(&path, "the connections file");
        if let Ok(connections) = Connections::load(&path) {
            for profile in connections.profiles.values() {
                for secret in secrets(&profile.auth) {
                    if let Secret::File(file) = secret {
                        files.add(
                            &connections.base_dir().join(file),
                            "a secret file of the connections file",
                        );
                    }
                }
            }
        }
        files
    }

    /// The connection `connector` names, opened once per plan.
    fn connection(
        &self,
        connector: &ConnectorConfig,
    ) -> Result<Option<Arc<Connection>>, ConfigError> {
        let Some(name) = &connector.connection else {
            return Ok(None);
        };
        if let Some(open) = self.opened.borrow().get(name.get_ref()) {
            return Ok(Some(open.clone()));
        }
        let path = self.loaded.connections_path();
        let connections = Connections::load(&path).map_err(|e| match e {
            ConfigError::Read { .. } => self.loaded.error_at(
                &name.span(),
                format!(
                    "connection `{}` needs a connections file, but {} cannot be read; create it or set ${CONNECTIONS_ENV}",
                    name.get_ref(),
                    path.display()
                ),
            ),
            other => other,
        })?;
        let connection = Connection::open(&connections, name.get_ref(), self.loaded.capture_http)
            .map_err(|e| self.loaded.error_at(&name.span(), e.to_string()))?;
        let connection = Arc::new(connection);
        self.opened
            .borrow_mut()
            .insert(name.get_ref().clone(), connection.clone());
        Ok(Some(connection))
    }

    /// A step's sandbox and, when the step names a stored plugin by name
    /// alone, the slot its later versions arrive in.
    #[allow(clippy::type_complexity)]
    fn sandbox_live<W: WorldBinding + 'static>(
        &self,
        role: &str,
        step: &PluginStep,
        span: &Range<usize>,
        grants: Grants,
    ) -> Result<(Sandbox<W>, Option<Arc<SwapSlot<W>>>), ConfigError> {
        let sandbox = self.sandbox::<W>(role, step, span, grants.clone())?;
        let (reference, pin) = step.reference();
        let slot = (pin.is_none() && matches!(sandbox.origin(), Origin::Store(_))).then(|| {
            SwapSlot::new(
                reference,
                role,
                *sandbox.limits(),
                Grants {
                    allow: step.allow.clone(),
                    ..grants
                },
                self.options(step),
                &sandbox.id().digest,
            )
        });
        Ok((sandbox, slot))
    }

    fn options(&self, step: &PluginStep) -> String {
        serde_json::to_string(&toml_to_json(&toml::Value::Table(step.options.clone())))
            .expect("options serialize")
    }

    fn sandbox<W: WorldBinding>(
        &self,
        role: &str,
        step: &PluginStep,
        span: &Range<usize>,
        grants: Grants,
    ) -> Result<Sandbox<W>, ConfigError> {
        let (reference, pin) = step.reference();
        let artifact = self
            .registry
            .resolve_pinned(reference, pin, W::KIND, &self.loaded.base_dir)
            .map_err(|e| self.loaded.error_at(span, e.to_string()))?;
        if let Some(pin) = pin
            && !pin.eq_ignore_ascii_case(&artifact.id.digest)
        {
            return Err(self.loaded.refused_at(
                span,
                &artifact.id,
                "digest-mismatch",
                format!(
                    "plugin `{reference}` is {} ({}), not the pinned {pin}; update the pin only if you trust the new build",
                    artifact.id.digest, artifact.origin
                ),
            ));
        }
        let options = self.options(step);
        let limits = step.limits.or(&self.loaded.pipeline.limits).resolve();
        let grants = Grants {
            allow: step.allow.clone(),
            ..grants
        };
        let mut sandbox = Sandbox::<W>::new(self.runtime, &artifact, limits, grants, options)
            .map_err(|e| {
                self.loaded
                    .refused_at(span, &artifact.id, e.code(), e.to_string())
            })?;
        sandbox.start().map_err(|f| {
            self.loaded
                .refused_at(span, &artifact.id, f.code(), format!("{role}: {f}"))
        })?;
        tracing::debug!(role, plugin = %artifact.id, "Plugin ready.");
        Ok(sandbox)
    }
}

/// Every secret an authentication method reads.
fn secrets(auth: &AuthConfig) -> Vec<&Secret> {
    match auth {
        AuthConfig::None => Vec::new(),
        AuthConfig::Bearer { token } => vec![token],
        AuthConfig::ApiKey { key, .. } => vec![key],
        AuthConfig::Basic { username, password } => vec![username, password],
        AuthConfig::Oauth2ClientCredentials {
            client_id,
            client_secret,
            ..
        } => vec![client_id, client_secret],
        AuthConfig::Oauth2RefreshToken {
            client_id,
            client_secret,
            refresh_token,
            ..
        } => vec![client_id, client_secret, refresh_token],
    }
}

/// A connector as a plugin step with `options`.
fn connector_step(c: &ConnectorConfig, options: toml::Table) -> PluginStep {
    PluginStep {
        plugin: c.plugin.get_ref().clone(),
        digest: c.digest.clone(),
        options,
        limits: c.limits.clone(),
        allow: c.allow.clone(),
    }
}

/// Connector options with the entity's options laid over them.
pub(crate) fn merge(base: &toml::Table, over: &toml::Table) -> toml::Table {
    let mut merged = base.clone();
    for (k, v) in over {
        merged.insert(k.clone(), v.clone());
    }
    merged
}

/// TOML as JSON (plugin options are written in TOML and handed to plugins
/// as JSON); dates become their TOML text.
pub fn toml_to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// The error policy of every entity and the pipeline's circuit breaker.
fn run_control(p: &crate::config::Pipeline) -> RunControl {
    let errors = p.errors();
    let policies = p
        .entities
        .iter()
        .map(|e| {
            let overrides = e.errors.as_ref().map(|o| o.get_ref());
            (e.name.get_ref().clone(), errors.policy_for(overrides))
        })
        .collect();
    RunControl::new(policies, errors.breaker())
}
