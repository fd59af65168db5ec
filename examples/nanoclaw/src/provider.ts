import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Container, EgressdClient, PolicyRef, ReconcileData } from '@egress/egressd-client';

import { endpointOf, parseAppleContainers, runCommand, type CommandRunner } from './commands.js';
import { Ipv4Subnet } from './ipv4.js';

/** The requests the provider makes; an `EgressdClient` has them, and tests pass a fake. */
export type Egressd = Pick<EgressdClient, 'attach' | 'detach' | 'reconcile' | 'status'>;

/** One container spawn, as the runner knows it. */
export interface SpawnContext {
  /** The `--name` the runner gives the container; egressd knows the container by it. */
  readonly containerName: string;
  /** The policy for this container: a policy file of egressd's policy directory, or text. */
  readonly policy: PolicyRef;
}

/**
 * NanoClaw's proposed provider interface, plus the two hooks an address-keyed enforcer needs:
 * `afterStart` (Apple Container knows the address only then) and `onExit`. Every method fails
 * closed: if it rejects, the container must not run (or, from `afterStart`, has been stopped).
 */
export interface NetworkPolicyProvider {
  /**
   * At host start, before any spawn: connect to egressd and drop the rules of containers that no
   * longer run (a Docker container attached but not yet created would count as gone too).
   */
  ensure(): Promise<ReconcileData>;
  /** Before a spawn: the `run` arguments with the network flags added. */
  applyContainerArgs(args: readonly string[], ctx: SpawnContext): Promise<string[]>;
  /** After the spawn. */
  afterStart(ctx: SpawnContext): Promise<void>;
  /** After the container exited (or its spawn failed). */
  onExit(ctx: SpawnContext): Promise<void>;
}

interface CommonOptions {
  /** Opens the connection to egressd, e.g. `() => connect('/run/egressd/egressd.sock')`. */
  readonly connect: () => Promise<Egressd>;
  /** The network managed containers join; egressd's guard blocks whatever on it is not attached. */
  readonly network: string;
  /**
   * The resolver containers are told to use (`--dns`): egressd's DNS filter (its `dns-filter`
   * address) for policies that say `dns filter`, the recommended setting where egressd has one;
   * otherwise the resolver the policies' `dns ADDRESS` line names.
   */
  readonly dns: string;
  readonly run?: CommandRunner;
}

export interface DockerOptions extends CommonOptions {
  /** The network's IPv4 subnet, e.g. `172.30.0.0/24`: addresses are allocated from it. */
  readonly subnet: string;
  /** The network's gateway; default the subnet's first host. */
  readonly gateway?: string;
}

export interface AppleContainerOptions extends CommonOptions {
  /** How long a started container may take to get its address. Default 10 s. */
  readonly addressTimeoutMs?: number;
}

/** Marks the containers the provider manages; `ensure` reconciles with those running. */
export const MANAGED_LABEL = 'dev.egress.managed';
/** Holds a Docker container's pre-allocated address, so that it stays taken while the container exists. */
export const ADDRESS_LABEL = 'dev.egress.address';

const NETWORK_FLAGS = ['--network', '--net', '--ip', '--ip6', '--dns'];

abstract class EgressProvider implements NetworkPolicyProvider {
  private egressd: Egressd | undefined;
  protected readonly run: CommandRunner;

  constructor(protected readonly options: CommonOptions) {
    if (net.isIP(options.dns) === 0) throw new Error(`dns must be an IP address, got ${JSON.stringify(options.dns)}`);
    this.run = options.run ?? runCommand;
  }

  async ensure(): Promise<ReconcileData> {
    this.egressd ??= await this.options.connect();
    return this.egressd.reconcile({ liveContainerIds: await this.runningContainers() });
  }

  abstract applyContainerArgs(args: readonly string[], ctx: SpawnContext): Promise<string[]>;

  abstract afterStart(ctx: SpawnContext): Promise<void>;

  async onExit(ctx: SpawnContext): Promise<void> {
    await this.connected().detach({ containerId: ctx.containerName });
  }

  /** The names of the managed containers that run now. */
  protected abstract runningContainers(): Promise<string[]>;

  protected connected(): Egressd {
    if (this.egressd === undefined) throw new Error('call ensure() before spawning containers');
    return this.egressd;
  }

  /**
   * Refuses arguments that are not a `run` command naming the container `ctx.containerName`, or
   * that already choose a network, address or resolver: the container would not be where its
   * policy is.
   */
  protected checkRunArgs(args: readonly string[], ctx: SpawnContext): void {
    if (args[0] !== 'run') throw new Error(`expected the arguments of a run command, got ${args[0]}`);
    const named = args.some(
      (arg, i) => (arg === '--name' && args[i + 1] === ctx.containerName) || arg === `--name=${ctx.containerName}`,
    );
    if (!named) throw new Error(`the run arguments do not name the container ${ctx.containerName}`);
    const chosen = args.find((arg) => NETWORK_FLAGS.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
    if (chosen !== undefined) throw new Error(`the run arguments already choose ${chosen}`);
  }
}

/**
 * Docker: each container gets an address of the managed subnet before it exists, and its policy
 * is attached to that address before `docker run` starts it, so it never runs without one.
 */
class DockerEgress extends EgressProvider {
  private readonly subnet: Ipv4Subnet;
  private readonly gateway: string;
  private lastAllocated: string | undefined;
  /** Allocations run one at a time, so that two spawns never pick the same address. */
  private allocations: Promise<unknown> = Promise.resolve();

