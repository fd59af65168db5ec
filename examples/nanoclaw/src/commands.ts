import { execFile } from 'node:child_process';
import net from 'node:net';

import type { Container } from '@egress/egressd-client';

/** Runs `docker` or `container` with `args` and resolves to its standard output; rejects if it fails. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<string>;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }));
      } else {
        resolve(stdout);
      }
    });
  });

/** What Apple's `container ls --format json` and `container inspect` say of one container. */
export interface AppleContainer {
  readonly id: string;
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Every address it has, IPv4 first, without prefix lengths; empty until its network is up. */
  readonly addresses: readonly string[];
  readonly gateway: string | undefined;
}

/**
 * Reads the JSON array Apple's `container` CLI prints, in the shapes its versions used: 1.x has
 * `status: {state, networks: [{ipv4Address, ipv4Gateway, ipv6Address}]}`, 0.8-0.12 a string
 * `status` beside a top-level `networks`, 0.7 `address`/`gateway`. An address that is present but
 * unreadable is an error: a policy must never be attached to part of a container's addresses.
 */
export function parseAppleContainers(json: string): AppleContainer[] {
  const snapshots: unknown = JSON.parse(json);
  if (!Array.isArray(snapshots)) throw new Error('container printed no JSON array of containers');
  return snapshots.map((snapshot: unknown) => {
    const configuration = at(snapshot, 'configuration');
    const id = at(configuration, 'id');
    if (typeof id !== 'string' || id === '') throw new Error('a container in the JSON has no configuration.id');
    const status = at(snapshot, 'status');
    const state = typeof status === 'string' ? status : at(status, 'state');
    const networks = typeof status === 'string' ? at(snapshot, 'networks') : at(status, 'networks');
    const attachments: unknown[] = Array.isArray(networks) ? networks : [];
    const ipv4 = attachments.map((n) => address(id, at(n, 'ipv4Address') ?? at(n, 'address')));
    const ipv6 = attachments.map((n) => address(id, at(n, 'ipv6Address')));
    const gateways = attachments.map((n) => address(id, at(n, 'ipv4Gateway') ?? at(n, 'gateway')));
    const labels = Object.entries(at(configuration, 'labels') ?? {}).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    );
    return {
      id,
      state: typeof state === 'string' ? state.toLowerCase() : 'unknown',
      labels: Object.fromEntries(labels),
      addresses: [...ipv4, ...ipv6].filter((a): a is string => a !== undefined),
      gateway: gateways.find((g) => g !== undefined),
    };
  });
}

/** The endpoint to attach for a running container that has its addresses, else undefined. */
export function endpointOf(container: AppleContainer): Container | undefined {
  if (container.state !== 'running' || container.addresses.length === 0) return undefined;
  const { id, addresses, gateway } = container;
  return gateway === undefined ? { id, addresses } : { id, addresses, gateway };
}

function at(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function address(id: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'string' ? value.replace(/\/\d+$/, '') : '';
  if (net.isIP(text) === 0) throw new Error(`container ${id} reports ${JSON.stringify(value)}, which is not an address`);
  return text;
}
