//! The sync run: lease → directory read (changes where allowed) → mappings and PBX state →
//! plan → apply → record.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::apply::{linked, Applied, Applier};
use super::apply_objects::{AppliedObjects, ObjectApplier};
use super::apply_phonebook::finish_pending_entries;
use super::connector::Connector;
use super::gather::Gathering;
use super::lease::LeaseKeeper;
use super::progress::RunProgress;
use super::queue::RunJob;
use super::read_state::{record_unchanged, settled, ReadsDone};
use super::runnable::{configured, runnable};
use super::summary::summarize;
use crate::app::TenantService;
use crate::domain::plan::PlannedCreate;
use crate::domain::plan::PlannedRemove;
use crate::domain::sip_password::SipPassword;
use crate::domain::{
    DirectoryConfig, Extension, Mapping, MappingLink, ObjectId, ObjectMapping, OrganizationId,
    Outcome, PbxEndpoint, Plan, ReadHead, RunId, RunRecord, RunSummary, Tenant, TenantId, Trigger,
};
use crate::error::{Disposition, PbxError, SyncError};
use crate::planner::{plan, PlanInput};
use crate::ports::{LeaseOutcome, Pbx, Secrets, Store, TenantSecrets};

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How long a run's lease lasts without renewal; a crashed run blocks its tenant this long.
    pub lease_ttl: Duration,
    /// PBX calls in flight at once per run.
    pub concurrency: usize,
    /// How often a run that is applying writes its counts so far to its record.
    pub progress_every: Duration,
    /// The longest a tenant goes without a full directory read (`DIRSYNC_FULL_READ_HOURS`):
    /// runs between read only what changed where the provider can say.
    pub full_read_every: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(120),
            concurrency: 8,
            progress_every: Duration::from_secs(2),
            full_read_every: Duration::from_secs(24 * 3600),
        }
    }
}

/// What a sync run read before it changes anything (see [`SyncEngine::prepare`]).
struct Prepared {
    secrets: TenantSecrets,
    pbx: Arc<dyn Pbx>,
    approved: HashSet<ObjectId>,
    gathering: Gathering,
}

/// What of a plan a run applies: its creates and updates, the removals it may do, and the
/// PBX ids of the organizations the extensions join.
pub(super) struct Actions<'p> {
    pub plan: &'p Plan,
    pub removes: &'p [PlannedRemove],
    pub organizations: &'p HashMap<ObjectId, OrganizationId>,
    /// `fields.sip_password`: each user's password, put into the bodies at send time.
    pub sip_passwords: &'p HashMap<ObjectId, SipPassword>,
    /// Where the run's counts so far go while it applies.
    pub progress: &'p RunProgress<'p>,
}

#[derive(Clone)]
pub struct SyncEngine {
    pub(super) store: Arc<dyn Store>,
    pub(super) secrets: Arc<dyn Secrets>,
    pub(super) connector: Arc<dyn Connector>,
    pub(super) options: EngineOptions,
}

