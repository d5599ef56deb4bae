/**
 * The relay's settings as CDK users write them: camelCase, `Duration` for every span of time,
 * enums for every closed set. `orgConfig`, `relayConfig` and `lakeConfig` turn them into the
 * configuration the functions read (schemas/config.schema.json, snake_case, whole seconds),
 * and refuse at synth time what the relay would refuse at start-up, naming the setting's path
 * (`orgs[1].logs.pageSize`), so a mistake never waits for the first run.
 */
import { Duration, Token } from 'aws-cdk-lib';

/** What an org's events become on the delivery bus. */
export enum OktaRelayOutput {
  /** The record as Okta sent it, with the relay's metadata. */
  RAW = 'raw',
  /** One OCSF 1.3 event per System Log event and per mapped directory object. */
  OCSF = 'ocsf',
  /** Both records. */
  BOTH = 'both',
}

/** Where an org's records go (contract.json `firehose.sinks`). */
export enum OktaRelaySink {
  /** The delivery bus and its rule to the SIEM's API destination: one HTTPS request a record. */
  EVENT_BUS = 'event_bus',
  /** The SIEM Firehose stream (`firehose.siem`): batched, gzip, retried for two hours. */
  SIEM_STREAM = 'siem_stream',
  /** The archive Firehose stream (`firehose.archive`): gzip NDJSON in S3 by org and day. */
  ARCHIVE_STREAM = 'archive_stream',
}

/** What the push path does with a partner event older than `maxEventAge`. */
export enum OktaRelayOldEvents {
  /** Forward it (counted and logged as old): a SIEM should not lose history. */
  FORWARD = 'forward',
  /** Drop it (its `uuid` logged, and counted). */
  DROP = 'drop',
}

/** System Log polling. */
export interface OktaRelayLogStream {
  /** Poll the System Log. Default true. */
  readonly enabled?: boolean;
  /** Events per page, 1 to 1000. Default 1000. */
  readonly pageSize?: number;
  /** How far back the first run starts. Default 24 hours. */
  readonly initialLookback?: Duration;
  /** Poll at most this often (0: every scheduled run). Default every run; with Log Streaming
   * on, an hour is enough (the pull path is then the safety net). */
  readonly interval?: Duration;
}

/** One directory stream's settings. Present (even empty) turns the stream on. */
export interface OktaRelayInventoryStream {
  /** How often a full snapshot is taken. Default the stream's own (docs/configuration.md). */
  readonly interval?: Duration;
  /** How often changes since the last snapshot are fetched, where Okta offers them. */
  readonly deltaInterval?: Duration;
  /** Objects per page, within Okta's limit for the endpoint. */
  readonly pageSize?: number;
}

/** The directory streams to collect: each one given is on. */
export interface OktaRelayInventory {
  readonly users?: OktaRelayInventoryStream;
  readonly groups?: OktaRelayInventoryStream;
  readonly groupMembers?: OktaRelayInventoryStream;
  readonly apps?: OktaRelayInventoryStream;
  readonly appUsers?: OktaRelayInventoryStream;
  readonly appGroups?: OktaRelayInventoryStream;
  readonly idps?: OktaRelayInventoryStream;
  readonly zones?: OktaRelayInventoryStream;
  readonly clients?: OktaRelayInventoryStream;
}

/** Which System Log event types to forward, on both paths. */
export interface OktaRelayEventTypes {
  /** Only these types (exact, or a prefix ending in `*`). Default all. */
  readonly allow?: string[];
  /** Never these types. */
  readonly deny?: string[];
}

/** The push path's policies and the stream watch. */
export interface OktaRelayPush {
  /** A partner event older than this is old. Default 24 hours. */
  readonly maxEventAge?: Duration;
  /** What happens to an old event. Default forward. */
  readonly oldEvents?: OktaRelayOldEvents;
  /** Log Streaming is reported silent after this long without an event. Default 15 minutes. */
  readonly silenceWindow?: Duration;
}

