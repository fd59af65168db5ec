// The values of egressd protocol version 1, as the contract (egressd-protocol.md) gives them.

/** The protocol version this client speaks; `version` and `status` report the daemon's. */
export const PROTOCOL_VERSION = 1;

/** ISO-8601 UTC with milliseconds, e.g. `2026-11-29T14:02:11.123Z`. */
export type Timestamp = string;

/** A container as the network sees it: every address it can send from, IPv4 and IPv6. */
export interface Container {
  /** 1-200 printable ASCII characters without spaces. */
  readonly id: string;
  readonly addresses: readonly string[];
  /** Needed by policies that name `gateway`. */
  readonly gateway?: string;
}

/** A policy file `NAME.policy` in the daemon's policy directory, or policy text. */
export type PolicyRef = { readonly name: string } | { readonly text: string };

export interface PolicyProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export type Backend = 'nftables' | 'pf';

export interface VersionData {
  readonly protocol: number;
  readonly egressd: string;
  readonly backend: Backend;
}

export interface AttachArgs {
  readonly container: Container;
  readonly policy: PolicyRef;
}

export interface UpdateArgs {
  readonly containerId: string;
  readonly policy: PolicyRef;
}

/** What `attach` and `update` answer: the policy in force, in canonical text. */
export interface AttachData {
  readonly containerId: string;
  readonly ruleSet: string;
  readonly policy: { readonly name?: string; readonly text: string };
}

export interface DetachArgs {
  readonly containerId: string;
}

export interface DetachData {
  readonly containerId: string;
  readonly wasAttached: boolean;
}

export interface ReconcileArgs {
  /** Every container that really runs; the rule sets of all others are removed. */
  readonly liveContainerIds: readonly string[];
}

export interface ReconcileData {
  readonly detached: readonly string[];
  readonly orphanRuleSetsRemoved: readonly string[];
  readonly repaired: readonly string[];
}

export interface CheckArgs {
  readonly text: string;
}

/** Checking is not failing: an invalid policy is a successful answer. */
export type CheckData =
  | { readonly valid: true; readonly summary: string }
  | { readonly valid: false; readonly problems: readonly PolicyProblem[] };

export interface AttachmentStatus {
  readonly container: Container;
  readonly ruleSet: string;
  readonly policy: { readonly name?: string; readonly text: string };
  readonly attachedAt: Timestamp;
  /** What the container's rules let through and refused; absent when its rules were not found. */
  readonly traffic?: TrafficCounters;
}

/**
 * Packets and bytes as the kernel counts them on the container's rules, since they were last loaded
 * (attach, update, repair of drift); see the protocol document for what each backend counts.
 */
export interface TrafficCounters {
  readonly allowedPackets: number;
  readonly allowedBytes: number;
  readonly refusedPackets: number;
  readonly refusedBytes: number;
}

export interface ResolvedName {
  readonly name: string;
  readonly addresses: readonly string[];
  /**
   * `resolved` (the last lookup answered), `grace` (lookups fail; the last good addresses are kept
   * until their grace time ends) or `unresolved` (no addresses: never answered, or answered with none).
   */
  readonly state: 'resolved' | 'grace' | 'unresolved';
  /** When the earliest of the addresses' TTLs ends; absent when there are none. */
  readonly expiresAt?: Timestamp;
  /** The latest lookup's failure, when it failed. */
  readonly lastError?: string;
}

export interface HealthProblem {
  readonly what: string;
  readonly fix: string;
}

/** Totals since the daemon started, and (`connections`, `subscribers`) what is open now. */
export interface Counters {
  /** Requests answered. */
  readonly requests: number;
  /** Successful attach commands. */
  readonly attaches: number;
  /** Containers detached, by detach or by reconcile. */
  readonly detaches: number;
  /** Requests answered with an error. */
  readonly failures: number;
  /** Connections open now, the one asking included. */
  readonly connections: number;
  /** Subscriptions open now. */
  readonly subscribers: number;
}

export interface StatusData extends VersionData {
  readonly attachments: readonly AttachmentStatus[];
  readonly resolver: { readonly names: readonly ResolvedName[] };
  readonly health: { readonly problems: readonly HealthProblem[] };
  readonly counters: Counters;
  /** Why no attachment has `traffic`: the kernel's counters could not be read. */
  readonly trafficError?: string;
}

/**
 * Each request command's arguments and answer data; the client's methods are typed from this map.
 * `subscribe` is not here: it turns its connection into an event stream (see subscription.ts).
 */
