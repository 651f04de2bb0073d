import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_SPOT_CHECK_IMAGE, envName, HUB_PARAMS, loadHubConfig, parseHostPort, resolveHubConfig } from '../../hub/config.ts';
import { DEFAULT_PARAMS } from '../../src/core/params.ts';

const none = { flags: {}, env: {} };

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('hub configuration', () => {
  it('defaults to ./.dcloud/hub on 127.0.0.1:8080 with the core defaults, but the credibility policy', () => {
    const config = resolveHubConfig(none);
    expect(config.dataDir).toBe('./.dcloud/hub');
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    // The hub's default policy is not the core's (the simulator's thesis scenarios keep trust-sum).
    expect(config.params).toEqual({ ...DEFAULT_PARAMS, validation: { ...DEFAULT_PARAMS.validation, policy: 'credibility' } });
    expect(DEFAULT_PARAMS.validation.policy).toBe('trust-sum');
    expect(config.resultBodyLimit).toBeGreaterThan(config.bodyLimit);
  });

  it('runs the credibility policy by default, with spot-checks on Docker Hub\'s busybox and no trusted agents', () => {
    const config = resolveHubConfig(none);
    expect(config.params.validation.policy).toBe('credibility');
    expect(config.spotCheckImage).toBe(DEFAULT_SPOT_CHECK_IMAGE);
    expect(DEFAULT_SPOT_CHECK_IMAGE).toBe('busybox:1.36');
    expect(config.trustedAgents).toEqual([]);
    const image = '127.0.0.1:5000/dcloud/busybox:1';
    expect(resolveHubConfig({ flags: { 'spot-check-image': image }, env: {} }).spotCheckImage).toBe(image);
    expect(resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_SPOT_CHECK_IMAGE: image } }).spotCheckImage).toBe(image);
    expect(resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { spotCheck: { image } } } }).spotCheckImage).toBe(image);
    // The thesis' rule only when asked for; no image is then needed.
    const trustSum = resolveHubConfig({ flags: { 'validation-policy': 'trust-sum', 'spot-check-image': '' }, env: {} });
    expect(trustSum.params.validation.policy).toBe('trust-sum');
    expect(trustSum.spotCheckImage).toBeUndefined();
  });

  it('refuses credibility without any source of records, never falling back to the trust sum', () => {
    // No known-answer tasks and no trusted agent: no agent could ever earn a record. Refused, saying why.
    const refused = refusal(() => resolveHubConfig({ flags: { 'spot-check-image': '' }, env: {} }));
    expect(refused.message).toMatch(/--spot-check-image.*needs --spot-check-image or --trusted-agents/);
    expect(refusal(() => resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { spotCheck: { image: '' }, params: { validation: { policy: 'credibility' } } } } })).message).toMatch(
      /hub\.json: params\.validation\.policy, hub\.json: spotCheck\.image.*needs/,
    );
    // An empty variable means "not set" (as for every parameter): the default image stays.
    expect(resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_SPOT_CHECK_IMAGE: '' } }).spotCheckImage).toBe(DEFAULT_SPOT_CHECK_IMAGE);
    // Trusted agents are a source of records on their own.
    const nodeId = 'ab'.repeat(16);
    const trustedOnly = resolveHubConfig({ flags: { 'spot-check-image': '', 'trusted-agents': nodeId }, env: {} });
    expect(trustedOnly.params.validation.policy).toBe('credibility');
    expect(trustedOnly.spotCheckImage).toBeUndefined();
    expect(trustedOnly.trustedAgents).toEqual([nodeId]);
  });

  it('reads trusted agents from every source, and refuses what is not a node id or a public key', () => {
    const nodeId = 'AB'.repeat(16);
    const publicKey = 'cd'.repeat(32);
    expect(resolveHubConfig({ flags: { 'trusted-agents': `${nodeId},${publicKey}` }, env: {} }).trustedAgents).toEqual([nodeId.toLowerCase(), publicKey]);
    expect(resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_TRUSTED_AGENTS: publicKey } }).trustedAgents).toEqual([publicKey]);
    expect(resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { trustedAgents: [publicKey] } } }).trustedAgents).toEqual([publicKey]);
    expect(refusal(() => resolveHubConfig({ flags: { 'trusted-agents': 'my-laptop' }, env: {} })).message).toMatch(/--trusted-agents: "my-laptop" is not an agent's node id/);
    expect(refusal(() => resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { trustedAgents: [nodeId.slice(2)] } } })).message).toMatch(/hub\.json: trustedAgents/);
  });

  it('takes a caller\'s defaults (dcloud up) below every source', () => {
    const defaults = { 'spot-check-image': 'dcloud-test/busybox:1' };
    expect(resolveHubConfig({ flags: {}, env: {}, defaults }).spotCheckImage).toBe('dcloud-test/busybox:1');
    expect(resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_SPOT_CHECK_IMAGE: 'other:1' }, defaults }).spotCheckImage).toBe('other:1');
    expect(resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { spotCheck: { image: 'file:1' } } }, defaults }).spotCheckImage).toBe('file:1');
  });

  it('reads the registration gates: proof-of-work bits and operator approval', () => {
    expect(resolveHubConfig(none).registration).toEqual({ powBits: 0, approve: false });
    expect(resolveHubConfig(none).placementDiversity).toBe(false);
    expect(resolveHubConfig({ flags: { 'placement-diversity': 'on' }, env: {} }).placementDiversity).toBe(true);
    expect(resolveHubConfig({ flags: { 'registration-pow-bits': '16', 'approve-agents': 'true' }, env: {} }).registration).toEqual({ powBits: 16, approve: true });
    expect(resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_APPROVE_AGENTS: 'yes' } }).registration.approve).toBe(true);
    expect(resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { registration: { approve: true, powBits: 8 } } } }).registration).toEqual({ powBits: 8, approve: true });
    expect(refusal(() => resolveHubConfig({ flags: { 'approve-agents': 'maybe' }, env: {} })).message).toMatch(/--approve-agents: must be true or false/);
    expect(refusal(() => resolveHubConfig({ flags: { 'registration-pow-bits': '40' }, env: {} })).message).toMatch(/--registration-pow-bits/);
    expect(refusal(() => resolveHubConfig({ flags: {}, env: {}, file: { name: 'hub.json', json: { registration: { approve: 'yes' } } } })).message).toMatch(/registration.approve: must be true or false/);
  });

  it('names every parameter once, with a distinct flag, variable and file key', () => {
    const flags = HUB_PARAMS.map((p) => p.flag);
    const envs = HUB_PARAMS.map(envName);
    const paths = HUB_PARAMS.map((p) => p.path);
    expect(new Set(flags).size).toBe(HUB_PARAMS.length);
    expect(new Set(envs).size).toBe(HUB_PARAMS.length);
    expect(new Set(paths).size).toBe(HUB_PARAMS.length);
    expect(envs.every((e) => /^DCLOUD_HUB_[A-Z0-9_]+$/.test(e))).toBe(true);
    // Every core parameter of src/core/params.ts can be set.
    for (const [section, fields] of Object.entries(DEFAULT_PARAMS)) {
      for (const field of Object.keys(fields)) expect(paths).toContain(`params.${section}.${field}`);
    }
  });

  it('takes flags over environment over file over defaults', () => {
    const file = { name: 'hub.json', json: { params: { trust: { initial: 6 } }, tickMs: 250, http: '127.0.0.1:9000' } };
    const env = { DCLOUD_HUB_TRUST_INITIAL: '7', DCLOUD_HUB_TICK_MS: '300' };
    const flags = { 'trust-initial': '8' };
    expect(resolveHubConfig({ flags, env, file }).params.trust.initial).toBe(8);
    expect(resolveHubConfig({ flags: {}, env, file }).params.trust.initial).toBe(7);
    expect(resolveHubConfig({ flags: {}, env: {}, file }).params.trust.initial).toBe(6);
    const mixed = resolveHubConfig({ flags, env, file });
    expect(mixed.tickMs).toBe(300);
    expect(mixed.http).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(mixed.params.trust.max).toBe(DEFAULT_PARAMS.trust.max);
  });

  it('sets the scheduling policy, heartbeat timeout and rate limits from flags', () => {
    const config = resolveHubConfig({
      flags: { policy: 'fifo', 'heartbeat-timeout-ms': '5000', 'heartbeat-interval-ms': '1000', 'rate-limit-key': '0', 'validation-threshold': '0.75' },
      env: {},
    });
    expect(config.params.scheduling.policy).toBe('fifo');
    expect(config.params.agents.inactiveAfterMs).toBe(5000);
    expect(config.params.validation.threshold).toBe(0.75);
    expect(config.rateLimit.perKey).toBe(0);
  });

  it('refuses bad values naming where they came from', () => {
    expect(refusal(() => resolveHubConfig({ flags: { 'tick-ms': 'soon' }, env: {} })).message).toMatch(/^--tick-ms: must be an integer/);
    expect(refusal(() => resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_POLICY: 'random' } })).message).toMatch(/^DCLOUD_HUB_POLICY: must be one of heuristic, fifo/);
    expect(refusal(() => resolveHubConfig({ flags: { http: 'localhost' }, env: {} })).message).toMatch(/^--http: .*HOST:PORT/);
    expect(refusal(() => resolveHubConfig({ flags: { 'body-limit': '10' }, env: {} })).message).toMatch(/--body-limit: must be between/);
    expect(refusal(() => resolveHubConfig({ flags: { 'trust-reward': '' }, env: {} })).message).toMatch(/--trust-reward: must be a number/);
  });

  it('refuses inconsistent core parameters, naming the field and its source', () => {
    const err = refusal(() => resolveHubConfig({ flags: { 'trust-min': '9', 'trust-max': '3' }, env: {} }));
    expect(err.message).toMatch(/--trust-min.*trust\.min: must not exceed trust\.max/);
    expect(refusal(() => resolveHubConfig({ flags: {}, env: { DCLOUD_HUB_VALIDATION_THRESHOLD: '1.5' } })).message).toMatch(
      /DCLOUD_HUB_VALIDATION_THRESHOLD.*validation\.threshold/,
    );
  });

  it('refuses unknown keys and wrong types in the file', () => {
    expect(refusal(() => resolveHubConfig({ ...none, file: { name: 'h.json', json: { tickMS: 5 } } })).message).toBe('h.json: unknown setting tickMS');
    expect(refusal(() => resolveHubConfig({ ...none, file: { name: 'h.json', json: { params: { trust: { initail: 5 } } } } })).message).toBe(
      'h.json: unknown setting params.trust.initail',
    );
    expect(refusal(() => resolveHubConfig({ ...none, file: { name: 'h.json', json: { tickMs: '5' } } })).message).toMatch(/^h\.json: tickMs: must be an integer/);
    expect(refusal(() => resolveHubConfig({ ...none, file: { name: 'h.json', json: [] } })).message).toMatch(/must be a JSON object/);
  });

  it('reads a JSON file named by --config or DCLOUD_HUB_CONFIG', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcloud-config-'));
    const file = join(dir, 'hub.json');
    await writeFile(file, JSON.stringify({ data: '/var/lib/dcloud', params: { scheduling: { activeQueueSize: 25 } } }));
    const byFlag = await loadHubConfig({ configFile: file, flags: {}, env: {} });
    expect(byFlag.dataDir).toBe('/var/lib/dcloud');
    expect(byFlag.params.scheduling.activeQueueSize).toBe(25);
    const byEnv = await loadHubConfig({ flags: {}, env: { DCLOUD_HUB_CONFIG: file } });
    expect(byEnv.params.scheduling.activeQueueSize).toBe(25);

    await writeFile(file, '{ "data": ');
    await expect(loadHubConfig({ configFile: file, flags: {}, env: {} })).rejects.toThrow(/is not valid JSON/);
    await expect(loadHubConfig({ configFile: join(dir, 'missing.json'), flags: {}, env: {} })).rejects.toThrow(/cannot read config file/);
  });

  it('parses HOST:PORT including IPv6 and port 0', () => {
    expect(parseHostPort('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('hub.example:443')).toEqual({ host: 'hub.example', port: 443 });
    expect(() => parseHostPort('127.0.0.1:70000')).toThrow(ConfigError);
    expect(() => parseHostPort('127.0.0.1')).toThrow(ConfigError);
  });
});
