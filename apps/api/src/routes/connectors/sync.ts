import { isoSeconds } from '@scaidrive/core';
import type { Router } from 'express';
import type { ConnectorKind } from '../../drivers/types.js';
import { fileState, syncJob } from '../../serializers/index.js';
import {
  BASES,
  actorOf,
  bool,
  loadConnector,
  page,
  str,
  type ConnectorServices,
} from './context.js';

/** /test, /sync, /jobs, /jobs/{id}, /jobs/{id}/cancel, /file-states, /file-states/{id}/resolve */
export function mountSync(router: Router, kind: ConnectorKind, s: ConnectorServices): void {
  const base = `${BASES[kind]}/:connector_id`;
  router.post(`${base}/test`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    res.json(await s.tests.run(c, req.log));
  });
  router.post(`${base}/sync`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    const r = await s.syncRequests.request(actorOf(req), c, {
      fullSync: bool(req.query.full_sync),
      confirmDeletes: bool(req.query.confirm_deletes),
    });
    res
      .status(202)
      .location(`/api/v1${BASES[kind]}/${c.id}/jobs/${r.jobId}`)
      .json({ job_id: r.jobId, started_at: isoSeconds(r.startedAt), full_sync: r.fullSync });
  });
  router.get(`${base}/jobs`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    const status = str(req.query.status);
    const { rows, total } = await s.jobs.list(c, { ...page(req), ...(status ? { status } : {}) });
    res.json({ jobs: rows.map((j) => syncJob(j)), total });
  });
  router.get(`${base}/jobs/:job_id`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    res.json(syncJob(await s.jobs.get(c, String(req.params.job_id)), { withSummary: true }));
  });
  router.post(`${base}/jobs/:job_id/cancel`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    res.json(syncJob(await s.syncRequests.cancel(actorOf(req), c, String(req.params.job_id))));
  });
  router.get(`${base}/file-states`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    const status = str(req.query.status);
    const { rows, total } = await s.fileStates.list(c, {
      ...page(req),
      ...(status ? { status } : {}),
    });
    res.json({ file_states: rows.map(fileState), total });
  });
  router.post(`${base}/file-states/:file_state_id/resolve`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    const r = await s.fileStates.resolve(
      actorOf(req),
      c,
      String(req.params.file_state_id),
      req.body.resolution,
    );
    res.json({ file_state: fileState(r.fileState), job_id: r.jobId });
  });
}
