import type { PolicyProblem } from './protocol.js';

/** The error codes of protocol version 1: a caller branches on these. */
export type ErrorCode =
  | 'invalid-request'
  | 'unknown-command'
  | 'invalid-policy'
  | 'unsupported-policy'
  | 'conflict'
  | 'not-attached'
  | 'enforcement-failed'
  | 'permission-denied'
  | 'internal';

/** The daemon refused or failed a request; `code` says why, subclasses carry the details. */
export class EgressdError<C extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    /** Every field of the wire error besides `code` and `message`. */
    readonly details: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request was malformed; `field` names the field at fault when there is one. */
export class InvalidRequestError extends EgressdError<'invalid-request'> {
  readonly field: string | undefined;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('invalid-request', message, details);
    this.field = optionalString(details, 'field');
  }
}

/** The daemon knows no such command (it may be older than this client). */
export class UnknownCommandError extends EgressdError<'unknown-command'> {
  readonly command: string | undefined;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('unknown-command', message, details);
    this.command = optionalString(details, 'command');
  }
}

/** The policy does not parse: each problem is positioned in `source` (a policy name or `text`). */
export class InvalidPolicyError extends EgressdError<'invalid-policy'> {
  readonly problems: readonly PolicyProblem[];
  readonly source: string | undefined;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('invalid-policy', message, details);
    this.problems = policyProblems(details['problems']);
    this.source = optionalString(details, 'source');
  }
}

/** The policy parses, but this daemon's enforcer cannot enforce it; `hint` says what would. */
export class UnsupportedPolicyError extends EgressdError<'unsupported-policy'> {
  readonly hint: string | undefined;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('unsupported-policy', message, details);
    this.hint = optionalString(details, 'hint');
  }
}

/** The id is attached with another endpoint, or an address belongs to another container. */
export class ConflictError extends EgressdError<'conflict'> {
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('conflict', message, details);
  }
}

/** `update` of a container that is not attached. */
export class NotAttachedError extends EgressdError<'not-attached'> {
  readonly containerId: string | undefined;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('not-attached', message, details);
    this.containerId = optionalString(details, 'containerId');
  }
}

/** The kernel state could not be installed or removed: the container must not be allowed to work. */
export class EnforcementFailedError extends EgressdError<'enforcement-failed'> {
  readonly hint: string | undefined;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('enforcement-failed', message, details);
    this.hint = optionalString(details, 'hint');
  }
}

/** This process's user or group may not use the daemon; the daemon closes the connection. */
export class PermissionDeniedError extends EgressdError<'permission-denied'> {
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('permission-denied', message, details);
  }
}

/** A bug in egressd; its log says more. */
export class InternalError extends EgressdError<'internal'> {
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super('internal', message, details);
  }
}

/** The connection could not be opened, was lost, or the client was closed. */
export class EgressdConnectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EgressdConnectionError';
  }
}

/** No answer in time. The daemon may still carry the request out (a late `attach` may still attach). */
export class EgressdTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EgressdTimeoutError';
  }
}

/** The daemon broke the protocol (a line too long, not JSON, an answer out of order): the connection is dropped. */
export class EgressdProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EgressdProtocolError';
  }
}

type Details = Readonly<Record<string, unknown>>;

// One constructor per code: a code added to ErrorCode fails to compile until it is mapped here.
const ERROR_BY_CODE: { [C in ErrorCode]: new (message: string, details: Details) => EgressdError<C> } = {
  'invalid-request': InvalidRequestError,
  'unknown-command': UnknownCommandError,
  'invalid-policy': InvalidPolicyError,
  'unsupported-policy': UnsupportedPolicyError,
  conflict: ConflictError,
  'not-attached': NotAttachedError,
  'enforcement-failed': EnforcementFailedError,
  'permission-denied': PermissionDeniedError,
  internal: InternalError,
};

/**
 * The typed error for an answer's `error` object.
 *
 * @throws EgressdProtocolError when it is not an error as protocol version 1 writes one
 */
export function errorFromWire(error: unknown): EgressdError {
  if (!isRecord(error)) {
    throw new EgressdProtocolError('an error answer has no error object');
  }
  const { code, message, ...details } = error;
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_BY_CODE, code)) {
    throw new EgressdProtocolError(`an error answer has an unknown code: ${JSON.stringify(code)}`);
  }
  if (typeof message !== 'string') {
    throw new EgressdProtocolError(`the ${code} error has no message`);
  }
  return new ERROR_BY_CODE[code as ErrorCode](message, details);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(details: Details, field: string): string | undefined {
  const value = details[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new EgressdProtocolError(`the error's ${field} is not a string`);
  }
  return value;
}

function policyProblems(value: unknown): PolicyProblem[] {
  const valid =
    Array.isArray(value) &&
    value.every(
      (problem) =>
        isRecord(problem) &&
        Number.isInteger(problem['line']) &&
        Number.isInteger(problem['column']) &&
        typeof problem['message'] === 'string',
    );
  if (!valid) {
    throw new EgressdProtocolError('an invalid-policy error has no well-formed problems');
  }
  return value as PolicyProblem[];
}