/** Settings of the whole relay; every one has a default that suits most deployments. */
export interface OktaRelayTuning {
  /** Share of each Okta rate-limit bucket left for the org's other integrations. Default 0.1. */
  readonly rateLimitReserve?: number;
  /** How long one attempt of an AWS call may take. Default 3 s. */
  readonly awsAttemptTimeout?: Duration;
  /** How long an AWS call may take with its retries. Default 10 s. */
  readonly awsCallTimeout?: Duration;
  /** How long one PutEvents attempt may take (an abandoned attempt may have been delivered).
   * Default 10 s. */
  readonly putEventsAttemptTimeout?: Duration;
  /** How often a configuration in an SSM parameter or S3 object is read again. Default 5 min. */
  readonly configReload?: Duration;
  /** The poller stops taking pages this long before its deadline. Default 45 s. */
  readonly deadlineMargin?: Duration;
  /** How long a dedupe mark suppresses the same id. Default 168 hours. */
  readonly dedupeTtl?: Duration;
  /** How long a stream lease lasts without renewal. Default 120 s. */
  readonly lease?: Duration;
  /** A pull stream is overdue this long after its interval. Default 15 minutes. */
  readonly overdueSlack?: Duration;
  /** PutEvents request size limit in bytes. Default 262 144. */
  readonly maxRequestBytes?: number;
  /** PutEvents requests in flight at once, 1 to 64. Default 16. */
  readonly putEventsInFlight?: number;
  /** `User-Agent` sent to Okta. Default `okta-relay/<version>`. */
  readonly userAgent?: string;
}

/** The inventory streams' configuration names. */
const INVENTORY_NAMES: Record<keyof OktaRelayInventory, string> = {
  users: 'users',
  groups: 'groups',
  groupMembers: 'group_members',
  apps: 'apps',
  appUsers: 'app_users',
  appGroups: 'app_groups',
  idps: 'idps',
  zones: 'zones',
  clients: 'clients',
};

/** Okta's largest System Log page. */
const MAX_LOG_PAGE = 1000;
/** The relay's bounds on PutEvents requests in flight. */
const MAX_IN_FLIGHT = 64;

type Json = Record<string, unknown>;

/** Refuses a value, naming its path. */
function refuse(path: string, problem: string): never {
  throw new Error(`okta-relay: ${path}: ${problem}`);
}

