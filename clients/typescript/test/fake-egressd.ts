// A fake egressd for the client's tests: a Unix-socket JSON-lines server that follows the protocol
// contract (framing, strict requests, commands, error codes, events) over in-memory state, and
// lets a test take over any request to misbehave on purpose.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AttachmentStatus, Container, PolicyProblem } from '../src/index.js';

export interface WireRequest {
  readonly id: string | number;
  readonly command: string;
  readonly args: Record<string, unknown>;
}

/** Handles a request instead of the fake when it returns true (it then writes what it likes). */
export type Interceptor = (request: WireRequest, socket: net.Socket) => boolean;

class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const MAX_LINE_BYTES = 1024 * 1024;

export class FakeEgressd {
  /** The fake's policy directory: the test policies, shared with a real daemon under test. */
  readonly policyDirectory = fileURLToPath(new URL('../../test/policies/', import.meta.url));
  /** Every connection accepted since start, restarts included. */
  connectionsAccepted = 0;
  /** When set, every connection is refused as a peer that may not connect. */
  refuseConnections = false;
  intercept: Interceptor | undefined;

  private readonly attachments = new Map<string, AttachmentStatus>();
  private readonly subscribers = new Set<net.Socket>();
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  private constructor(readonly socketPath: string) {}

  static async start(socketPath: string): Promise<FakeEgressd> {
    const fake = new FakeEgressd(socketPath);
    await fake.listen();
    return fake;
  }

  /** Stops listening and drops every connection, as a killed daemon would; state is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  async listen(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, resolve);
    });
    this.server = server;
  }

  /** Sends an event line to every subscriber, as the daemon does for its enforcer's events. */
  publish(event: Record<string, unknown>): void {
    for (const subscriber of this.subscribers) subscriber.write(JSON.stringify({ event }) + '\n');
  }

