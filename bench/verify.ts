import { verify as cryptoVerify } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createSigner, generateKeyPair, publicKeyObject, Verifier } from '../keys/index.ts';
import { type Envelope, open, ReplayGuard, seal, signedBytes } from '../protocol/index.ts';
import { type BenchResult, BenchUsageError, interleave, median, positiveInt, result, round } from './lib.ts';

export const description =
  'heartbeats through open() (parse, canonical form, schema, signature, freshness, replay) vs raw node:crypto verifies, per CPU second, interleaved; value = ratio (goal >= 0.8)';

/** A heartbeat as an agent with a few running replicas sends it. */
function heartbeatBody(i: number) {
  const id = (k: number) => (i * 8 + k).toString(16).padStart(64, '0');
  return {
    total: { cpu: 8, ramGb: 16 },
    free: { cpu: 5.5, ramGb: 9.75 },
    running: [id(1), id(2), id(3)],
  };
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      rounds: { type: 'string', default: '15' },
      'round-ms': { type: 'string', default: '400' },
      pool: { type: 'string', default: '8192' },
    },
  });
  const rounds = positiveInt(values.rounds, 'rounds');
  const roundMs = positiveInt(values['round-ms'], 'round-ms');
  const pool = positiveInt(values.pool, 'pool');

  const signer = createSigner(generateKeyPair());
  const t0 = 1_750_000_000_000;
  // Distinct nonces and timestamps: every open() is a first sighting for the replay guard.
  const envelopes: Envelope[] = [];
  for (let i = 0; i < pool; i++) envelopes.push(seal('agent.heartbeat', heartbeatBody(i), signer, { now: t0 + i }));
  const now = t0 + pool; // every envelope is well inside the freshness window

  // The raw side verifies the very same signed bytes and signatures with one cached KeyObject.
  const rawBytes = envelopes.map((e) => signedBytes('agent.heartbeat', e.payload));
  const rawSigs = envelopes.map((e) => Buffer.from(e.sig, 'hex'));
  const key = publicKeyObject(signer.publicKey);

  const verifier = new Verifier();
  let guard = new ReplayGuard();
  const expect = ['agent.heartbeat'] as const;
  const rates = interleave(
    {
      protocol: {
        setup: () => {
          guard = new ReplayGuard();
        },
        op: (i) => {
          const envelope = envelopes[i];
          if (envelope === undefined) throw new BenchUsageError(`a round needed more than --pool ${pool} envelopes; raise --pool`);
          open(envelope, { verifier, expect, now, replay: guard });
        },
      },
      raw: {
        op: (i) => {
          if (!cryptoVerify(null, rawBytes[i % pool]!, key, rawSigs[i % pool]!)) throw new Error('raw verify failed');
        },
      },
    },
    { rounds, roundMs },
  );

  const ratios = rates.protocol.map((p, r) => p / rates.raw[r]!);
  const ratio = median(ratios);
  return result(
    { bench: 'verify', value: round(ratio, 3), unit: 'ratio', goal: 0.8 },
    {
      protocolPerSecond: Math.round(median(rates.protocol)),
      rawPerSecond: Math.round(median(rates.raw)),
      ratios: ratios.map((x) => round(x, 3)),
      rounds,
      roundMs,
      payloadBytes: envelopes[0]!.payload.length,
      clock: 'cpu',
      loadAverage: round(loadavg()[0]!, 3),
    },
  );
}