impl SyncEngine {
    /// The tenant operations the engine shares with the API (its end-of-run writes).
    pub(super) fn tenants(&self) -> TenantService {
        TenantService::new(self.store.clone(), self.secrets.clone())
    }

    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<dyn Secrets>,
        connector: Arc<dyn Connector>,
        options: EngineOptions,
    ) -> Self {
        Self {
            store,
            secrets,
            connector,
            options,
        }
    }

    /// Runs one sync of the tenant under its lease: see [`SyncEngine::run_job`].
    pub async fn run(
        &self,
        tenant: &TenantId,
        run_id: RunId,
        trigger: Trigger,
    ) -> Result<RunRecord, SyncError> {
        self.run_job(&RunJob {
            tenant: tenant.clone(),
            run_id,
            trigger,
            approves: None,
            slot: None,
        })
        .await
    }

    /// Runs one job under the tenant's lease and returns the run's record: a sync, or for
    /// [`Trigger::Disconnect`] the deletion of every extension sync created. Errors are
    /// returned only when the run could not start (not configured, paused, already running);
    /// a run that starts always leaves a record, `failed` when it could not finish.
    pub async fn run_job(&self, job: &RunJob) -> Result<RunRecord, SyncError> {
        // A push's run reads after its minute's pushes (`sync::push`).
        job.wait_until_due().await;
        let (run_id, trigger) = (job.run_id.clone(), job.trigger);
        let ttl = self.options.lease_ttl;
        // The lease, the tenant and the kept head in one step. A lease taken for a job its
        // tenant refuses is given back.
        let start = self
            .store
            .begin_run(&job.tenant, &run_id, ttl, Utc::now())
            .await?;
        let head = self.kept_head(&job.tenant, job.trigger, start.head);
        let checked = match &start.tenant {
            Some(tenant) => runnable(tenant, job.trigger)
                .map(|(config, endpoint)| (tenant, config.clone(), endpoint.clone())),
            None => Err(SyncError::NotConfigured("directory")),
        };
        let (tenant, config, endpoint) = match checked {
            Ok(checked) => checked,
            Err(refused) => {
                self.give_back(&start.lease, job).await?;
                self.close_refused(job, &refused).await?;
                return Err(refused);
            }
        };
        let disconnecting = job.trigger == Trigger::Disconnect;
        match start.lease {
            LeaseOutcome::HeldBy(running) => return Err(self.busy(&tenant.id, job, running).await),
            LeaseOutcome::Acquired { expired_run } => {
                if let Some(interrupted) = expired_run.filter(|r| *r != run_id) {
                    self.close_interrupted(&tenant.id, &interrupted).await?;
                }
            }
            // A tenant is found exactly when the store could take its lease.
            LeaseOutcome::NoTenant => return Err(SyncError::NotConfigured("directory")),
        }
        let mut record = RunRecord::new(RunSummary::started(run_id.clone(), trigger, Utc::now()));
        let outcome = async {
            let keeper = LeaseKeeper::start(self.store.clone(), tenant.id.clone(), run_id.clone(), ttl);
            let executed = if disconnecting {
                self.store.put_run(&tenant.id, &record).await?;
                self.execute_disconnect(&tenant.id, &endpoint, &mut record, &keeper).await.map(|()| None)
            } else {
                // The started record is written while the run reads (nothing changes before
                // it is in); the run's last writes go out together.
                let started = record.clone();
                let (written, prepared) = tokio::join!(
                    self.store.put_run(&tenant.id, &started),
                    self.prepare(tenant, job, &config, &endpoint, head),
                );
                written?;
                match prepared {
                    Ok(prepared) => self.execute(&tenant.id, &config, prepared, &mut record, &keeper).await.map(Some),
                    Err(error) => Err(error),
                }
            };
            drop(keeper);
            let to_keep = match executed {
                Ok(to_keep) => to_keep,
                Err(error) => {
                    tracing::warn!(tenant = %tenant.id, run_id = %run_id, error = %error, "sync run failed");
                    record.summary.outcome = Outcome::Failed;
                    record.summary.summary = "Sync failed: nothing was changed".to_string();
                    record.summary.error = Some(error.to_string());
                    None
                }
            };
            record.summary.finished_at = Some(Utc::now());
            let tenants = self.tenants();
            let keep = async {
                if let Some((reads, settled)) = to_keep {
                    self.keep_reads(&tenant.id, reads, settled, &record).await;
                }
            };
            // A sync run's lease goes with its last run, beside its other last writes: the
            // next run may read the state before them (see the reads above), which is whole
            // either way. A disconnect's goes after the directory is forgotten.
            let last_run = async {
                if disconnecting {
                    Ok(tenants.record_last_run(&tenant.id, &record.summary).await?)
                } else {
                    self.store.end_run(&tenant.id, &record.summary, &run_id).await
                        .map_err(SyncError::from)
                }
            };
            let (recorded, last_run, ()) = tokio::join!(
                self.store.put_run(&tenant.id, &record),
                last_run,
                keep,
            );
            recorded?;
            last_run?;
            if disconnecting && record.summary.outcome == Outcome::Success {
                tenants.forget_directory(&tenant.id, true).await?;
            }
            Ok::<(), SyncError>(())
        }
        .await;
        // The lease goes whatever happened (again, if it went with the last writes).
        if disconnecting || outcome.is_err() {
            self.release(&tenant.id, &run_id).await;
        }
        outcome?;
        tracing::info!(
            tenant = %tenant.id, run_id = %run_id, outcome = ?record.summary.outcome,
            summary = %record.summary.summary, "sync run finished"
        );
        Ok(record)
    }

    /// Everything a sync run reads before it changes anything: the approved removals and the
    /// secrets at once, then the directory, PBX and mappings, as the kept `head` allows.
    async fn prepare(
        &self,
        tenant: &Tenant,
        job: &RunJob,
        config: &DirectoryConfig,
        endpoint: &PbxEndpoint,
        head: Option<ReadHead>,
    ) -> Result<Prepared, SyncError> {
        let id = &tenant.id;
        let approved = self.approved_removals(id, job.approves.as_ref());
        let last_run = tenant.last_run.as_ref();
        let kept = self.kept_reads(id, head, config, endpoint, last_run, job.approves.is_some());
        let secrets = async {
            let secrets = self.tenant_secrets(id).await?;
            self.with_sip_hash_key(id, config, secrets).await
        };
        let (approved, secrets) = tokio::try_join!(approved, secrets)?;
        let pbx = self.connector.pbx(endpoint, &secrets)?;
        let gathering = self.gather_reads(id, config, &secrets, &pbx, kept).await?;
        Ok(Prepared {
            secrets,
            pbx,
            approved,
            gathering,
        })
    }

    /// Everything from planning to applying; returns what the run keeps of its reads and
    /// whether it left nothing to do. An `Err` means nothing was changed on the PBX
    /// (failures after the first change are recorded per action instead).
    async fn execute(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        prepared: Prepared,
        record: &mut RunRecord,
        keeper: &LeaseKeeper,
    ) -> Result<(ReadsDone, bool), SyncError> {
        let Prepared {
            secrets,
            pbx,
            approved,
            gathering,
        } = prepared;
        let approved_removals = &approved;
        let mut gathered = match gathering {
            Gathering::Planned(gathered) => *gathered,
            Gathering::Unchanged(reads) => {
                record_unchanged(record, &reads);
                return Ok((*reads, true));
            }
        };
        let mappings = std::mem::take(&mut gathered.mappings);
        gathered.mappings = self
            .reconcile_pending(tenant, pbx.as_ref(), mappings, &mut gathered.extensions)
            .await?;
        self.resolve_photos(tenant, config, &secrets, &mut gathered, true)
            .await;
        let mut objects = std::mem::take(&mut gathered.objects);
        finish_pending_entries(
            tenant,
            self.store.as_ref(),
            pbx.as_ref(),
            &mut objects.mappings,
            &mut objects.phonebook,
        )
        .await?;
        let plan = plan(&PlanInput {
            snapshot: &gathered.snapshot,
            mappings: &gathered.mappings,
            extensions: &gathered.extensions,
            config,
            approved_removals,
            object_mappings: &objects.mappings,
            organizations: &objects.organizations,
            groups: &objects.groups,
            phonebook: &objects.phonebook,
        });
        let removals = !plan.removals_held;
        let removes: &[_] = if removals { &plan.removes } else { &[] };
        let object_applier = ObjectApplier {
            tenant,
            store: self.store.as_ref(),
            pbx: pbx.as_ref(),
            mappings: &objects.mappings,
            stop: &keeper.lost,
        };
        let mut applied_objects = AppliedObjects::default();
        // Organizations first (extensions join them), groups after the extensions they hold,
        // organizations removed last, once their extensions have left.
        let organizations = object_applier
            .organizations(&plan.organizations, &mut applied_objects)
            .await;
        let sip_passwords: HashMap<ObjectId, SipPassword> = gathered
            .snapshot
            .users
            .iter()
            .filter_map(|u| Some((u.object_id.clone(), u.sip_password.clone()?)))
            .collect();
        let progress = self.progress(tenant, record);
        let actions = Actions {
            plan: &plan,
            removes,
            organizations: &organizations,
            sip_passwords: &sip_passwords,
            progress: &progress,
        };
        let mut applied = self
            .apply(tenant, pbx.as_ref(), gathered.mappings, keeper, actions)
            .await;
        let directory_of = (config, &secrets);
        self.write_back(
            tenant,
            directory_of,
            &plan,
            &gathered.snapshot,
            &mut applied,
            keeper,
        )
        .await;
        let photos = super::apply_avatars::AvatarContext {
            tenant,
            config,
            secrets: &secrets,
            pbx: pbx.as_ref(),
            plan: &plan,
            users: &gathered.snapshot.users,
            stop: &keeper.lost,
        };
        self.apply_avatars(photos, &mut applied).await;
        object_applier
            .groups(
                &plan.extension_groups,
                &applied.created_ids,
                removals,
                &mut applied_objects,
            )
            .await;
        // After the extensions: a user's entries wait for the extension's create. The planner
        // left the entries of users whose removal is held alone.
        let planned_users = plan.creates.iter().map(|c| &c.object_id).collect();
        object_applier
            .phonebook(
                &plan.phonebook,
                &planned_users,
                &applied.created_ids,
                &mut applied_objects,
            )
            .await;
        if removals {
            object_applier
                .remove_organizations(&plan.organizations.removes, &mut applied_objects)
                .await;
        }
        let settled = settled(
            &plan,
            &applied,
            &applied_objects,
            &objects.mappings,
            &gathered.snapshot,
        );
        let synced = self.objects_after(tenant, &plan, objects.mappings).await;
        summarize(record, plan, applied, applied_objects, &synced, keeper);
        record.summary.reads = Some(gathered.reads.reads);
        Ok((gathered.reads, settled))
    }

    /// The organization and group mappings after the run, for its counts: those read before
    /// it when the plan changed none (most runs: no second read), else read again. Changes
    /// are made by now, so a failed read only leaves the counts as they were before.
    async fn objects_after(
        &self,
        tenant: &TenantId,
        plan: &Plan,
        before: Vec<ObjectMapping>,
    ) -> Vec<ObjectMapping> {
        if plan.organizations.is_noop()
            && plan.extension_groups.is_noop()
            && plan.phonebook.is_noop()
        {
            return before;
        }
        match self.store.all_object_mappings(tenant).await {
            Ok(after) => after,
            Err(error) => {
                tracing::warn!(tenant = %tenant, error = %error, "object mappings not read for the counts");
                before
            }
        }
    }

    /// Applies the plan's creates and updates and the given removals.
    pub(super) async fn apply(
        &self,
        tenant: &TenantId,
        pbx: &dyn Pbx,
        mappings: Vec<Mapping>,
        keeper: &LeaseKeeper,
        actions: Actions<'_>,
    ) -> Applied {
        let Actions {
            plan,
            removes,
            organizations,
            sip_passwords,
            progress,
        } = actions;
        // Only updates and removals look their mapping up: a run that changes little (most
        // runs) indexes little.
        let touched: HashSet<&ObjectId> = plan
            .updates
            .iter()
            .map(|u| &u.object_id)
            .chain(removes.iter().map(|r| &r.object_id))
            .collect();
        let mappings: HashMap<_, _> = mappings
            .into_iter()
            .filter(|m| touched.contains(&m.object_id))
            .map(|m| (m.object_id.clone(), m))
            .collect();
        let applier = Applier {
            tenant,
            store: self.store.as_ref(),
            pbx,
            mappings: &mappings,
            organizations,
            sip_passwords,
            progress,
            concurrency: self.options.concurrency,
            stop: keeper.lost.clone(),
        };
        // Creates carry the PBX id of the organization they join, known only by now.
        let creates: Vec<PlannedCreate> = plan
            .creates
            .iter()
            .map(|create| {
                let mut create = create.clone();
                create.request.organization_id = create
                    .organization_source
                    .as_ref()
                    .and_then(|source| organizations.get(source).cloned());
                create
            })
            .collect();
        applier.apply(&creates, &plan.updates, removes).await
    }

    /// The removals of the held run `approves`, which an admin approved.
    async fn approved_removals(
        &self,
        tenant: &TenantId,
        approves: Option<&RunId>,
    ) -> Result<HashSet<ObjectId>, SyncError> {
        let Some(held) = approves else {
            return Ok(HashSet::new());
        };
        let run = self.store.get_run(tenant, held).await?;
        Ok(run
            .and_then(|r| r.plan)
            .map(|p| {
                let objects = p
                    .organizations
                    .removes
                    .into_iter()
                    .chain(p.extension_groups.removes)
                    .map(|r| r.object_id);
                p.removes
                    .into_iter()
                    .map(|r| r.object_id)
                    .chain(objects)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Finishes creates an earlier run started but did not see answered: the same request with
    /// the same idempotency key returns the extension if the first attempt made it. Returns the
    /// mappings with every pending one linked or dropped; newly seen extensions join `extensions`.
    pub(super) async fn reconcile_pending(
        &self,
        tenant: &TenantId,
        pbx: &dyn Pbx,
        mappings: Vec<Mapping>,
        extensions: &mut Vec<Extension>,
    ) -> Result<Vec<Mapping>, SyncError> {
        let mut kept = Vec::with_capacity(mappings.len());
        for mapping in mappings {
            let MappingLink::Pending {
                idempotency_key,
                request,
            } = &mapping.link
            else {
                kept.push(mapping);
                continue;
            };
            match pbx.create_extension(request, idempotency_key).await {
                Ok(extension) => {
                    let mapping = linked(mapping, &extension, false);
                    self.store
                        .put_mappings(tenant, std::slice::from_ref(&mapping))
                        .await?;
                    kept.push(mapping);
                    if !extensions.iter().any(|e| e.id == extension.id) {
                        extensions.push(extension);
                    }
                }
                // Refused, so the first attempt created nothing either; or it did and the
                // extension was deleted since (key reused). Either way the planner decides afresh.
                Err(
                    PbxError::Conflict(_)
                    | PbxError::LimitReached
                    | PbxError::Rejected(_)
                    | PbxError::KeyReused,
                ) => {
                    self.store
                        .delete_mapping(tenant, &mapping.object_id)
                        .await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(kept)
    }

    /// The stored tenant with what its runs and previews read with (see [`configured`]).
    pub(super) async fn configured(
        &self,
        tenant: &TenantId,
    ) -> Result<(Tenant, DirectoryConfig, PbxEndpoint), SyncError> {
        let tenant = self
            .store
            .get_tenant(tenant)
            .await?
            .ok_or(SyncError::NotConfigured("directory"))?;
        let (config, endpoint) = configured(&tenant)?;
        let (config, endpoint) = (config.clone(), endpoint.clone());
        Ok((tenant, config, endpoint))
    }

    /// Releases the run's lease; a failed release only delays the next run to its TTL.
    async fn release(&self, tenant: &TenantId, run_id: &RunId) {
        if let Err(e) = self.store.release_lease(tenant, run_id).await {
            tracing::warn!(tenant = %tenant, run_id = %run_id, error = %e, "lease release failed");
        }
    }

    /// Gives back the lease the start of a job that does not run took.
    async fn give_back(&self, lease: &LeaseOutcome, job: &RunJob) -> Result<(), SyncError> {
        if matches!(lease, LeaseOutcome::Acquired { .. }) {
            self.store.release_lease(&job.tenant, &job.run_id).await?;
        }
        Ok(())
    }

    /// A job that will never run (its tenant refuses it for good) closes the record its start
    /// wrote and frees the lease its start took, instead of leaving them to expire.
    async fn close_refused(&self, job: &RunJob, refused: &SyncError) -> Result<(), SyncError> {
        if refused.disposition() == Disposition::Retry {
            return Ok(());
        }
        if let Some(mut run) = self.store.get_run(&job.tenant, &job.run_id).await? {
            if run.summary.outcome == Outcome::Running {
                run.summary.outcome = Outcome::Failed;
                run.summary.finished_at = Some(Utc::now());
                run.summary.summary = "Sync not run: nothing was changed".to_string();
                run.summary.error = Some(refused.to_string());
                self.store.put_run(&job.tenant, &run).await?;
            }
        }
        self.store.release_lease(&job.tenant, &job.run_id).await?;
        Ok(())
    }

    pub(super) async fn tenant_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<TenantSecrets, SyncError> {
        self.secrets
            .get(tenant)
            .await?
            .ok_or(SyncError::MissingCredentials("tenant"))
    }

    /// Gives the run whose expired lease this run took over an honest end: `interrupted`, with
    /// the counts its mappings show. Called before this run changes any mapping.
    pub async fn close_interrupted(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
    ) -> Result<(), SyncError> {
        let Some(mut run) = self.store.get_run(tenant, run_id).await? else {
            return Ok(());
        };
        if run.summary.outcome != Outcome::Running {
            return Ok(());
        }
        let mappings = self.store.all_mappings(tenant).await?;
        run.summary.close_interrupted(&mappings, Utc::now());
        self.store.put_run(tenant, &run).await?;
        Ok(())
    }
}
