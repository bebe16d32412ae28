/**
 * Commands for the data-driven interaction tests (see testdata/*.txt). The cluster is the
 * test harness; each command prints what happened, in a stable textual form.
 */
import { ConfChangeType, EntryType, type Entry } from '../../../catalog/raft/types.js';
import type { Message } from '../../../catalog/raft/core/messages.js';
import type { Ready } from '../../../catalog/raft/core/raft.js';
import { decodeConfChange } from '../../../catalog/raft/core/confchange.js';
import { Cluster, dec, enc, type CoreOptions } from './harness.js';
import type { Directive } from './datadriven.js';

const typeName = ['Normal', 'ConfChange', 'Noop'];
const ccName = ['add-learner', 'promote', 'remove'];

export function fmtEntry(e: Entry): string {
  let s = `${e.term}/${e.index} ${typeName[e.type] ?? e.type}`;
  if (e.type === EntryType.Normal) s += ` "${dec(e.data)}"`;
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    s += ` ${ccName[cc.type]} ${cc.nodeId}`;
  }
  return s;
}

export function fmtMsg(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  if (m.type === 'MsgApp' || m.type === 'MsgPreVote' || m.type === 'MsgVote') s += ` Log:${m.logTerm}/${m.index}`;
  if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat') s += ` Commit:${m.commit}`;
  if (m.type === 'MsgAppResp' || m.type === 'MsgReadIndexResp') s += ` Index:${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint ?? 0})`;
  if (m.context) s += ` Context:${m.context}`;
  if (m.entries && m.entries.length > 0) s += ` Entries:[${m.entries.map(fmtEntry).join(', ')}]`;
  if (m.snapshot) s += ` Snapshot:${m.snapshot.meta.term}/${m.snapshot.meta.index} voters=${m.snapshot.meta.conf.voters.join(',')} learners=${m.snapshot.meta.conf.learners.join(',')}`;
  return s;
}

function fmtReady(id: string, rd: Ready): string[] {
  const out = [`> ${id} handling Ready`];
  if (rd.softState) out.push(`  Lead:${rd.softState.leader || '-'} State:${rd.softState.role}`);
  if (rd.earlyMessages.length) out.push('  EarlyMessages:', ...rd.earlyMessages.map((m) => `  ${fmtMsg(m)}`));
  if (rd.hardState) out.push(`  HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote || '-'} Commit:${rd.hardState.commit}`);
  if (rd.snapshot) out.push(`  Snapshot ${rd.snapshot.meta.term}/${rd.snapshot.meta.index}`);
  if (rd.entries.length) out.push('  Entries:', ...rd.entries.map((e) => `  ${fmtEntry(e)}`));
  if (rd.committedEntries.length) out.push('  CommittedEntries:', ...rd.committedEntries.map((e) => `  ${fmtEntry(e)}`));
  if (rd.readStates.length) out.push(...rd.readStates.map((r) => `  ReadState ${r.context}@${r.index}`));
  if (rd.messages.length) out.push('  Messages:', ...rd.messages.map((m) => `  ${fmtMsg(m)}`));
  return out;
}

export class Interaction {
  c: Cluster | undefined;
  private out: string[] = [];
  private electionTicks = 10;
  private heartbeatTicks = 1;

  private cluster(): Cluster {
    if (!this.c) throw new Error('add-nodes first');
    return this.c;
  }

  private nodes(d: Directive): string[] {
    return d.args.length ? d.args : this.cluster().ids();
  }

  private processReady(id: string): boolean {
    const c = this.cluster();
    if (!c.node(id).up || !c.core(id).hasReady()) return false;
    c.handleReady(id);
    return true;
  }

  private deliver(ids: string[], drop = false): number {
    const c = this.cluster();
    const keep: Message[] = [];
    const take: Message[] = [];
    for (const m of c.queue) (ids.includes(m.to) ? take : keep).push(m);
    c.queue = keep;
    for (const m of take) {
      if (drop || !c.canTalk(m.from, m.to) || !c.node(m.to).up) {
        this.out.push(`dropped: ${fmtMsg(m)}`);
        continue;
      }
      this.out.push(fmtMsg(m));
      c.deliver(m);
    }
    return take.length;
  }

  run(d: Directive): string {
    this.out = [];
    const c = this.c;
    if (c) c.onReady = (n, rd) => this.out.push(...fmtReady(n.id, rd));
    this.exec(d);
    return this.out.join('\n');
  }