export interface Commands {
  version: { args: undefined; data: VersionData };
  attach: { args: AttachArgs; data: AttachData };
  update: { args: UpdateArgs; data: AttachData };
  detach: { args: DetachArgs; data: DetachData };
  reconcile: { args: ReconcileArgs; data: ReconcileData };
  status: { args: undefined; data: StatusData };
  check: { args: CheckArgs; data: CheckData };
}

export type CommandName = keyof Commands;

interface EventBase {
  readonly time: Timestamp;
  readonly ruleSet?: string;
}

/** A policy now applies to the container (`policy` is its canonical text). */
export interface AttachedEvent extends EventBase {
  readonly type: 'attached';
  readonly containerId: string;
  readonly policy: string;
}

export interface UpdatedEvent extends EventBase {
  readonly type: 'updated';
  readonly containerId: string;
  readonly policy: string;
}

/**
 * The container's rules and tracked connections are gone. Without `containerId` for rules that no
 * attachment of this daemon owned (found installed, removed by `reconcile`): `ruleSet` names them.
 */
export interface DetachedEvent extends EventBase {
  readonly type: 'detached';
  readonly containerId?: string;
}

/** Names of the container's policy resolve to new addresses, and the rules follow them. */
export interface AddressesRefreshedEvent extends EventBase {
  readonly type: 'addresses-refreshed';
  readonly containerId: string;
  readonly changed: readonly string[];
}

/** Kernel state differed from what the daemon installed; `description` says how to fix it if not repaired. */
export interface DriftDetectedEvent extends EventBase {
  readonly type: 'drift-detected';
  readonly containerId?: string;
  readonly description: string;
  readonly repaired: boolean;
}

/**
 * An operation failed; what it leaves behind is as the operation's contract says. `operation` is
 * the enforcer's (`attach`, `update`, `detach`, `remove`, `refresh`, `repair`) or `reload`: the
 * policy file the container was attached with no longer reads, and it keeps its last good policy.
 */
export interface FailedEvent extends EventBase {
  readonly type: 'failed';
  readonly containerId?: string;
  readonly operation: string;
  readonly message: string;
}

/** The subscriber read too slowly: `dropped` events were lost and the daemon closes the stream. */
export interface OverflowEvent {
  readonly type: 'overflow';
  readonly time: Timestamp;
  readonly dropped: number;
}

/** What the DNS filter answered to one query of a container whose policy says `dns filter`. */
export type DnsVerdict =
  | 'answered'
  | 'refused-name'
  | 'refused-type'
  | 'no-such-name'
  | 'upstream-failed'
  | 'grant-failed'
  | 'malformed';

/**
 * The DNS filter answered a query: `name` as asked (bytes other than letters, digits and hyphens
 * escaped as `\ddd`), `granted` the addresses put into the container's sets for this answer.
 */
export interface DnsQueryEvent extends EventBase {
  readonly type: 'dns-query';
  readonly containerId: string;
  readonly name: string;
  readonly queryType: string;
  readonly verdict: DnsVerdict;
  readonly granted: readonly string[];
}

/** The container asked for `uniqueNames` different names under `wildcard` within the window. */
export interface WildcardBurstEvent extends EventBase {
  readonly type: 'wildcard-burst';
  readonly containerId: string;
  readonly wildcard: string;
  readonly uniqueNames: number;
  readonly windowSeconds: number;
}

/** Why the filter refused a packet: the rule that matched it. */
export type DeniedReason = 'not-in-policy' | 'dns-foreign-resolver' | 'guard-unattached' | 'spoofed-source';

/**
 * The filter refused a packet (the audit trail, when egressd is configured with an audit file).
 * `containerId` when a container held the source address at that moment; the guard's refusals of
 * unattached or forged sources name none. `port` for TCP and UDP; `host` when the name the
 * container was last given for the destination is known; `time` is the kernel's.
 */
export interface DeniedEvent extends EventBase {
  readonly type: 'denied';
  readonly containerId?: string;
  readonly source: string;
  readonly destination: string;
  readonly port?: number;
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  readonly reason: DeniedReason;
  readonly host?: string;
}

export type EgressEvent =
  | AttachedEvent
  | UpdatedEvent
  | DetachedEvent
  | AddressesRefreshedEvent
  | DriftDetectedEvent
  | FailedEvent
  | OverflowEvent
  | DnsQueryEvent
  | WildcardBurstEvent
  | DeniedEvent;

export type EventType = EgressEvent['type'];
