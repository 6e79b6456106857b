//! Preview, sync now, status, runs and approval.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use super::{page_limit, RunStarted};
use crate::api::auth::TenantAccess;
use crate::api::body::QueryParams;
use crate::api::schemas::{PlanSchema, RunPageSchema, RunRecordSchema, SyncStatusSchema};
use crate::api::{ApiError, ApiState};
use crate::domain::{
    MappingLink, ObjectKind, Outcome, Plan, RunId, RunRecord, RunSummary, TenantState, Trigger,
};
use crate::error::SyncError;
use crate::ports::LeaseOutcome;
use crate::sync::{runnable, RunJob};

/// `POST .../sync/preview`: the plan a sync would apply now; changes nothing.
#[utoipa::path(post, path = "/v1/tenants/{t}/sync/preview", tag = "sync",
    params(("t" = String, Path, description = "tenant id")),
    responses((status = 200, description = "the plan (CONTRACTS section 4)", body = PlanSchema),
        (status = 404, body = crate::api::ErrorBody), (status = 409, body = crate::api::ErrorBody), (status = 503, body = crate::api::ErrorBody)))]
pub async fn preview(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
) -> Result<Json<Plan>, ApiError> {
    Ok(Json(state.engine.preview(&id).await?))
}

/// `POST .../sync`: starts a sync now through the same queue and worker as scheduled runs.
#[utoipa::path(post, path = "/v1/tenants/{t}/sync", tag = "sync",
    params(("t" = String, Path, description = "tenant id")),
    responses((status = 202, description = "the run, queued", body = RunStarted), (status = 409, body = crate::api::ErrorBody)))]
pub async fn sync_now(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    start(&state, RunJob::new(id, Trigger::Manual)).await
}

/// Queues `job` after the checks that would make its run refuse to start.
async fn start(state: &ApiState, job: RunJob) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let tenant = state
        .store
        .get_tenant(&job.tenant)
        .await?
        .ok_or(SyncError::NotConfigured("directory"))?;
    runnable(&tenant, job.trigger)?;
    claim(state, &job).await?;
    queue(state, job).await
}

/// How long a run answered 202 holds its tenant's lease before its worker takes the lease over
/// (a queue delivers within seconds; the worker's redeliveries of a busy tenant fit in it).
const CLAIM_TTL: Duration = Duration::from_secs(120);

/// Takes the tenant's lease for the run of `job` before it is queued, so that every other start
/// answers 409 with this run until it ends, in every process (the worker's acquire of the same
/// run id is re-entrant). A run whose lease had expired (its worker stopped) is closed as such.
pub(super) async fn claim(state: &ApiState, job: &RunJob) -> Result<(), ApiError> {
    match state
        .store
        .acquire_lease(&job.tenant, &job.run_id, CLAIM_TTL, Utc::now())
        .await?
    {
        LeaseOutcome::HeldBy(running) => Err(SyncError::AlreadyRunning(running).into()),
        // The tenant went since it was read.
        LeaseOutcome::NoTenant => Err(SyncError::NotConfigured("directory").into()),
        LeaseOutcome::Acquired { expired_run } => {
            if let Some(stopped) = expired_run {
                state
                    .engine
                    .close_interrupted(&job.tenant, &stopped)
                    .await?;
            }
            Ok(())
        }
    }
}

/// Writes the record of a claimed run, so that the id answered 202 resolves at once, and queues
/// the job. A job the queue refuses closes its record as failed and frees the lease.
pub(super) async fn queue(
    state: &ApiState,
    job: RunJob,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let (tenant, run_id) = (job.tenant.clone(), job.run_id.clone());
    let mut record = RunRecord::new(RunSummary::started(run_id.clone(), job.trigger, Utc::now()));
    record.summary.summary = crate::domain::QUEUED_SUMMARY.to_string();
    state.store.put_run(&tenant, &record).await?;
    if let Err(error) = state.queue.enqueue(job).await {
        record.summary.outcome = Outcome::Failed;
        record.summary.finished_at = Some(Utc::now());
        record.summary.summary = "Sync failed: nothing was changed".to_string();
        record.summary.error = Some("the run could not be queued".to_string());
        state.store.put_run(&tenant, &record).await?;
        state.store.release_lease(&tenant, &run_id).await?;
        return Err(error.into());
    }
    Ok((StatusCode::ACCEPTED, Json(RunStarted { run_id })))
}

/// `GET .../sync/status`.
#[utoipa::path(get, path = "/v1/tenants/{t}/sync/status", tag = "sync",
    params(("t" = String, Path, description = "tenant id")),
    responses((status = 200, description = "the tenant's sync status", body = SyncStatusSchema),
        (status = 404, body = crate::api::ErrorBody)))]
