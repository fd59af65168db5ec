import net from 'node:net';

import {
  EgressdConnectionError,
  EgressdError,
  EgressdProtocolError,
  EgressdTimeoutError,
  errorFromWire,
  isRecord,
} from './errors.js';
import { LineSplitter } from './lines.js';

export type RequestId = number;

/** An answer line, read and checked: `id` is null when the daemon could not read the request's id. */
export type Answer =
  | { readonly id: RequestId | null; readonly ok: true; readonly data: Record<string, unknown> }
  | { readonly id: RequestId | null; readonly ok: false; readonly error: EgressdError };

/** @throws EgressdProtocolError when `line` is not an answer as protocol version 1 writes one */
export function parseAnswer(line: string): Answer {
  let answer: unknown;
  try {
    answer = JSON.parse(line);
  } catch (cause) {
    throw new EgressdProtocolError('egressd sent a line that is not JSON', { cause });
  }
  if (!isRecord(answer)) {
    throw new EgressdProtocolError('egressd sent a line that is not a JSON object');
  }
  const { id, ok } = answer;
  // This client sends integer ids only, so an answer carries one of those or null.
  if (id !== null && !Number.isSafeInteger(id)) {
    throw new EgressdProtocolError(`egressd answered with the id ${JSON.stringify(id)}`);
  }
  if (ok === true && isRecord(answer['data'])) {
    return { id: id as RequestId | null, ok, data: answer['data'] };
  }
  if (ok === false) {
    return { id: id as RequestId | null, ok, error: errorFromWire(answer['error']) };
  }
  throw new EgressdProtocolError('egressd sent an answer without ok and data or error');
}

/** Opens a connection to the daemon's socket. */
export function openSocket(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EgressdConnectionError(`could not connect to egressd at ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (cause) => {
      clearTimeout(timer);
      reject(new EgressdConnectionError(`could not connect to egressd at ${socketPath}: ${cause.message}`, { cause }));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

interface PendingRequest {
  readonly id: RequestId;
  readonly resolve: (data: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
}

/**
 * One connection carrying pipelined requests. The daemon answers in request order, so each answer
 * must carry the id of the oldest request not yet answered; anything else is a protocol error.
 * Any failure (the socket's, the daemon's protocol, an error answer without id, a request not
 * answered in time) rejects every pending request and ends the connection: nothing read after it
 * could be trusted to match.
 */
export class RequestConnection {
  private pending: PendingRequest[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly socket: net.Socket,
    maxLineBytes: number,
    private readonly onFailure: () => void,
  ) {
    const splitter = new LineSplitter(maxLineBytes);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of splitter.push(chunk)) this.answer(parseAnswer(line));
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on('error', (cause) =>
      this.fail(new EgressdConnectionError(`the connection to egressd failed: ${cause.message}`, { cause })),
    );
    socket.on('close', () =>
      this.fail(
        new EgressdConnectionError(
          splitter.hasPartialLine()
            ? 'egressd closed the connection in the middle of an answer'
            : 'egressd closed the connection',
        ),
      ),
    );
  }

  send(id: RequestId, command: string, args: unknown, timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      // The requests behind one not answered in time would wait for it too: the connection is
      // dropped with all of them, and the next request is sent on a new one.
      const timer = setTimeout(
        () => this.fail(new EgressdTimeoutError(`egressd did not answer ${command} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const request: PendingRequest = {
        id,
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.pending.push(request);
      this.socket.write(JSON.stringify(args === undefined ? { id, command } : { id, command, args }) + '\n');
    });
  }

  close(): void {
    this.fail(new EgressdConnectionError('the client was closed'));
  }

  private answer(answer: Answer): void {
    if (answer.id === null) {
      // The daemon could not tell which request this answers (permission-denied is sent this way).
      throw answer.ok ? new EgressdProtocolError('egressd sent a successful answer without id') : answer.error;
    }
    const request = this.pending[0];
    if (request === undefined || request.id !== answer.id) {
      throw new EgressdProtocolError(
        `egressd answered request ${answer.id} where ${request === undefined ? 'none' : request.id} was due`,
      );
    }
    this.pending.shift();
    if (answer.ok) request.resolve(answer.data);
    else request.reject(answer.error);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const request of this.pending) request.reject(error);
    this.pending = [];
    this.socket.destroy();
    this.onFailure();
  }
}
