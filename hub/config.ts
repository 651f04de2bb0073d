import { readFile } from 'node:fs/promises';
import { DcloudError } from '../protocol/errors.ts';
import { type CoreParams, DEFAULT_PARAMS, mergeParams, type PartialCoreParams, SCHEDULING_POLICIES, type ValidationPolicyName } from '../src/core/params.ts';

/**
 * The validation policies the hub carries out (docs/VALIDATION.md). `credibility` is the default.
 * It needs a source of verified records, or no agent could ever earn the record its vote needs and
 * nothing would be accepted: known-answer tasks (the spot-check image, `busybox:1.36` unless told
 * otherwise), agents the operator vouches for (`--trusted-agents`), or both. With neither
 * (`--spot-check-image ''` and no trusted agent) it is refused at start; the thesis' `trust-sum`
 * is chosen explicitly, never fallen back to (a silent fallback would hand the hub to whoever
 * mints the most keys).
 */
const HUB_VALIDATION_POLICIES: readonly ValidationPolicyName[] = ['credibility', 'trust-sum'];

/** The spot-check image of a hub not told otherwise: Docker Hub's official busybox (about 2 MB, has sh and echo). */
export const DEFAULT_SPOT_CHECK_IMAGE = 'busybox:1.36';
import { InvalidParamsError } from '../src/core/errors.ts';

/**
 * Every parameter of a hub, from four sources with one precedence: command-line flags, then
 * environment variables (DCLOUD_HUB_*), then a JSON config file, then the defaults. One table
 * below names each parameter once (its file key, flag, variable, type and default); the CLI builds
 * its options from it, so a parameter cannot exist in one source and be missing from another.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface HubConfig {
  dataDir: string;
  http: { host: string; port: number };
  logLevel: LogLevel;
  /** How often the engine runs a scheduling pass. */
  tickMs: number;
  /** How old a signed envelope may be and still be accepted. */
  freshnessMs: number;
  /** How far in the future a signed envelope may be dated (senders' clocks drift). */
  clockSkewMs: number;
  /** Image pulls (validations) running at once. */
  validationConcurrency: number;
  /** How long a successful image validation is reused. */
  imageCacheMs: number;
  rateLimit: { perAddress: number; perKey: number; windowMs: number };
  bodyLimit: number;
  resultBodyLimit: number;
  sseKeepAliveMs: number;
  /** Image of the known-answer tasks (spot-checks, credibility policy); absent: none. */
  spotCheckImage?: string;
  /** Agents (node ids or public keys) the operator vouches for: they start with a verified record (credibility policy). */
  trustedAgents: string[];
  /** Registration gates: proof-of-work bits asked of new keys (0: none), operator approval of new agents. */
  registration: { powBits: number; approve: boolean };
  /** Placement diversity: never two replicas of a task in one address block, never on its submitter's key. */
  placementDiversity: boolean;
  /** The hub's federation (docs/FEDERATION.md); it runs alone when `listen` is empty. */
  federation: {
    listen: string[];
    bootstrap: string[];
    peerAllow: string[];
    announce: string[];
    syncIntervalMs: number;
    leaseMs: number;
  };
  params: CoreParams;
}

export class ConfigError extends DcloudError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, 400);
    this.name = 'ConfigError';
  }
}

type Kind =
  /** `empty`: '' is a value (none), not a mistake. */
  | { type: 'string'; empty?: boolean }
  | { type: 'hostport' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'number' }
  | { type: 'boolean' }
  | { type: 'integer'; min: number; max: number }
  /** Several values: a JSON array of strings in the file, comma-separated in a variable, a repeated flag. */
  | { type: 'list' };

type Value = string | number | boolean | string[];

