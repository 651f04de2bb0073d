import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OutputUnwritableError } from './errors.ts';

export interface OutputFile {
  name: string;
  content: string;
}

/**
 * Makes sure `dir` exists and accepts files, before a run spends time: a folder that cannot be
 * written is reported up front, not after the simulation.
 */
export async function ensureWritable(dir: string): Promise<void> {
  const probe = join(dir, `.probe-${process.pid}`);
  try {
    await makeDirectory(dir);
    const handle = await open(probe, 'wx');
    await handle.close();
    await rm(probe);
  } catch (err) {
    throw new OutputUnwritableError(dir, err);
  }
}

/**
 * Writes every file under a temporary name, then renames them into place, `result.json` last:
 * a run that fails half-way leaves temporary files at most, never a partial file under its real
 * name, and a `result.json` present means everything beside it is complete.
 */
export async function writeOutputs(dir: string, files: readonly OutputFile[]): Promise<string[]> {
  const ordered = [...files].sort((a, b) => Number(a.name === 'result.json') - Number(b.name === 'result.json'));
  const temps: string[] = [];
  try {
    await makeDirectory(dir);
    for (const file of ordered) {
      const temp = join(dir, `.${file.name}.${process.pid}.tmp`);
      temps.push(temp);
      await writeFile(temp, file.content, { flag: 'w' });
    }
    for (let i = 0; i < ordered.length; i++) await rename(temps[i]!, join(dir, ordered[i]!.name));
  } catch (err) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw new OutputUnwritableError(dir, err);
  }
  return ordered.map((f) => join(dir, f.name));
}

/**
 * mkdir -p, one level at a time. Node's own `recursive: true` spins forever on some paths
 * (`/proc/x` answers ENOENT with its parent present); here each level is tried at most twice.
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a folder`);
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    await makeDirectory(parent);
    await mkdir(dir);
  }
}