/** A whole number in [min, max], or a refusal naming `path`. Tokens pass (resolved at deploy). */
function whole(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (Token.isUnresolved(value)) return value as number;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    refuse(path, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** A duration in whole seconds (or hours), or a refusal naming `path`. */
function span(value: unknown, path: string, unit: 'seconds' | 'hours' = 'seconds'): number {
  if (!(value instanceof Duration)) refuse(path, `must be a Duration (Duration.minutes(5), …), not ${JSON.stringify(value)}`);
  try {
    return unit === 'hours' ? value.toHours() : value.toSeconds();
  } catch {
    return refuse(path, `must be a whole number of ${unit}, not ${value.toHumanString()}`);
  }
}

function member<T extends string>(value: unknown, path: string, allowed: Record<string, T>): T {
  const values = Object.values(allowed) as string[];
  if (!values.includes(value as string)) refuse(path, `must be one of ${values.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

/** Keeps only the entries whose value is defined. */
function defined(entries: [string, unknown][]): Json {
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}

/** Refuses keys a typed object does not have (a JavaScript caller's typo). */
function known(value: object, path: string, keys: string[]): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) refuse(`${path}.${key}`, `unknown setting (expected one of ${keys.join(', ')})`);
  }
}

function logsConfig(logs: OktaRelayLogStream, at: string): Json {
  known(logs, at, ['enabled', 'pageSize', 'initialLookback', 'interval']);
  return defined([
    ['enabled', logs.enabled],
    ['page_size', logs.pageSize === undefined ? undefined : whole(logs.pageSize, `${at}.pageSize`, 1, MAX_LOG_PAGE)],
    ['initial_lookback_hours', logs.initialLookback && span(logs.initialLookback, `${at}.initialLookback`, 'hours')],
    ['interval_seconds', logs.interval && span(logs.interval, `${at}.interval`)],
  ]);
}

function inventoryConfig(inventory: OktaRelayInventory, at: string): Json {
  known(inventory, at, Object.keys(INVENTORY_NAMES));
  const streams = Object.entries(inventory).filter(([, s]) => s !== undefined) as [keyof OktaRelayInventory, OktaRelayInventoryStream][];
  return Object.fromEntries(
    streams.map(([name, s]) => {
      const path = `${at}.${name}`;
      known(s, path, ['interval', 'deltaInterval', 'pageSize']);
      return [
        INVENTORY_NAMES[name],
        defined([
          ['interval_seconds', s.interval && span(s.interval, `${path}.interval`)],
          ['delta_interval_seconds', s.deltaInterval && span(s.deltaInterval, `${path}.deltaInterval`)],
          ['page_size', s.pageSize === undefined ? undefined : whole(s.pageSize, `${path}.pageSize`, 1)],
        ]),
      ];
    }),
  );
}

function pushConfig(push: OktaRelayPush, at: string): Json {
  known(push, at, ['maxEventAge', 'oldEvents', 'silenceWindow']);
  return defined([
    ['max_event_age_seconds', push.maxEventAge && span(push.maxEventAge, `${at}.maxEventAge`)],
    ['old_events', push.oldEvents && member(push.oldEvents, `${at}.oldEvents`, OktaRelayOldEvents)],
    ['silence_window_seconds', push.silenceWindow && span(push.silenceWindow, `${at}.silenceWindow`)],
  ]);
}

/** The settings of one org as the configuration spells them (without `name` and `secret_arn`). */
export interface OrgSettings {
  readonly logs?: OktaRelayLogStream;
  readonly inventory?: OktaRelayInventory;
  readonly eventTypes?: OktaRelayEventTypes;
  readonly push?: OktaRelayPush;
  readonly output?: OktaRelayOutput;
  /** Where the org's records go. Default `EVENT_BUS`. */
  readonly sink?: OktaRelaySink;
}

/** An org's settings in the configuration's form, checked; `at` is the org's path (`orgs[1]`). */
export function orgSettingsConfig(org: OrgSettings, at: string): Json {
  if (org.sink !== undefined) member(org.sink, `${at}.sink`, OktaRelaySink);
  const types = org.eventTypes;
  if (types) known(types, `${at}.eventTypes`, ['allow', 'deny']);
  return defined([
    ['logs', org.logs && logsConfig(org.logs, `${at}.logs`)],
    ['inventory', org.inventory && inventoryConfig(org.inventory, `${at}.inventory`)],
    ['event_types', types && defined([['allow', types.allow], ['deny', types.deny]])],
    ['push', org.push && pushConfig(org.push, `${at}.push`)],
    ['output', org.output && member(org.output, `${at}.output`, OktaRelayOutput)],
  ]);
}

/** The relay-wide settings in the configuration's form, checked. */
export function tuningConfig(t: OktaRelayTuning): Json {
  const at = 'tuning';
  known(t, at, [
    'rateLimitReserve', 'awsAttemptTimeout', 'awsCallTimeout', 'putEventsAttemptTimeout', 'configReload',
    'deadlineMargin', 'dedupeTtl', 'lease', 'overdueSlack', 'maxRequestBytes', 'putEventsInFlight', 'userAgent',
  ]);
  const reserve = t.rateLimitReserve;
  if (reserve !== undefined && !(typeof reserve === 'number' && reserve >= 0 && reserve < 1)) {
    refuse(`${at}.rateLimitReserve`, `must be a share from 0 up to (not including) 1, not ${JSON.stringify(reserve)}`);
  }
  const secs = (d: Duration | undefined, name: string) => d && span(d, `${at}.${name}`);
  return defined([
    ['rate_limit_reserve', reserve],
    ['aws_attempt_timeout_seconds', secs(t.awsAttemptTimeout, 'awsAttemptTimeout')],
    ['aws_call_timeout_seconds', secs(t.awsCallTimeout, 'awsCallTimeout')],
    ['put_events_attempt_timeout_seconds', secs(t.putEventsAttemptTimeout, 'putEventsAttemptTimeout')],
    ['config_reload_seconds', secs(t.configReload, 'configReload')],
    ['deadline_margin_seconds', secs(t.deadlineMargin, 'deadlineMargin')],
    ['dedupe_ttl_hours', t.dedupeTtl && span(t.dedupeTtl, `${at}.dedupeTtl`, 'hours')],
    ['lease_seconds', secs(t.lease, 'lease')],
    ['overdue_slack_seconds', secs(t.overdueSlack, 'overdueSlack')],
    ['max_request_bytes', t.maxRequestBytes === undefined ? undefined : whole(t.maxRequestBytes, `${at}.maxRequestBytes`, 1)],
    ['put_events_in_flight', t.putEventsInFlight === undefined ? undefined : whole(t.putEventsInFlight, `${at}.putEventsInFlight`, 1, MAX_IN_FLIGHT)],
    ['user_agent', t.userAgent],
  ]);
}

/** The lake's buffer settings, checked. */
export interface OktaRelayLakeBuffer {
  /** Events held before a flush. */
  readonly maxEvents?: number;
  /** Bytes held before a flush. */
  readonly maxBytes?: number;
  /** Longest a buffered event waits. */
  readonly maxAge?: Duration;
}

export function lakeBufferConfig(b: OktaRelayLakeBuffer): Json {
  const at = 'securityLake.buffer';
  known(b, at, ['maxEvents', 'maxBytes', 'maxAge']);
  return defined([
    ['max_buffer_events', b.maxEvents === undefined ? undefined : whole(b.maxEvents, `${at}.maxEvents`, 1)],
    ['max_buffer_bytes', b.maxBytes === undefined ? undefined : whole(b.maxBytes, `${at}.maxBytes`, 1)],
    ['max_buffer_seconds', b.maxAge && span(b.maxAge, `${at}.maxAge`)],
  ]);
}