export interface HubParam {
  /** Dotted key in the config file, e.g. `params.trust.initial`. */
  readonly path: string;
  /** Long flag without dashes, e.g. `trust-initial`; the variable is DCLOUD_HUB_TRUST_INITIAL. */
  readonly flag: string;
  readonly kind: Kind;
  readonly default: string | number | boolean;
  readonly describe: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const ms = (min: number, max = 86_400_000): Kind => ({ type: 'integer', min, max });
const count = (min: number, max = 1e9): Kind => ({ type: 'integer', min, max });
const p = DEFAULT_PARAMS;

export const HUB_PARAMS: readonly HubParam[] = [
  { path: 'data', flag: 'data', kind: { type: 'string' }, default: './.dcloud/hub', describe: 'data directory (LevelDB store, hub key)' },
  { path: 'http', flag: 'http', kind: { type: 'hostport' }, default: '127.0.0.1:8080', describe: 'HTTP API address HOST:PORT (port 0: any free port)' },
  { path: 'logLevel', flag: 'log-level', kind: { type: 'enum', values: LOG_LEVELS }, default: 'info', describe: 'log level (logs go to stderr)' },
  { path: 'tickMs', flag: 'tick-ms', kind: ms(10, 60_000), default: 1000, describe: 'scheduling pass interval, ms' },
  { path: 'freshnessMs', flag: 'freshness-ms', kind: ms(1000, 3_600_000), default: 120_000, describe: 'how old a signed envelope may be, ms' },
  { path: 'clockSkewMs', flag: 'clock-skew-ms', kind: ms(0, 3_600_000), default: 30_000, describe: 'how far in the future a signed envelope may be dated, ms' },
  { path: 'validationConcurrency', flag: 'validation-concurrency', kind: count(1, 256), default: 4, describe: 'image validations (pulls) at once' },
  { path: 'imageCacheMs', flag: 'image-cache-ms', kind: ms(0), default: 60_000, describe: 'how long a successful image validation is reused, ms (0: pull for every task)' },
  { path: 'rateLimit.perAddress', flag: 'rate-limit-address', kind: count(0), default: 600_000, describe: 'requests per window from one address (0: no limit)' },
  { path: 'rateLimit.perKey', flag: 'rate-limit-key', kind: count(0), default: 600, describe: 'signed requests per window from one key (0: no limit)' },
  { path: 'rateLimit.windowMs', flag: 'rate-limit-window-ms', kind: ms(100), default: 60_000, describe: 'rate-limit window, ms' },
  { path: 'bodyLimit', flag: 'body-limit', kind: count(KiB, 64 * MiB), default: 512 * KiB, describe: 'largest request body, bytes' },
  { path: 'resultBodyLimit', flag: 'result-body-limit', kind: count(KiB, 64 * MiB), default: 2 * MiB, describe: 'largest result body, bytes' },
  { path: 'sseKeepAliveMs', flag: 'sse-keep-alive-ms', kind: ms(100), default: 15_000, describe: 'keep-alive comment interval on /v1/events, ms' },
  // Validation that many keys cannot buy (docs/VALIDATION.md) and registration gates (docs/HUB-ENGINE.md).
  { path: 'spotCheck.image', flag: 'spot-check-image', kind: { type: 'string', empty: true }, default: DEFAULT_SPOT_CHECK_IMAGE, describe: 'image (with sh and echo) of the known-answer tasks the credibility policy tests agents with; \'\': no spot-checks (then credibility needs --trusted-agents)' },
  { path: 'trustedAgents', flag: 'trusted-agents', kind: { type: 'list' }, default: '', describe: 'node id (or public key) of an agent the operator vouches for: it starts with a verified record, which it loses at once if caught wrong (repeatable)' },
  { path: 'registration.powBits', flag: 'registration-pow-bits', kind: count(0, 32), default: 0, describe: 'proof-of-work bits a new agent key must pay to register (0: none)' },
  { path: 'placementDiversity', flag: 'placement-diversity', kind: { type: 'boolean' }, default: false, describe: 'never two replicas of a task on agents registered from one /24 (IPv4) or /48 (IPv6), nor on the submitter\'s own key' },
  { path: 'registration.approve', flag: 'approve-agents', kind: { type: 'boolean' }, default: false, describe: 'new agents get no work until the operator approves them (POST /v1/admin/agents/:id/approve from the hub\'s machine)' },
  // The federation (docs/FEDERATION.md); without a listen address the hub runs alone.
  { path: 'federation.listen', flag: 'listen', kind: { type: 'list' }, default: '', describe: 'libp2p address to meet other hubs on, e.g. /ip4/0.0.0.0/tcp/4001 (repeatable; none: the hub runs alone)' },
  { path: 'federation.bootstrap', flag: 'bootstrap', kind: { type: 'list' }, default: '', describe: 'another hub\'s full address, …/p2p/<peer id>, as its GET /v1/federation shows (repeatable)' },
  { path: 'federation.peerAllow', flag: 'peer-allow', kind: { type: 'list' }, default: '', describe: 'peer id of a hub allowed in this federation; when given, no other peer is (repeatable)' },
  { path: 'federation.announce', flag: 'announce', kind: { type: 'list' }, default: '', describe: 'address to tell other hubs instead of the listen address (behind NAT; repeatable)' },
  { path: 'federation.syncIntervalMs', flag: 'sync-interval-ms', kind: ms(100, 3_600_000), default: 30_000, describe: 'interval of the catch-up sync with every connected hub, ms' },
  { path: 'federation.leaseMs', flag: 'lease-ms', kind: ms(500), default: 60_000, describe: 'silence after which a task\'s deciding hub is replaced by the lowest live hub, ms' },
  // The core's parameters (src/core/params.ts); their ranges are checked by mergeParams.
  { path: 'params.trust.initial', flag: 'trust-initial', kind: { type: 'number' }, default: p.trust.initial, describe: 'trust of a new agent' },
  { path: 'params.trust.min', flag: 'trust-min', kind: { type: 'number' }, default: p.trust.min, describe: 'lowest trust' },
  { path: 'params.trust.max', flag: 'trust-max', kind: { type: 'number' }, default: p.trust.max, describe: 'highest trust' },
  { path: 'params.trust.reward', flag: 'trust-reward', kind: { type: 'number' }, default: p.trust.reward, describe: 'trust gained for agreeing with consensus' },
  { path: 'params.trust.penalty', flag: 'trust-penalty', kind: { type: 'number' }, default: p.trust.penalty, describe: 'trust lost for disagreeing' },
  { path: 'params.validation.policy', flag: 'validation-policy', kind: { type: 'enum', values: HUB_VALIDATION_POLICIES }, default: 'credibility', describe: 'validation policy: credibility (needs a spot-check image or trusted agents), or the thesis\' trust-sum' },
  { path: 'params.validation.threshold', flag: 'validation-threshold', kind: { type: 'number' }, default: p.validation.threshold, describe: 'winning share needed to accept a result, (0, 1]' },
  { path: 'params.credibility.epsilon', flag: 'credibility-epsilon', kind: { type: 'number' }, default: p.credibility.epsilon, describe: 'credibility policy: accept once a result is right with probability 1 - epsilon, (0, 0.5)' },
  { path: 'params.credibility.growth', flag: 'credibility-growth', kind: { type: 'number' }, default: p.credibility.growth, describe: 'credibility policy: log-odds an agent gains per verified result' },
  { path: 'params.credibility.maxRecord', flag: 'credibility-max-record', kind: count(1, 1_000_000), default: p.credibility.maxRecord, describe: 'credibility policy: verified results counted at most' },
  { path: 'params.credibility.witness', flag: 'credibility-witness', kind: { type: 'number' }, default: p.credibility.witness, describe: 'credibility policy: credibility the other voters must give a result for an agreeing vote to count, and for a newcomer to leave probation, (0.5, 1)' },
  { path: 'params.credibility.initialReplicas', flag: 'credibility-initial-replicas', kind: count(1, 64), default: p.credibility.initialReplicas, describe: 'credibility policy: replicas a round starts with' },
  { path: 'params.credibility.maxReplicas', flag: 'credibility-max-replicas', kind: count(1, 64), default: p.credibility.maxReplicas, describe: 'credibility policy: replicas a round may grow to before it fails' },
  { path: 'params.credibility.audit', flag: 'credibility-audit', kind: { type: 'number' }, default: p.credibility.audit, describe: 'credibility policy: least probability that a result resting on one agent is cross-checked, [0, 1]' },
  { path: 'params.credibility.spotCheckRate', flag: 'credibility-spot-check-rate', kind: { type: 'number' }, default: p.credibility.spotCheckRate, describe: 'credibility policy: share of work requests answered with a known-answer task after probation, [0, 1)' },
  { path: 'params.scheduling.policy', flag: 'policy', kind: { type: 'enum', values: SCHEDULING_POLICIES }, default: p.scheduling.policy, describe: 'scheduling policy' },
  { path: 'params.scheduling.activeQueueSize', flag: 'active-queue-size', kind: { type: 'number' }, default: p.scheduling.activeQueueSize, describe: 'tasks considered per scheduling pass' },
  { path: 'params.scheduling.stalePenalty', flag: 'stale-penalty', kind: { type: 'number' }, default: p.scheduling.stalePenalty, describe: 'priority lost per failure' },
  { path: 'params.scheduling.staleCeiling', flag: 'stale-ceiling', kind: { type: 'number' }, default: p.scheduling.staleCeiling, describe: 'staleness at which a task is abandoned' },
  { path: 'params.scheduling.inProgressBoost', flag: 'in-progress-boost', kind: { type: 'number' }, default: p.scheduling.inProgressBoost, describe: 'priority factor for tasks already running' },
  { path: 'params.taskDefaults.minTrust', flag: 'default-min-trust', kind: { type: 'number' }, default: p.taskDefaults.minTrust, describe: 'trust a task requires when it does not say' },
  { path: 'params.taskDefaults.overlap', flag: 'default-overlap', kind: { type: 'number' }, default: p.taskDefaults.overlap, describe: 'replicas per task when it does not say' },
  { path: 'params.agents.heartbeatIntervalMs', flag: 'heartbeat-interval-ms', kind: { type: 'number' }, default: p.agents.heartbeatIntervalMs, describe: 'heartbeat interval agents are told to keep, ms' },
  { path: 'params.agents.inactiveAfterMs', flag: 'heartbeat-timeout-ms', kind: { type: 'number' }, default: p.agents.inactiveAfterMs, describe: 'an agent silent this long is inactive, ms' },
  { path: 'params.assignments.graceMs', flag: 'assignment-grace-ms', kind: { type: 'number' }, default: p.assignments.graceMs, describe: 'time beyond a task\'s timeout before its assignment expires, ms' },
];

export const ENV_PREFIX = 'DCLOUD_HUB_';
export const CONFIG_ENV = `${ENV_PREFIX}CONFIG`;

export function envName(param: HubParam): string {
  return ENV_PREFIX + param.flag.toUpperCase().replaceAll('-', '_');
}

/** Flag values by flag name, as the command line gave them (strings), absent when not given. */
export type FlagValues = Readonly<Record<string, string | undefined>>;

export interface ConfigSources {
  flags: FlagValues;
  env: Readonly<Record<string, string | undefined>>;
  /** The parsed config file and its name (for messages). */
  file?: { name: string; json: unknown };
  /** Defaults of the caller (`dcloud up`), as flag text, in place of the table's where no source gives a value. */
  defaults?: FlagValues;
}

/**
 * Resolves the configuration from already-read sources (pure: no I/O). Throws ConfigError naming
 * the source and the parameter of the first bad value.
 */
export function resolveHubConfig(sources: ConfigSources): HubConfig {
  const fileValues = sources.file === undefined ? new Map<string, unknown>() : flattenFile(sources.file.name, sources.file.json);
  const values = new Map<string, Value>();
  const origin = new Map<string, string>();
  for (const param of HUB_PARAMS) {
    const flag = sources.flags[param.flag];
    const env = sources.env[envName(param)];
    let value: Value;
    let from: string;
    if (flag !== undefined) [value, from] = [parseText(`--${param.flag}`, param, flag), `--${param.flag}`];
    else if (env !== undefined && env !== '') [value, from] = [parseText(envName(param), param, env), envName(param)];
    else if (fileValues.has(param.path)) {
      from = `${sources.file?.name}: ${param.path}`;
      value = checkJson(from, param, fileValues.get(param.path));
    } else {
      const given = sources.defaults?.[param.flag];
      [value, from] = given !== undefined ? [parseText(`default --${param.flag}`, param, given), 'default'] : [param.kind.type === 'list' ? [] : param.default, 'default'];
    }
    values.set(param.path, value);
    origin.set(param.path, from);
  }

  // Every value was checked against its param's kind above.
  const num = (path: string) => values.get(path) as number;
  const str = (path: string) => values.get(path) as string;
  const list = (path: string) => values.get(path) as string[];
  const http = parseHostPort(str('http'));
  const partial: Record<string, Record<string, unknown>> = {};
  for (const [path, value] of values) {
    if (!path.startsWith('params.')) continue;
    const [, section, field] = path.split('.') as [string, string, string];
    (partial[section] ??= {})[field] = value;
  }
  const spotCheckImage = str('spotCheck.image');
  const trustedAgents = list('trustedAgents').map((id) => id.toLowerCase());
  // A mistyped id would vouch for nobody, silently: refuse it.
  const notAnId = trustedAgents.find((id) => !/^(?:[0-9a-f]{32}|[0-9a-f]{64})$/.test(id));
  if (notAnId !== undefined) {
    throw new ConfigError(`${origin.get('trustedAgents')}: ${JSON.stringify(notAnId)} is not an agent's node id (32 hex digits) or public key (64 hex digits), as \`dcloud keys show\` and GET /v1/agents show them`);
  }
  if (values.get('params.validation.policy') === 'credibility' && spotCheckImage === '' && trustedAgents.length === 0) {
    throw new ConfigError(
      `invalid configuration (${origin.get('params.validation.policy')}, ${origin.get('spotCheck.image')}): the credibility policy needs --spot-check-image or --trusted-agents: without known-answer tasks or agents the operator vouches for, no agent can earn a record and no result could ever be accepted (or choose --validation-policy trust-sum)`,
    );
  }
  let params: CoreParams;
  try {
    params = mergeParams(partial as PartialCoreParams);
  } catch (err) {
    if (!(err instanceof InvalidParamsError)) throw err;
    const from = origin.get(`params.${err.field}`);
    throw new ConfigError(`invalid configuration (${from === undefined || from === 'default' ? 'params' : from}): ${err.message}`);
  }
  return {
    dataDir: str('data'),
    http,
    logLevel: str('logLevel') as LogLevel,
    tickMs: num('tickMs'),
    freshnessMs: num('freshnessMs'),
    clockSkewMs: num('clockSkewMs'),
    validationConcurrency: num('validationConcurrency'),
    imageCacheMs: num('imageCacheMs'),
    rateLimit: { perAddress: num('rateLimit.perAddress'), perKey: num('rateLimit.perKey'), windowMs: num('rateLimit.windowMs') },
    bodyLimit: num('bodyLimit'),
    resultBodyLimit: num('resultBodyLimit'),
    sseKeepAliveMs: num('sseKeepAliveMs'),
    ...(spotCheckImage === '' ? {} : { spotCheckImage }),
    trustedAgents,
    registration: { powBits: num('registration.powBits'), approve: values.get('registration.approve') as boolean },
    placementDiversity: values.get('placementDiversity') as boolean,
    federation: {
      listen: list('federation.listen'),
      bootstrap: list('federation.bootstrap'),
      peerAllow: list('federation.peerAllow'),
      announce: list('federation.announce'),
      syncIntervalMs: num('federation.syncIntervalMs'),
      leaseMs: num('federation.leaseMs'),
    },
    params,
  };
}

/** Reads the config file named by `--config` (or DCLOUD_HUB_CONFIG), then resolves. */
export async function loadHubConfig(options: { configFile?: string; flags: FlagValues; env: Readonly<Record<string, string | undefined>>; defaults?: FlagValues }): Promise<HubConfig> {
  const name = options.configFile ?? (options.env[CONFIG_ENV] || undefined);
  let file: ConfigSources['file'];
  if (name !== undefined) {
    let text: string;
    try {
      text = await readFile(name, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${name}: ${(err as Error).message}`);
    }
    try {
      file = { name, json: JSON.parse(text) };
    } catch (err) {
      throw new ConfigError(`config file ${name} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return resolveHubConfig({ flags: options.flags, env: options.env, file, ...(options.defaults === undefined ? {} : { defaults: options.defaults }) });
}

export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535) throw new ConfigError(`${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:0)`);
  return { host: match[1] ?? match[2]!, port };
}

const PATHS = new Set(HUB_PARAMS.map((param) => param.path));

/** The file's values by dotted path; an unknown key is an error (a typo must not be ignored). */
function flattenFile(name: string, json: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${name}: ${prefix === '' ? 'the file' : prefix} must be a JSON object`);
  }
  for (const [key, value] of Object.entries(json)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (PATHS.has(path)) out.set(path, value);
    else if ([...PATHS].some((known) => known.startsWith(`${path}.`))) flattenFile(name, value, path, out);
    else throw new ConfigError(`${name}: unknown setting ${path}`);
  }
  return out;
}

function parseText(source: string, param: HubParam, text: string): Value {
  const { kind } = param;
  if (kind.type === 'boolean') {
    const word = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(word)) return true;
    if (['false', '0', 'no', 'off'].includes(word)) return false;
    throw new ConfigError(`${source}: must be true or false (got ${JSON.stringify(text)})`);
  }
  if (kind.type === 'list') return checkJson(source, param, text.split(',').map((item) => item.trim()).filter((item) => item !== ''));
  if (kind.type === 'number' || kind.type === 'integer') {
    const trimmed = text.trim();
    const value = trimmed === '' ? Number.NaN : Number(trimmed);
    return checkJson(source, param, value);
  }
  return checkJson(source, param, text);
}

function checkJson(source: string, param: HubParam, value: unknown): Value {
  const { kind } = param;
  const bad = (why: string) => new ConfigError(`${source}: ${why} (got ${JSON.stringify(value) ?? String(value)})`);
  switch (kind.type) {
    case 'string':
      if (typeof value !== 'string' || (value === '' && kind.empty !== true)) throw bad('must be a non-empty string');
      return value;
    case 'hostport':
      if (typeof value !== 'string') throw bad('must be a string HOST:PORT');
      try {
        parseHostPort(value);
      } catch (err) {
        throw bad((err as Error).message);
      }
      return value;
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value)) throw bad(`must be one of ${kind.values.join(', ')}`);
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('must be a number');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('must be true or false');
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('must be an integer');
      if (value < kind.min || value > kind.max) throw bad(`must be between ${kind.min} and ${kind.max}`);
      return value;
    case 'list':
      if (value === '') return []; // the default: none
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && /^\S+$/.test(item))) throw bad('must be a list of strings without white space');
      return value as string[];
  }
}
