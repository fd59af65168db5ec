import {
  ConflictError,
  type AttachArgs,
  type AttachData,
  type AttachmentStatus,
  type DetachArgs,
  type DetachData,
  type ReconcileArgs,
  type ReconcileData,
  type StatusData,
} from '@egress/egressd-client';

import type { CommandRunner, Egressd } from '../src/index.js';

/** egressd's requests over in-memory attachments, with the daemon's address conflicts. */
export class FakeEgressd implements Egressd {
  readonly attachments = new Map<string, AttachmentStatus>();
  readonly reconciled: string[][] = [];
  /** Thrown by the next attach instead of attaching. */
  failNextAttach: Error | undefined;

  async attach({ container, policy }: AttachArgs): Promise<AttachData> {
    const failure = this.failNextAttach;
    this.failNextAttach = undefined;
    if (failure) throw failure;
    for (const other of this.attachments.values()) {
      if (other.container.id !== container.id && other.container.addresses.some((a) => container.addresses.includes(a))) {
        throw new ConflictError(`an address of ${container.id} belongs to ${other.container.id}`, {});
      }
    }
    const text = 'text' in policy ? policy.text : `# ${policy.name}\n`;
    const attachment = { container, ruleSet: `c_${container.id}`, policy: { text }, attachedAt: new Date().toISOString() };
    this.attachments.set(container.id, attachment);
    return { containerId: container.id, ruleSet: attachment.ruleSet, policy: attachment.policy };
  }

  async detach({ containerId }: DetachArgs): Promise<DetachData> {
    return { containerId, wasAttached: this.attachments.delete(containerId) };
  }

  async reconcile({ liveContainerIds }: ReconcileArgs): Promise<ReconcileData> {
    this.reconciled.push([...liveContainerIds]);
    const detached = [...this.attachments.keys()].filter((id) => !liveContainerIds.includes(id));
    detached.forEach((id) => this.attachments.delete(id));
    return { detached, orphanRuleSetsRemoved: [], repaired: [] };
  }

  async status(): Promise<StatusData> {
    return {
      protocol: 1,
      egressd: 'fake',
      backend: 'nftables',
      attachments: [...this.attachments.values()],
      resolver: { names: [] },
      health: { problems: [] },
      counters: { requests: 0, attaches: 0, detaches: 0, failures: 0, connections: 0, subscribers: 0 },
    };
  }
}

/**
 * A `docker`/`container` CLI that answers the exact command lines it is given, so a test pins
 * what the provider runs. A list answers successive calls (its last entry repeats); an Error fails
 * the call. Unknown command lines fail the call and are recorded like the others.
 */
export class FakeCli {
  readonly calls: string[] = [];

  constructor(private readonly answers: Record<string, string | Error | (string | Error)[]> = {}) {}

  readonly run: CommandRunner = async (command, args) => {
    const line = [command, ...args].join(' ');
    this.calls.push(line);
    const answer = this.answers[line];
    const next = Array.isArray(answer) ? (answer.length > 1 ? answer.shift() : answer[0]) : answer;
    if (next === undefined) throw new Error(`the fake CLI does not know: ${line}`);
    if (next instanceof Error) throw next;
    return next;
  };
}
