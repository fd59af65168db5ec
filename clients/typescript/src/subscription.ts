import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { openSocket, parseAnswer } from './connection.js';
import { EgressdConnectionError, EgressdError, EgressdProtocolError, EgressdTimeoutError, isRecord } from './errors.js';
import { LineSplitter } from './lines.js';
import type { EgressEvent, EventType } from './protocol.js';

/** What the event stream yields: the daemon's events, and when the stream is live or broken. */
export type StreamItem =
  /**
   * Events are delivered from here on; call `status` now to learn the state they change. After a
   * break (`reconnected: true`) the events in between are lost, and `status` is how to catch up.
   */
  | { readonly kind: 'subscribed'; readonly reconnected: boolean }
  | { readonly kind: 'event'; readonly event: EgressEvent }
  /** The stream broke (the daemon stopped, or dropped a slow reader); it is retried after `retryInMs`. */
  | { readonly kind: 'disconnected'; readonly error: Error; readonly retryInMs: number };

export interface StreamSettings {
  readonly socketPath: string;
  readonly connectTimeoutMs: number;
  /** How long the daemon may take to confirm the subscription. */
  readonly requestTimeoutMs: number;
  readonly maxLineBytes: number;
  readonly reconnect: BackoffOptions;
}

// Events of types this client does not know (later protocol additions) are skipped.
const KNOWN_EVENT_TYPES: { readonly [T in EventType]: true } = {
  attached: true,
  updated: true,
  detached: true,
  'addresses-refreshed': true,
  'drift-detected': true,
  failed: true,
  overflow: true,
  'dns-query': true,
  'wildcard-burst': true,
  denied: true,
};

/**
 * The daemon's events, one connection at a time, until `signal` aborts or the consumer stops.
 * A connection that fails or ends is opened again after a back-off; an error answer from the
 * daemon (such as permission-denied) ends the stream with that error instead, since asking again
 * would get the same answer.
 */
export async function* eventStream(settings: StreamSettings, signal: AbortSignal): AsyncGenerator<StreamItem, void> {
  let failures = 0;
  let subscribedBefore = false;
  while (!signal.aborted) {
    let error: Error;
    let socket: net.Socket | undefined;
    const destroy = () => socket?.destroy();
    signal.addEventListener('abort', destroy);
    try {
      socket = await openSocket(settings.socketPath, settings.connectTimeoutMs);
      if (signal.aborted) return;
      const lines = readLines(socket, settings.maxLineBytes);
      await confirmSubscription(socket, lines, settings.requestTimeoutMs);
      yield { kind: 'subscribed', reconnected: subscribedBefore };
      subscribedBefore = true;
      failures = 0;
      for await (const line of lines) {
        const event = parseEvent(line);
        if (event !== undefined) yield { kind: 'event', event };
      }
      error = new EgressdConnectionError('egressd closed the event stream');
    } catch (caught) {
      if (caught instanceof EgressdError) throw caught;
      error = caught as Error;
    } finally {
      signal.removeEventListener('abort', destroy);
      socket?.destroy();
    }
    if (signal.aborted) return;
    const retryInMs = backoffDelayMs(failures++, settings.reconnect);
    yield { kind: 'disconnected', error, retryInMs };
    try {
      await sleep(retryInMs, undefined, { signal });
    } catch {
      return; // aborted while waiting
    }
  }
}

async function* readLines(socket: net.Socket, maxLineBytes: number): AsyncGenerator<string, void> {
  const splitter = new LineSplitter(maxLineBytes);
  // Reading only when the consumer asks lets a slow consumer push back on the daemon, whose
  // bounded queue then overflows and closes the stream rather than buffering here without end.
  for await (const chunk of socket) yield* splitter.push(chunk as Buffer);
}

async function confirmSubscription(
  socket: net.Socket,
  lines: AsyncGenerator<string, void>,
  timeoutMs: number,
): Promise<void> {
  const timer = setTimeout(
    () => socket.destroy(new EgressdTimeoutError(`egressd did not answer subscribe within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    socket.write(JSON.stringify({ id: 1, command: 'subscribe', args: {} }) + '\n');
    const first = await lines.next();
    if (first.done) throw new EgressdConnectionError('egressd closed the connection before answering subscribe');
    const answer = parseAnswer(first.value);
    if (!answer.ok) throw answer.error;
    if (answer.id !== 1 || answer.data['subscribed'] !== true) {
      throw new EgressdProtocolError('egressd answered subscribe without {"subscribed": true}');
    }
  } finally {
    clearTimeout(timer);
  }
}

function parseEvent(line: string): EgressEvent | undefined {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch (cause) {
    throw new EgressdProtocolError('egressd sent an event line that is not JSON', { cause });
  }
  const event = isRecord(message) ? message['event'] : undefined;
  if (!isRecord(event) || typeof event['type'] !== 'string') {
    throw new EgressdProtocolError('egressd sent a line without an event on the event stream');
  }
  return Object.hasOwn(KNOWN_EVENT_TYPES, event['type']) ? (event as unknown as EgressEvent) : undefined;
}
