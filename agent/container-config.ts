import type Dockerode from 'dockerode';
import type { ExecutionSpec } from '../protocol/messages.ts';

/** Every container the agent creates carries this label, so a restarted agent can find its orphans. */
export const DCLOUD_LABEL = 'dcloud.task';

/** Memory in the protocol is in GB; Docker counts bytes. We read GB as GiB, as `docker run -m 1g` does. */
const BYTES_PER_GB = 1024 ** 3;

export interface SandboxLimits {
  /** "uid:gid", numeric, never 0:…: the image's own USER is overridden. */
  user: string;
  uid: number;
  gid: number;
  pidsLimit: number;
  tmpfsBytes: number;
}

export function memoryBytes(ramGb: number): number {
  return Math.round(ramGb * BYTES_PER_GB);
}

/**
 * The create options for one task's container: the sandbox of DESIGN.md section 7. Pure, so the
 * whole policy is in one place and nothing about it depends on who calls.
 *
 * `imageVolumes` are the image's declared VOLUMEs: Docker would back each with an anonymous
 * volume on the host's disk, writable and outside every limit, so each gets a tmpfs instead.
 */
export function hardenedContainer(
  spec: ExecutionSpec,
  limits: SandboxLimits,
  extra: { name?: string; labels: Record<string, string>; imageVolumes: readonly string[] },
): Dockerode.ContainerCreateOptions {
  // uid/gid: the tmpfs takes the mode of the image's own /tmp (root 0755 in minimal images), so
  // the task's user would not be able to write to it; owning it avoids that.
  const tmpfs = `rw,noexec,nosuid,nodev,size=${limits.tmpfsBytes},uid=${limits.uid},gid=${limits.gid}`;
  const mounts: Record<string, string> = { '/tmp': tmpfs };
  for (const path of extra.imageVolumes) mounts[path] = tmpfs;
  const memory = memoryBytes(spec.ramGb);
  return {
    ...(extra.name === undefined ? {} : { name: extra.name }),
    Image: spec.image,
    Cmd: [...spec.command],
    User: limits.user,
    Env: [],
    // The same on every agent: a task that prints its hostname must not split the consensus.
    Hostname: 'dcloud',
    Labels: { ...extra.labels },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      Init: true,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(spec.cpu * 1e9),
      PidsLimit: limits.pidsLimit,
      ReadonlyRootfs: true,
      Tmpfs: mounts,
      Binds: [],
      AutoRemove: false,
      // Output is read through attach; a log driver would also write all of it to the host's disk.
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

/** Parses the "uid:gid" the executor runs tasks as; undefined when it is not numeric or is root. */
export function parseTaskUser(user: string): { uid: number; gid: number } | undefined {
  const match = /^(\d{1,10}):(\d{1,10})$/.exec(user);
  if (match === null) return undefined;
  const uid = Number(match[1]);
  const gid = Number(match[2]);
  if (uid === 0 || gid === 0) return undefined;
  return { uid, gid };
}
