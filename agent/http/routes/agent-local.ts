import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { HttpDeps, RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { readJson } from '../body.js';
import { decode, S } from '../decode.js';
import { parseCheckDefinition, parseServiceDefinition } from '../definitions.js';
import { BadRequestError, HttpError, NotFoundError } from '../errors.js';
import { queryFlag, queryParam } from '../query.js';
import { compileFilter, FilterError } from '../../../catalog/filter.js';
import { LocalStateError } from '../../local/state.js';
import { LOCAL_CHECK_STATUSES, type LocalCheck, type LocalCheckStatus, type LocalService } from '../../local/types.js';
import { TtlCheckError } from '../../checks/ttl.js';

/** Consul's AgentService JSON (Kind only when set). */
function agentService(s: LocalService, datacenter: string): Record<string, unknown> {
  return {
    ...(s.Kind ? { Kind: s.Kind } : {}),
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Meta: s.Meta,
    Port: s.Port,
    Address: s.Address,
    TaggedAddresses: s.TaggedAddresses,
    Weights: s.Weights,
    EnableTagOverride: s.EnableTagOverride,
    Datacenter: datacenter,
  };
}

/** Consul's AgentCheck JSON. */
function agentCheck(c: LocalCheck, node: string): Record<string, unknown> {
  return {
    Node: node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags,
    Type: c.Type,
    Definition: c.Definition,
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

function localOf(deps: HttpDeps): NonNullable<HttpDeps['local']> {
  if (deps.local === undefined) throw new HttpError(500, 'agent: local state not available on this agent');
  return deps.local;
}

function localFilter(ctx: Context): (v: unknown) => boolean {
  const src = queryParam(ctx, 'filter');
  if (src === undefined || src === '') return () => true;
  try {
    return compileFilter(src);
  } catch (e) {
    if (e instanceof FilterError) throw new BadRequestError(`Failed to create boolean expression evaluator: ${e.message}`);
    throw e;
  }
}

function asBadRequest<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LocalStateError) throw new BadRequestError(e.message);
    throw e;
  }
}

/** Consul's answer to a script check registered over HTTP when `enable_script_checks` is off. */
export const REMOTE_SCRIPTS_DISABLED = "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true";

function refuseScripts(deps: HttpDeps, checks: LocalCheck[]): void {
  if (!deps.config.enableScriptChecks && checks.some((c) => c.Type === 'script')) throw new BadRequestError(REMOTE_SCRIPTS_DISABLED);
}

const UPDATE_SPEC = S.object({ Status: S.string, Output: S.string });

/**
 * `/v1/agent/service*` and `/v1/agent/check*`: services and checks registered on this agent.
 * Writes change local state at once and return; anti-entropy carries them to the catalog.
 */
export const agentLocalRoutes: RouteModule = (router, deps) => {
  const dc = deps.config.datacenter;
  const node = deps.config.nodeName;

  router.get('/v1/agent/services', (ctx) => {
    const f = localFilter(ctx);
    const out: Record<string, unknown> = {};
    for (const s of localOf(deps).state.services()) {
      const v = agentService(s, dc);
      if (f(v)) out[s.ID] = v;
    }
    sendJson(ctx, out);
  });

  router.get('/v1/agent/service/:id', (ctx) => {
    const id = ctx.params['id']!;
    const s = localOf(deps).state.service(id);
    if (s === undefined) throw new NotFoundError(`unknown service ID: ${id}`);
    const v = agentService(s, dc);
    sendJson(ctx, { ...v, ContentHash: createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16) });
  });

  router.put('/v1/agent/service/register', async (ctx) => {
    const { service, checks } = parseServiceDefinition(await readJson(ctx));
    refuseScripts(deps, checks);
    const replace = queryFlag(ctx, 'replace-existing-checks');
    asBadRequest(() => localOf(deps).state.addService(service, checks, { replaceExistingChecks: replace }));
    ctx.status = 200;
    ctx.body = '';
  });

  router.put('/v1/agent/service/deregister/:id', (ctx) => {
    const id = ctx.params['id']!;
    if (!localOf(deps).state.removeService(id)) {
      throw new NotFoundError(`Unknown service ID "${id}". Ensure you are using the service ID, not the service name.`);
    }
    ctx.status = 200;
    ctx.body = '';
  });

  router.get('/v1/agent/checks', (ctx) => {
    const f = localFilter(ctx);
    const out: Record<string, unknown> = {};
    for (const c of localOf(deps).state.checks()) {
      const v = agentCheck(c, node);
      if (f(v)) out[c.CheckID] = v;
    }
    sendJson(ctx, out);
  });

  router.put('/v1/agent/check/register', async (ctx) => {
    const check = parseCheckDefinition(await readJson(ctx));
    refuseScripts(deps, [check]);
    asBadRequest(() => localOf(deps).state.addCheck(check));
    ctx.status = 200;
    ctx.body = '';
  });

  router.put('/v1/agent/check/deregister/:id', (ctx) => {
    const id = ctx.params['id']!;
    if (!localOf(deps).state.removeCheck(id)) throw new NotFoundError(`Unknown check ID "${id}". Ensure you are using the check ID, not the check name.`);
    ctx.status = 200;
    ctx.body = '';
  });

  const report = (ctx: Context, id: string, status: LocalCheckStatus, output: string): void => {
    try {
      localOf(deps).ttl.update(id, status, output);
    } catch (e) {
      if (e instanceof TtlCheckError) {
        if (e.reason === 'unknown') throw new NotFoundError(e.message);
        throw new BadRequestError(e.message);
      }
      throw e;
    }
    ctx.status = 200;
    ctx.body = '';
  };
  for (const [verb, status] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
    router.put(`/v1/agent/check/${verb}/:id`, (ctx) => report(ctx, ctx.params['id']!, status, queryParam(ctx, 'note') ?? ''));
  }

  router.put('/v1/agent/check/update/:id', async (ctx) => {
    const raw = await readJson(ctx);
    if (raw === undefined) throw new BadRequestError('Request decode failed: empty body');
    const u = decode(raw, UPDATE_SPEC) as { Status?: string; Output?: string };
    if (!LOCAL_CHECK_STATUSES.includes(u.Status as LocalCheckStatus)) {
      throw new BadRequestError(`Invalid check status: "${u.Status ?? ''}"`);
    }
    report(ctx, ctx.params['id']!, u.Status as LocalCheckStatus, u.Output ?? '');
  });
};
