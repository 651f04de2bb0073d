import { describe, expect, it } from 'vitest';
import { createImageValidator } from '../../hub/image-validator.ts';
import { isValidReference, registryOf } from '../../src/core/image-ref.ts';
import { docker, OPEN_IMAGE, OPEN_REGISTRY, PRIVATE_IMAGE, privateRegistryAuth, TEST_IMAGE } from '../support/env.ts';
import { removeImageIfPresent } from '../support/images.ts';

// Real Docker engine, real loopback registries (scripts/bootstrap.sh). Caching is off so that
// every case really pulls.
const validator = () => createImageValidator({ docker: docker() }, { concurrency: 2, cacheMs: 0 });

describe('image validation through the hub engine', () => {
  it('reads the registry from a reference the way Docker does', () => {
    expect(registryOf(OPEN_IMAGE)).toBe(OPEN_REGISTRY);
    expect(registryOf('localhost/x:1')).toBe('localhost');
    expect(registryOf(TEST_IMAGE)).toBeUndefined();
    expect(registryOf('busybox')).toBeUndefined();
    expect(isValidReference('UPPER/x:1')).toBe(false);
    expect(isValidReference('a//b')).toBe(false);
    expect(isValidReference(`${OPEN_REGISTRY}/a/b-c_d.e:1.0@sha256:${'a'.repeat(64)}`)).toBe(true);
  });

  it('accepts an image pulled from the open registry, even one the hub did not have', async () => {
    await removeImageIfPresent(docker(), OPEN_IMAGE);
    expect(await validator().validate(OPEN_IMAGE, undefined)).toEqual({ ok: true, source: 'registry' });
    // The pull really happened: the engine has the image now.
    await expect(docker().getImage(OPEN_IMAGE).inspect()).resolves.toBeTruthy();
  });

  it('accepts a local image without a registry as it is', async () => {
    expect(await validator().validate(TEST_IMAGE, undefined)).toEqual({ ok: true, source: 'local' });
  });

  it('names a missing image and its registry', async () => {
    expect(await validator().validate(`${OPEN_REGISTRY}/nope:1`, undefined)).toEqual({
      ok: false,
      reason: `image ${OPEN_REGISTRY}/nope:1 not found in registry ${OPEN_REGISTRY}`,
    });
  });

  it('refuses a private image without credentials, and with wrong ones, and accepts the right ones', async () => {
    const v = validator();
    expect(await v.validate(PRIVATE_IMAGE, undefined)).toEqual({
      ok: false,
      reason: `registry 127.0.0.1:5001 requires credentials for ${PRIVATE_IMAGE} and none were given`,
    });
    expect(await v.validate(PRIVATE_IMAGE, { ...privateRegistryAuth, password: 'wrong' })).toEqual({
      ok: false,
      reason: `registry 127.0.0.1:5001 refused the credentials for ${PRIVATE_IMAGE}`,
    });
    expect(await v.validate(PRIVATE_IMAGE, { ...privateRegistryAuth })).toEqual({ ok: true, source: 'registry' });
  });

  it('checks credentials again even when the hub already holds the image', async () => {
    const v = validator();
    expect((await v.validate(PRIVATE_IMAGE, { ...privateRegistryAuth })).ok).toBe(true);
    expect(await v.validate(PRIVATE_IMAGE, undefined)).toMatchObject({ ok: false });
  });

  it('refuses a malformed reference before asking Docker', async () => {
    expect(await validator().validate('Not/A:Valid:Ref', undefined)).toEqual({ ok: false, reason: 'Not/A:Valid:Ref is not a valid image reference' });
  });

  it('says when a registry cannot be reached', async () => {
    expect(await validator().validate('127.0.0.1:9/x:1', undefined)).toEqual({
      ok: false,
      reason: 'registry 127.0.0.1:9 cannot be reached to pull 127.0.0.1:9/x:1',
    });
  });

  it('reuses a success only for the same credentials', async () => {
    const v = createImageValidator({ docker: docker() }, { concurrency: 1, cacheMs: 60_000 });
    expect((await v.validate(PRIVATE_IMAGE, { ...privateRegistryAuth })).ok).toBe(true);
    expect((await v.validate(PRIVATE_IMAGE, { ...privateRegistryAuth, password: 'wrong' })).ok).toBe(false);
  });

  it('stops waiting when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('hub stopping'));
    await expect(validator().validate(OPEN_IMAGE, undefined, controller.signal)).rejects.toThrow('hub stopping');
  });
});
