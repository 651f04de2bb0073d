import { isIP } from 'node:net';
import { DcloudError } from '../protocol/errors.ts';

/**
 * Loopback addresses: where the agent's control API may listen, and which names a request to it
 * may be addressed to. Kept apart from the API itself so the command line can check an address
 * without loading the web server.
 */

export const LoopbackErrorCodes = {
  BAD_ADDRESS: 'CONTROL_API_BAD_ADDRESS',
  NOT_LOOPBACK: 'CONTROL_API_NOT_LOOPBACK',
} as const;

/** The control API was asked to listen where other machines could reach it. */
export class NotLoopbackError extends DcloudError {
  constructor(host: string) {
    super(LoopbackErrorCodes.NOT_LOOPBACK, `the control API listens on loopback only (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}`, 400);
    this.name = 'NotLoopbackError';
  }
}

export class ControlAddressError extends DcloudError {
  constructor(address: string) {
    super(LoopbackErrorCodes.BAD_ADDRESS, `${JSON.stringify(address)} is not HOST:PORT (for example 127.0.0.1:7070)`, 400);
    this.name = 'ControlAddressError';
  }
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** `HOST:PORT` (IPv6 in brackets) → parts; NotLoopbackError unless HOST is loopback. */
export function parseLoopbackAddress(address: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port > 65_535) throw new ControlAddressError(address);
  const host = match[1]!;
  if (!isLoopbackHost(host)) throw new NotLoopbackError(host);
  return { host: host.replace(/^\[|\]$/g, ''), port };
}
