import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { openSocket, RequestConnection } from './connection.js';
import { EgressdConnectionError } from './errors.js';
import type {
  AttachArgs,
  AttachData,
  CheckArgs,
  CheckData,
  CommandName,
  Commands,
  DetachArgs,
  DetachData,
  ReconcileArgs,
  ReconcileData,
  StatusData,
  UpdateArgs,
  VersionData,
} from './protocol.js';
import { eventStream, type StreamItem } from './subscription.js';

export interface ConnectOptions {
  /** How long a request may wait for its answer. Default 30,000 ms (an attach resolves names). */
  readonly requestTimeoutMs?: number;
  /** How long opening the socket may take. Default 5,000 ms. */
  readonly connectTimeoutMs?: number;
  /** The longest line accepted from the daemon. Default 1 MiB, the daemon's own default limit. */
  readonly maxLineBytes?: number;
  /** The event stream's waits between attempts to reach the daemon again. */
  readonly reconnect?: BackoffOptions;
}

/**
 * Connects to egressd at `socketPath`.
 *
 * @throws EgressdConnectionError when the socket cannot be opened
 */
export function connect(socketPath: string, options: ConnectOptions = {}): Promise<EgressdClient> {
  return EgressdClient.connect(socketPath, options);
}

/**
 * A client of egressd. Requests share one connection and may be issued without waiting for each
 * other; each is answered in turn or rejected with an `EgressdError` (the daemon's answer), an
 * `EgressdTimeoutError`, an `EgressdConnectionError` or an `EgressdProtocolError`. When the
 * connection is lost, every request pending on it is rejected (it may or may not have been carried
 * out: `attach` and `detach` are idempotent, so repeat them), and the next request opens a new one.
 */
export class EgressdClient {
  private connection: Promise<RequestConnection> | undefined;
  private nextId = 1;
  private readonly closing = new AbortController();
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxLineBytes: number;
  private readonly reconnect: BackoffOptions;

  private constructor(
    private readonly socketPath: string,
    options: ConnectOptions,
  ) {
    this.requestTimeoutMs = positive(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? 5_000, 'connectTimeoutMs');
    this.maxLineBytes = positive(options.maxLineBytes ?? 1024 * 1024, 'maxLineBytes');
    this.reconnect = options.reconnect ?? {};
    backoffDelayMs(0, this.reconnect); // refuses bad settings now rather than at the first retry
  }

  /** See {@link connect}. */
  static async connect(socketPath: string, options: ConnectOptions = {}): Promise<EgressdClient> {
    const client = new EgressdClient(socketPath, options);
    await client.currentConnection();
    return client;
  }

  version(): Promise<VersionData> {
    return this.request('version', undefined);
  }

  /** Applies `policy` to the container: from then on it may reach only what the policy names. */
  attach(args: AttachArgs): Promise<AttachData> {
    return this.request('attach', args);
  }

  /** Replaces an attached container's policy atomically; the old one stays in force if this fails. */
  update(args: UpdateArgs): Promise<AttachData> {
    return this.request('update', args);
  }

  /** Removes the container's rules and connections; a container not attached is not an error. */
  detach(args: DetachArgs): Promise<DetachData> {
    return this.request('detach', args);
  }

  /** Removes the rule sets of every container not listed and repairs those of the listed ones. */
  reconcile(args: ReconcileArgs): Promise<ReconcileData> {
    return this.request('reconcile', args);
  }

  status(): Promise<StatusData> {
    return this.request('status', undefined);
  }

  /** Validates policy text; an invalid policy is an answer (`valid: false`), not an error. */
  check(args: CheckArgs): Promise<CheckData> {
    return this.request('check', args);
  }

  /**
   * The daemon's events, on a connection of their own, until `close` or the consumer stops
   * iterating. It yields `subscribed` once live; call `status` then for the state the events
   * change. It survives daemon restarts: `disconnected` when it breaks, and `subscribed` with
   * `reconnected: true` when it is back, when `status` tells what was missed. It ends with an
   * error only when the daemon refuses the subscription (an `EgressdError`).
   */
  subscribe(): AsyncGenerator<StreamItem, void> {
    return eventStream(
      {
        socketPath: this.socketPath,
        connectTimeoutMs: this.connectTimeoutMs,
        requestTimeoutMs: this.requestTimeoutMs,
        maxLineBytes: this.maxLineBytes,
        reconnect: this.reconnect,
      },
      this.closing.signal,
    );
  }

  /** Closes the connection and every event stream; pending requests are rejected. */
  async close(): Promise<void> {
    this.closing.abort();
    const connection = this.connection;
    this.connection = undefined;
    (await connection?.catch(() => undefined))?.close();
  }

  private async request<C extends CommandName>(command: C, args: Commands[C]['args']): Promise<Commands[C]['data']> {
    const connection = await this.currentConnection();
    const data = await connection.send(this.nextId++, command, args, this.requestTimeoutMs);
    return data as unknown as Commands[C]['data'];
  }

  private currentConnection(): Promise<RequestConnection> {
    if (this.closing.signal.aborted) {
      return Promise.reject(new EgressdConnectionError('the client was closed'));
    }
    if (this.connection === undefined) {
      const opening = openSocket(this.socketPath, this.connectTimeoutMs).then(
        (socket) =>
          new RequestConnection(socket, this.maxLineBytes, () => {
            if (this.connection === opening) this.connection = undefined;
          }),
      );
      opening.catch(() => {
        if (this.connection === opening) this.connection = undefined;
      });
      this.connection = opening;
    }
    return this.connection;
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}
