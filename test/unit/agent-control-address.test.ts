import { describe, expect, it } from 'vitest';
import { ControlAddressError, isLoopbackHost, LoopbackErrorCodes, NotLoopbackError, parseLoopbackAddress } from '../../agent/loopback.ts';
import { expectError } from '../support/expect-error.ts';

describe('the control API address', () => {
  it('accepts loopback names and addresses', () => {
    expect(parseLoopbackAddress('127.0.0.1:7070')).toEqual({ host: '127.0.0.1', port: 7070 });
    expect(parseLoopbackAddress('127.8.9.10:0')).toEqual({ host: '127.8.9.10', port: 0 });
    expect(parseLoopbackAddress('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    expect(parseLoopbackAddress('[::1]:7070')).toEqual({ host: '::1', port: 7070 });
  });

  it('refuses an address other machines could reach', () => {
    for (const address of ['0.0.0.0:7070', '192.168.1.2:7070', '[::]:7070', 'example.com:7070', '128.0.0.1:1']) {
      expectError(() => parseLoopbackAddress(address), NotLoopbackError, LoopbackErrorCodes.NOT_LOOPBACK);
    }
  });

  it('refuses what is not HOST:PORT', () => {
    for (const address of ['127.0.0.1', ':7070', '127.0.0.1:99999', '127.0.0.1:x', '']) {
      expectError(() => parseLoopbackAddress(address), ControlAddressError, LoopbackErrorCodes.BAD_ADDRESS);
    }
  });

  it('knows loopback hosts, bracketed or not', () => {
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('localhost.evil.com')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.nip.io')).toBe(false);
  });
});
