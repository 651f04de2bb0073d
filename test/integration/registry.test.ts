// The two loopback registries started by scripts/bootstrap.sh: the private one refuses a pull
// without credentials or with wrong ones and serves it with the right ones; the open one serves
// anyone. What the hub's image validation and the agent's private-registry pulls rely on.
// Other test files pull the same images concurrently, so these tests never assume that a tag
// stays absent or present between two calls; the digest a pull reports is the evidence.
import { describe, expect, it } from 'vitest';
import {
  AUTH_REGISTRY,
  docker,
  OPEN_IMAGE,
  OPEN_REGISTRY,
  PRIVATE_IMAGE,
  privateRegistryAuth,
} from '../support/env.ts';
import { pullImage, registryDigest, removeImageIfPresent } from '../support/images.ts';

describe('test registries', () => {
  const engine = docker();

  it('refuses a pull from the private registry without credentials, naming the reason', async () => {
    await removeImageIfPresent(engine, PRIVATE_IMAGE);
    await expect(pullImage(engine, PRIVATE_IMAGE)).rejects.toThrow(
      /127\.0\.0\.1:5001\/v2\/private\/busybox\/manifests\/1": no basic auth credentials/,
    );
  });

  it('refuses wrong credentials for the private registry', async () => {
    await removeImageIfPresent(engine, PRIVATE_IMAGE);
    await expect(
      pullImage(engine, PRIVATE_IMAGE, { ...privateRegistryAuth, password: 'not-the-password' }),
    ).rejects.toThrow(/unauthorized: authentication required/);
  });

  it('serves the private image to a pull with credentials', async () => {
    await removeImageIfPresent(engine, PRIVATE_IMAGE);
    const { digest } = await pullImage(engine, PRIVATE_IMAGE, privateRegistryAuth);
    expect(digest).toBe(await registryDigest(AUTH_REGISTRY, 'private/busybox', '1', privateRegistryAuth));
  });

  it('answers the private registry API only with credentials', async () => {
    expect(await registryDigest(AUTH_REGISTRY, 'private/busybox', '1')).toBeNull();
    expect(await registryDigest(AUTH_REGISTRY, 'private/busybox', '1', privateRegistryAuth)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('serves the open registry without credentials', async () => {
    // The tag is not removed first: the hub's image tests use it at the same time, and a pull by
    // tag asks the registry for the manifest whether or not the engine holds the image.
    const { digest } = await pullImage(engine, OPEN_IMAGE);
    expect(digest).toBe(await registryDigest(OPEN_REGISTRY, 'dcloud/busybox', '1'));
  });
});