  constructor(options: DockerOptions) {
    super(options);
    this.subnet = Ipv4Subnet.parse(options.subnet);
    this.gateway = options.gateway ?? this.subnet.host(1);
    if (!this.subnet.contains(this.gateway)) throw new Error(`the gateway ${this.gateway} is outside ${this.subnet}`);
  }

  applyContainerArgs(args: readonly string[], ctx: SpawnContext): Promise<string[]> {
    const allocation = this.allocations.then(() => this.allocateAndAttach(args, ctx));
    this.allocations = allocation.catch(() => undefined);
    return allocation;
  }

  async afterStart(): Promise<void> {
    // Attached before the start: nothing left to do.
  }

  protected async runningContainers(): Promise<string[]> {
    const names = await this.run('docker', ['ps', '--filter', `label=${MANAGED_LABEL}=true`, '--format', '{{.Names}}']);
    return lines(names);
  }

  private async allocateAndAttach(args: readonly string[], ctx: SpawnContext): Promise<string[]> {
    const egressd = this.connected();
    this.checkRunArgs(args, ctx);
    const address = this.subnet.nextFree(await this.takenAddresses(), this.lastAllocated);
    if (address === undefined) throw new Error(`no free address left in ${this.subnet}`);
    await egressd.attach({ container: { id: ctx.containerName, addresses: [address], gateway: this.gateway }, policy: ctx.policy });
    this.lastAllocated = address;
    return withFlags(args, [
      ...['--network', this.options.network, '--ip', address, '--dns', this.options.dns],
      ...['--label', `${MANAGED_LABEL}=true`, '--label', `${ADDRESS_LABEL}=${address}`],
    ]);
  }

  /**
   * The network's own addresses, what egressd has attached (which includes the containers this
   * process started, attached before they exist, and any whose detach failed) and what Docker's
   * managed containers hold, running or not (a container being removed after its exit).
   */
  private async takenAddresses(): Promise<Set<string>> {
    const status = await this.connected().status();
    const labelled = await this.run('docker', [
      ...['ps', '--all', '--filter', `label=${ADDRESS_LABEL}`],
      ...['--format', `{{.Label "${ADDRESS_LABEL}"}}`],
    ]);
    return new Set([
      this.gateway,
      this.options.dns,
      ...status.attachments.flatMap((attachment) => attachment.container.addresses),
      ...lines(labelled),
    ]);
  }
}

/**
 * Apple Container: an address exists only once the container runs, so the policy is attached in
 * `afterStart`. Until then egressd's guard on the managed network blocks the container.
 */
class AppleContainerEgress extends EgressProvider {
  private readonly addressTimeoutMs: number;

  constructor(options: AppleContainerOptions) {
    super(options);
    this.addressTimeoutMs = options.addressTimeoutMs ?? 10_000;
  }

  async applyContainerArgs(args: readonly string[], ctx: SpawnContext): Promise<string[]> {
    this.connected(); // ensure() first, as for Docker
    this.checkRunArgs(args, ctx);
    return withFlags(args, [
      ...['--network', this.options.network, '--dns', this.options.dns],
      ...['--label', `${MANAGED_LABEL}=true`],
    ]);
  }

  /** Reads the container's addresses and attaches its policy; if that fails, stops the container. */
  async afterStart(ctx: SpawnContext): Promise<void> {
    const egressd = this.connected();
    try {
      const container = await this.waitForEndpoint(ctx.containerName);
      await egressd.attach({ container, policy: ctx.policy });
    } catch (error) {
      try {
        await this.run('container', ['stop', ctx.containerName]);
      } catch (stopError) {
        throw new AggregateError([error, stopError], `${ctx.containerName} got no policy and could not be stopped: stop it by hand`);
      }
      throw error;
    }
  }

  protected async runningContainers(): Promise<string[]> {
    const containers = parseAppleContainers(await this.run('container', ['ls', '--format', 'json']));
    return containers
      .filter((container) => container.state === 'running' && container.labels[MANAGED_LABEL] === 'true')
      .map((container) => container.id);
  }

  /** Polls `container inspect`, which may not even know the container just after the spawn. */
  private async waitForEndpoint(name: string): Promise<Container> {
    const deadline = Date.now() + this.addressTimeoutMs;
    let notYet = '';
    for (;;) {
      try {
        const [container] = parseAppleContainers(await this.run('container', ['inspect', name]));
        const endpoint = container && endpointOf(container);
        if (endpoint) return endpoint;
        notYet = `it is ${container?.state ?? 'not listed'} without an address`;
      } catch (error) {
        notYet = (error as Error).message;
      }
      if (Date.now() >= deadline) throw new Error(`${name} has no address after ${this.addressTimeoutMs} ms: ${notYet}`);
      await sleep(100);
    }
  }
}

export function dockerEgress(options: DockerOptions): NetworkPolicyProvider {
  return new DockerEgress(options);
}

export function appleContainerEgress(options: AppleContainerOptions): NetworkPolicyProvider {
  return new AppleContainerEgress(options);
}

/** `args`, a run command, with `flags` inserted after `run`. */
function withFlags(args: readonly string[], flags: string[]): string[] {
  return ['run', ...flags, ...args.slice(1)];
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