  private accept(socket: net.Socket): void {
    this.connectionsAccepted++;
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.subscribers.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    if (this.refuseConnections) {
      socket.end(errorLine(null, new RequestError('permission-denied', 'uid 1000 may not use egressd')));
      return;
    }
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf(10); end !== -1; end = buffered.indexOf(10)) {
        const line = buffered.subarray(0, end);
        buffered = buffered.subarray(end + 1);
        if (socket.writableEnded) return; // closed after an error: the rest is not read
        if (!this.subscribers.has(socket)) this.handleLine(line, socket); // subscribers' lines are ignored
      }
      if (buffered.length > MAX_LINE_BYTES) {
        socket.end(errorLine(null, new RequestError('invalid-request', 'the line is longer than 1048576 bytes')));
      }
    });
  }

  private handleLine(line: Buffer, socket: net.Socket): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(line));
    } catch {
      socket.end(errorLine(null, new RequestError('invalid-request', 'the line is not UTF-8 JSON')));
      return;
    }
    const id = isObject(parsed) && (typeof parsed['id'] === 'string' || Number.isInteger(parsed['id'])) ? parsed['id'] : null;
    try {
      const request = checkRequest(parsed);
      if (this.intercept?.(request, socket)) return;
      const data = this.execute(request, socket);
      socket.write(JSON.stringify({ id, ok: true, data }) + '\n');
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      // An error that cannot name its request ends the connection, as the protocol says.
      if (id === null) socket.end(errorLine(null, error));
      else socket.write(errorLine(id as string | number, error));
    }
  }

  private execute({ command, args }: WireRequest, socket: net.Socket): Record<string, unknown> {
    switch (command) {
      case 'version':
        fields(args, [], []);
        return version();
      case 'attach':
        fields(args, ['container', 'policy'], []);
        return this.attach(container(args['container']), args['policy']);
      case 'update': {
        fields(args, ['containerId', 'policy'], []);
        const id = string(args, 'containerId');
        const attachment = this.attachments.get(id);
        if (!attachment) {
          throw new RequestError('not-attached', `${id} is not attached`, { containerId: id });
        }
        return this.attach(attachment.container, args['policy']);
      }
      case 'detach': {
        fields(args, ['containerId'], []);
        const id = string(args, 'containerId');
        return { containerId: id, wasAttached: this.detach(id) };
      }
      case 'reconcile': {
        fields(args, ['liveContainerIds'], []);
        const live = stringList(args, 'liveContainerIds');
        const gone = [...this.attachments.keys()].filter((id) => !live.includes(id));
        gone.forEach((id) => this.detach(id));
        return { detached: gone, orphanRuleSetsRemoved: [], repaired: [] };
      }
      case 'status':
        fields(args, [], []);
        return {
          ...version(),
          attachments: [...this.attachments.values()],
          resolver: { names: [] },
          health: { problems: [] },
          counters: {
            requests: 0,
            attaches: 0,
            detaches: 0,
            failures: 0,
            connections: this.sockets.size,
            subscribers: this.subscribers.size,
          },
        };
      case 'check': {
        fields(args, ['text'], []);
        const parsed = parsePolicy(string(args, 'text'));
        return parsed.problems.length > 0
          ? { valid: false, problems: parsed.problems }
          : { valid: true, summary: parsed.summary };
      }
      case 'subscribe':
        fields(args, [], []);
        this.subscribers.add(socket);
        return { subscribed: true };
      default:
        throw new RequestError('unknown-command', `no command ${command}`, { command });
    }
  }

  private attach(endpoint: Container, policyRef: unknown): Record<string, unknown> {
    const policy = this.policy(policyRef);
    const existing = this.attachments.get(endpoint.id);
    if (existing && !sameEndpoint(existing.container, endpoint)) {
      throw new RequestError('conflict', `${endpoint.id} is attached with another endpoint`);
    }
    for (const other of this.attachments.values()) {
      const shared = other.container.addresses.find((address) => endpoint.addresses.includes(address));
      if (other.container.id !== endpoint.id && shared) {
        throw new RequestError('conflict', `${shared} belongs to ${other.container.id}`);
      }
    }
    const attachment: AttachmentStatus = {
      container: endpoint,
      ruleSet: ruleSetName(endpoint.id),
      policy,
      attachedAt: existing?.attachedAt ?? new Date().toISOString(),
    };
    this.attachments.set(endpoint.id, attachment);
    this.publish({
      type: existing ? 'updated' : 'attached',
      time: new Date().toISOString(),
      containerId: endpoint.id,
      ruleSet: attachment.ruleSet,
      policy: policy.text,
    });
    return { containerId: endpoint.id, ruleSet: attachment.ruleSet, policy };
  }

  private detach(id: string): boolean {
    const attachment = this.attachments.get(id);
    if (!attachment) return false;
    this.attachments.delete(id);
    this.publish({ type: 'detached', time: new Date().toISOString(), containerId: id, ruleSet: attachment.ruleSet });
    return true;
  }

  private policy(ref: unknown): { name?: string; text: string } {
    const name = isObject(ref) && Object.keys(ref).length === 1 ? ref['name'] : undefined;
    const text = isObject(ref) && Object.keys(ref).length === 1 ? ref['text'] : undefined;
    const source = typeof name === 'string' ? this.readPolicyFile(name) : text;
    if (typeof name === 'string' && source === undefined) {
      throw new RequestError('invalid-request', `no policy ${name}: there is no file ${name}.policy`, {
        field: 'policy.name',
      });
    }
    if (typeof source !== 'string') {
      throw new RequestError('invalid-request', 'policy must be {"name": NAME} of a policy file or {"text": TEXT}', {
        field: 'policy',
      });
    }
    const parsed = parsePolicy(source);
    if (parsed.problems.length > 0) {
      throw new RequestError('invalid-policy', 'the policy does not parse', {
        problems: parsed.problems,
        source: typeof name === 'string' ? name : 'text',
      });
    }
    if (parsed.wildcard) {
      throw new RequestError('unsupported-policy', 'nftables cannot enforce wildcard names', {
        hint: 'name each host, or use a daemon with DNS filtering',
      });
    }
    return typeof name === 'string' ? { name, text: parsed.canonical } : { text: parsed.canonical };
  }

  private readPolicyFile(name: string): string | undefined {
    try {
      return readFileSync(path.join(this.policyDirectory, `${name}.policy`), 'utf8');
    } catch {
      return undefined;
    }
  }
}

function version(): Record<string, unknown> {
  return { protocol: 1, egressd: '0.0.0-fake', backend: 'nftables' };
}

function errorLine(id: string | number | null, error: RequestError): string {
  return JSON.stringify({ id, ok: false, error: { code: error.code, message: error.message, ...error.details } }) + '\n';
}

