export { connect, EgressdClient, type ConnectOptions } from './client.js';
export { backoffDelayMs, type BackoffOptions } from './backoff.js';
export type { StreamItem } from './subscription.js';
export {
  ConflictError,
  EgressdConnectionError,
  EgressdError,
  EgressdProtocolError,
  EgressdTimeoutError,
  EnforcementFailedError,
  InternalError,
  InvalidPolicyError,
  InvalidRequestError,
  NotAttachedError,
  PermissionDeniedError,
  UnknownCommandError,
  UnsupportedPolicyError,
  type ErrorCode,
} from './errors.js';
export * from './protocol.js';