  private exec(d: Directive): void {
    const a = d.args;
    const num = (k: string, def: number): number => Number(d.kv.get(k) ?? def);
    switch (d.cmd) {
      case 'add-nodes': {
        const n = Number(a[0]);
        if (!this.c) {
          this.electionTicks = num('election', 10);
          this.heartbeatTicks = num('heartbeat', 1);
          const core: CoreOptions = {
            electionTicks: num('election', 10),
            heartbeatTicks: num('heartbeat', 1),
            preVote: d.kv.get('prevote') !== 'false',
            checkQuorum: d.kv.get('checkquorum') !== 'false',
            maxEntriesPerMsg: num('max-entries', 512),
            maxInflight: num('max-inflight', 64),
          };
          this.c = new Cluster(Array.from({ length: n }, (_, i) => `n${i + 1}`), {
            seed: num('seed', 1),
            core,
            snapshotThreshold: num('snapshot', 0),
            trailingLogs: num('trailing', 0),
          });
          this.c.onReady = (nd, rd) => this.out.push(...fmtReady(nd.id, rd));
        } else {
          const start = this.c.ids().length;
          for (let i = 1; i <= n; i++) this.c.addEmpty(`n${start + i}`);
        }
        this.status(this.cluster().ids());
        return;
      }
      case 'campaign':
        this.cluster().core(a[0] as string).campaign(d.kv.get('force') === 'true');
        return;
      case 'tick-heartbeat':
      case 'tick-election': {
        for (const id of a) {
          const ticks = d.cmd === 'tick-heartbeat' ? this.heartbeatTicks : 2 * this.electionTicks;
          for (let i = 0; i < ticks; i++) this.cluster().core(id).tick();
        }
        return;
      }
      case 'propose': {
        const r = this.cluster().core(a[0] as string).propose(enc(a[1] ?? ''));
        this.out.push(r ? `proposed at ${r.term}/${r.index}` : 'forwarded');
        return;
      }
      case 'propose-conf-change': {
        const type = { 'add-learner': ConfChangeType.AddLearner, promote: ConfChangeType.PromoteVoter, remove: ConfChangeType.RemoveNode }[a[1] as string];
        if (type === undefined) throw new Error(`unknown conf change ${a[1]}`);
        const r = this.cluster().core(a[0] as string).proposeConfChange({ type, nodeId: a[2] as string });
        this.out.push(`proposed at ${r.term}/${r.index}`);
        return;
      }
      case 'transfer-leader':
        this.cluster().core(a[0] as string).transferLeader(a[1] as string);
        return;
      case 'read-index':
        this.cluster().core(a[0] as string).readIndex(a[1] as string);
        return;
      case 'process-ready':
        for (const id of this.nodes(d)) this.processReady(id);
        return;
      case 'deliver-msgs':
        this.deliver(this.nodes(d), d.kv.get('drop') === 'true');
        return;
      case 'stabilize': {
        const ids = this.nodes(d);
        for (let round = 0; round < 100; round++) {
          let any = false;
          for (const id of ids) if (this.processReady(id)) any = true;
          if (this.deliver(ids) > 0) any = true;
          if (!any) return;
        }
        throw new Error('stabilize: no quiescence after 100 rounds');
      }
      case 'partition': {
        this.cluster().partition(a.map((g) => g.split(',')));
        return;
      }
      case 'isolate':
        this.cluster().isolate(a[0] as string);
        return;
      case 'heal':
        this.cluster().heal();
        return;
      case 'crash':
        this.cluster().crash(a[0] as string);
        return;
      case 'restart': {
        const c = this.cluster();
        c.node(a[0] as string).boot();
        c.node(a[0] as string).up = true;
        return;
      }
      case 'status':
        this.status(this.nodes(d));
        return;
      case 'raft-log':
        for (const id of this.nodes(d)) {
          const l = this.cluster().core(id).log;
          const ents = l.slice(l.firstIndex(), l.lastIndex() + 1);
          this.out.push(`${id}: first=${l.firstIndex()} commit=${l.committed} applied=${l.applied}`);
          for (const e of ents) this.out.push(`  ${fmtEntry(e)}`);
        }
        return;
      default:
        throw new Error(`unknown command ${d.cmd}`);
    }
  }

  private status(ids: string[]): void {
    for (const id of ids) {
      const n = this.cluster().node(id);
      const s = n.core.status();
      let line = `${id}: ${n.up ? s.role : 'down'} term=${s.term} vote=${s.vote || '-'} lead=${s.leader || '-'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} voters=${s.conf.voters.join(',')}`;
      if (s.conf.learners.length) line += ` learners=${s.conf.learners.join(',')}`;
      this.out.push(line);
      if (s.progress) {
        for (const [pid, p] of Object.entries(s.progress)) {
          if (pid === id) continue;
          this.out.push(`  ${pid}: ${p.state} match=${p.match} next=${p.next}${p.learner ? ' learner' : ''}`);
        }
      }
    }
  }
}