function checkRequest(request: unknown): WireRequest {
  if (!isObject(request)) throw new RequestError('invalid-request', 'a request is a JSON object');
  const { id, command, args = {} } = request;
  const unknown = Object.keys(request).find((key) => !['id', 'command', 'args'].includes(key));
  if (unknown !== undefined) throw new RequestError('invalid-request', `unknown field ${unknown}`, { field: unknown });
  if (!(typeof id === 'string' || Number.isInteger(id))) {
    throw new RequestError('invalid-request', 'id must be a string or an integer', { field: 'id' });
  }
  if (typeof command !== 'string') throw new RequestError('invalid-request', 'command must be a string', { field: 'command' });
  if (!isObject(args)) throw new RequestError('invalid-request', 'args must be an object', { field: 'args' });
  return { id: id as string | number, command, args };
}

function fields(args: Record<string, unknown>, required: string[], optional: string[]): void {
  for (const key of Object.keys(args)) {
    if (!required.includes(key) && !optional.includes(key)) {
      throw new RequestError('invalid-request', `unknown field ${key}`, { field: key });
    }
  }
  for (const key of required) {
    if (!(key in args)) throw new RequestError('invalid-request', `missing field ${key}`, { field: key });
  }
}

function string(args: Record<string, unknown>, key: string): string {
  const value = args[key];
  if (typeof value !== 'string') throw new RequestError('invalid-request', `${key} must be a string`, { field: key });
  return value;
}

function stringList(args: Record<string, unknown>, key: string): string[] {
  const value = args[key];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new RequestError('invalid-request', `${key} must be a list of strings`, { field: key });
  }
  return value;
}

function container(value: unknown): Container {
  if (!isObject(value)) throw new RequestError('invalid-request', 'container must be an object', { field: 'container' });
  fields(value, ['id', 'addresses'], ['gateway']);
  const id = string(value, 'id');
  if (!/^[\x21-\x7e]{1,200}$/.test(id)) {
    throw new RequestError('invalid-request', 'container id must be 1-200 printable ASCII characters', {
      field: 'container.id',
    });
  }
  const addresses = stringList(value, 'addresses');
  if (addresses.length === 0 || !addresses.every((address) => net.isIP(address) !== 0)) {
    throw new RequestError('invalid-request', 'addresses must be IP addresses, at least one', {
      field: 'container.addresses',
    });
  }
  const gateway = value['gateway'];
  if (gateway === undefined) return { id, addresses };
  if (typeof gateway !== 'string' || net.isIP(gateway) === 0) {
    throw new RequestError('invalid-request', 'gateway must be an IP address', { field: 'container.gateway' });
  }
  return { id, addresses, gateway };
}

function sameEndpoint(a: Container, b: Container): boolean {
  return a.gateway === b.gateway && a.addresses.join() === b.addresses.join();
}

function ruleSetName(id: string): string {
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return `c_${id.replace(/[^A-Za-z0-9]/g, '_').slice(0, 16)}_${hash}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Enough of the policy language for the tests: allow, dns and log lines, positioned problems. */
function parsePolicy(text: string): { problems: PolicyProblem[]; canonical: string; summary: string; wildcard: boolean } {
  const problems: PolicyProblem[] = [];
  const lines: string[] = [];
  let allows = 0;
  let dns = 'dns gateway';
  let wildcard = false;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const words = line.split(/\s+/);
    const problem = (word: number, message: string) =>
      problems.push({ line: index + 1, column: raw.indexOf(words[word] ?? '') + 1, message });
    if (words[0] === 'allow') {
      if (words[2] !== 'port') return problem(2, `expected 'port' after the destination, found '${words[2]}'`);
      if (!/^\d+(-\d+)?$/.test(words[3] ?? '')) return problem(3, 'expected a port or port range');
      wildcard ||= words[1]?.startsWith('*.') ?? false;
      allows++;
      lines.push(words.join(' '));
    } else if (words[0] === 'dns' && words.length > 1) {
      dns = words.join(' ');
    } else if (line !== 'log denied') {
      problem(0, `expected 'allow', 'dns' or 'log', found '${words[0]}'`);
    }
  });
  return {
    problems,
    canonical: [...lines, dns].join('\n') + '\n',
    summary: `${allows} allow rules, ${dns}`,
    wildcard,
  };
}