pub async fn status(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
) -> Result<Json<Value>, ApiError> {
    let tenant = state
        .store
        .get_tenant(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this tenant has no configuration".into()))?;
    let synced = state
        .store
        .all_mappings(&id)
        .await?
        .iter()
        .filter(|m| matches!(m.link, MappingLink::Linked { .. }))
        .count();
    let objects = state.store.all_object_mappings(&id).await?;
    let linked = |kind| {
        objects
            .iter()
            .filter(|m| m.kind == kind && m.pbx_id().is_some())
            .count()
    };
    let directory = tenant.directory.as_ref();
    Ok(Json(json!({
        "provider": directory.map(|d| d.provider.kind()),
        "server": directory.map(|d| d.provider.server()),
        "state": tenant.state,
        "synced_extensions": synced,
        "synced_organizations": linked(ObjectKind::Organization),
        "synced_extension_groups": linked(ObjectKind::Group),
        "record_limit": directory.map(|d| d.record_limit),
        "last_sync": tenant.last_run,
        "next_sync_at": tenant.next_sync_at.filter(|_| tenant.state == TenantState::Active),
    })))
}

/// `GET .../sync/runs?limit=&cursor=`: run summaries, newest first.
#[utoipa::path(get, path = "/v1/tenants/{t}/sync/runs", tag = "sync",
    params(("t" = String, Path, description = "tenant id"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 100, description = "default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "a page of run summaries", body = RunPageSchema)))]
pub async fn list(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    QueryParams(query): QueryParams,
) -> Result<Json<Value>, ApiError> {
    let (limit, cursor) = paging(&query)?;
    let page = state.store.list_runs(&id, limit, cursor).await?;
    Ok(Json(
        json!({"runs": page.items, "next_cursor": page.next_cursor}),
    ))
}

/// `limit` and `cursor` of a listing's query.
pub fn paging(query: &HashMap<String, String>) -> Result<(usize, Option<&str>), ApiError> {
    let limit = query
        .get("limit")
        .map(|l| l.parse::<usize>())
        .transpose()
        .map_err(|_| ApiError::field("limit", "must be a whole number"))?;
    Ok((page_limit(limit)?, query.get("cursor").map(String::as_str)))
}

/// `GET .../sync/runs/{run_id}`: one run in full.
#[utoipa::path(get, path = "/v1/tenants/{t}/sync/runs/{run_id}", tag = "sync",
    params(("t" = String, Path, description = "tenant id"), ("run_id" = String, Path, description = "run id")),
    responses((status = 200, description = "the run in full", body = RunRecordSchema), (status = 404, body = crate::api::ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    Path((_, run_id)): Path<(String, String)>,
) -> Result<Json<RunRecord>, ApiError> {
    Ok(Json(find_run(&state, &id, &run_id).await?))
}

async fn find_run(
    state: &ApiState,
    tenant: &crate::domain::TenantId,
    run_id: &str,
) -> Result<RunRecord, ApiError> {
    let not_found = || ApiError::NotFound("no such run".into());
    let run_id = RunId::parse(run_id).map_err(|_| not_found())?;
    state
        .store
        .get_run(tenant, &run_id)
        .await?
        .ok_or_else(not_found)
}

/// `POST .../sync/runs/{run_id}/approve`: a new run applies the held run's removals that are
/// still planned. A run that is not held, or was approved already, is a 409.
#[utoipa::path(post, path = "/v1/tenants/{t}/sync/runs/{run_id}/approve", tag = "sync",
    params(("t" = String, Path, description = "tenant id"), ("run_id" = String, Path, description = "the held run")),
    responses((status = 202, description = "the approving run, queued", body = RunStarted),
        (status = 404, body = crate::api::ErrorBody), (status = 409, body = crate::api::ErrorBody)))]
pub async fn approve(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    Path((_, run_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let mut held = find_run(&state, &id, &run_id).await?;
    if held.summary.outcome != Outcome::Held {
        return Err(ApiError::Conflict {
            code: "not_held",
            message: "only a run held by the deletion guard can be approved".into(),
            run_id: None,
        });
    }
    if let Some(approving) = held.approved_by.clone() {
        return Err(ApiError::Conflict {
            code: "already_approved",
            message: "this run's removals were approved already".into(),
            run_id: Some(approving),
        });
    }
    let mut job = RunJob::new(id.clone(), Trigger::Manual);
    job.approves = Some(held.summary.run_id.clone());
    let started = start(&state, job).await?;
    held.approved_by = Some(started.1.run_id.clone());
    state.store.put_run(&id, &held).await?;
    Ok(started)
}
