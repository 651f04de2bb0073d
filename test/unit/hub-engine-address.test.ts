import { describe, expect, it } from 'vitest';
import { addressBlock, rateLimitKey } from '../../hub/engine-address.ts';
import { BadAddressError } from '../../hub/errors.ts';
import { expectError } from '../support/expect-error.ts';

describe('the address block an agent registers from', () => {
  it('is the /24 of an IPv4 address, also when a dual-stack socket maps it into IPv6', () => {
    expect(addressBlock('192.168.7.9')).toBe('192.168.7.0/24');
    expect(addressBlock('::ffff:192.168.7.200')).toBe('192.168.7.0/24');
    expect(addressBlock('::FFFF:10.0.0.1')).toBe('10.0.0.0/24');
  });

  it('is the /48 of an IPv6 address, however it is written', () => {
    expect(addressBlock('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(addressBlock('2001:0db8:ABCD:0012:0000:0000:0000:0001')).toBe('2001:db8:abcd::/48');
    expect(addressBlock('2001:db8::1')).toBe('2001:db8::/48');
    expect(addressBlock('2001:db8:0:ffff::1')).toBe('2001:db8::/48');
    expect(addressBlock('::1')).toBe('::/48');
    expect(addressBlock('fe80::1%eth0')).toBe('fe80::/48');
    expect(addressBlock('0:1::')).toBe('0:1::/48');
  });

  it('refuses what is not an IP address', () => {
    for (const bad of ['', 'localhost', '1.2.3', '300.1.1.1', '1.2.3.4:80', 'gggg::1']) {
      expectError(() => addressBlock(bad), BadAddressError, 'BAD_ADDRESS');
    }
  });
});

describe('the key the per-address rate limit counts under', () => {
  it('is an IPv4 address itself, mapped or not, and an IPv6 address\'s /64 however it is written', () => {
    expect(rateLimitKey('192.168.7.9')).toBe('192.168.7.9');
    expect(rateLimitKey('::ffff:192.168.7.9')).toBe('192.168.7.9');
    expect(rateLimitKey('2001:db8:abcd:12::1')).toBe('2001:db8:abcd:12::/64');
    expect(rateLimitKey('2001:0db8:ABCD:0012:ffff:0000:0000:0001')).toBe('2001:db8:abcd:12::/64');
    expect(rateLimitKey('2001:db8:abcd:13::1')).not.toBe(rateLimitKey('2001:db8:abcd:12::1'));
  });
});
