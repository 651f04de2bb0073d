// The hub's watch over its spot-check image (hub/engine-spot-check.ts), over a scripted validator:
// checking until the first verdict, unusable with the reason, validated again until it is ready,
// and every change told once. The real validator and Docker are in hub-default-validation.test.ts.
import { describe, expect, it } from 'vitest';
import { type SpotCheckImageStatus, watchSpotCheckImage } from '../../hub/engine-spot-check.ts';
import type { ImageValidator, ImageVerdict } from '../../hub/image-validator.ts';

/** A validator answering `verdicts` in turn (the last one for ever after), counting its calls. */
function scripted(verdicts: ImageVerdict[]): ImageValidator & { calls: number } {
  const validator = {
    calls: 0,
    async validate(_image: string, _auth: unknown, signal?: AbortSignal): Promise<ImageVerdict> {
      signal?.throwIfAborted();
      const verdict = verdicts[Math.min(validator.calls, verdicts.length - 1)] as ImageVerdict;
      validator.calls += 1;
      return verdict;
    },
  };
  return validator;
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error(`not reached: ${what}`);
}

describe('the spot-check image watch', () => {
  it('says unusable with the reason, validates again, and becomes ready when the image comes', async () => {
    const validator = scripted([{ ok: false, reason: 'registry docker.io cannot be reached' }, { ok: false, reason: 'registry docker.io cannot be reached' }, { ok: true, source: 'registry' }]);
    const changes: SpotCheckImageStatus[] = [];
    const watch = watchSpotCheckImage({ validator, clock: () => 1000, onChange: (s) => changes.push(s) }, { image: 'busybox:1.36', retryMs: 5 });
    expect(watch.current()).toEqual({ image: 'busybox:1.36', status: 'checking' });
    const stop = new AbortController();
    watch.start(stop.signal);
    await until('ready', () => watch.current().status === 'ready');
    expect(validator.calls).toBe(3);
    // Told once per change, not once per failed attempt.
    expect(changes).toEqual([
      { image: 'busybox:1.36', status: 'unusable', reason: 'registry docker.io cannot be reached', checkedAt: 1000 },
      { image: 'busybox:1.36', status: 'ready', checkedAt: 1000 },
    ]);
    // Ready is not validated again.
    await new Promise((r) => setTimeout(r, 30));
    expect(validator.calls).toBe(3);
    stop.abort();
    await watch.settled();
  });

  it('stops validating again once the hub stops', async () => {
    const validator = scripted([{ ok: false, reason: 'not found' }]);
    const watch = watchSpotCheckImage({ validator, clock: () => 0 }, { image: 'missing:1', retryMs: 5 });
    const stop = new AbortController();
    watch.start(stop.signal);
    await until('unusable', () => watch.current().status === 'unusable');
    stop.abort();
    await watch.settled();
    const calls = validator.calls;
    await new Promise((r) => setTimeout(r, 40));
    expect(validator.calls).toBe(calls);
    expect(watch.current()).toMatchObject({ status: 'unusable', reason: 'not found' });
  });
});
