// How the datagram path is chosen: dns.datagram, the DNSWARD_DATAGRAM override, and what
// happens when the addon cannot be used (auto falls back, addon refuses to start).
import { describe, expect, it } from 'vitest';
import { chooseDatagramPath, type DatagramAddon, loadDatagramAddon } from '../../../src/server/datagram-addon.ts';
import { testAddon } from './udp-test-kit.ts';

const fakeAddon = { MAX_BATCH: 64 } as DatagramAddon;
const built = () => ({ addon: fakeAddon });
const missing = () => ({ error: 'the addon is not built (native/build/Release/dnsward_datagram.node is missing: npm run build:addon, which needs g++, make and python3)' });

describe('chooseDatagramPath', () => {
  it('auto: the addon when it loads, node:dgram with the reason when it does not', () => {
    expect(chooseDatagramPath('auto', {}, built)).toEqual({ path: 'addon', addon: fakeAddon, reason: 'dns.datagram: auto' });
    const fallback = chooseDatagramPath('auto', {}, missing);
    expect(fallback.path).toBe('dgram');
    expect(fallback.addon).toBeUndefined();
    expect(fallback.reason).toContain('the addon is not built');
  });

  it('dgram never loads the addon', () => {
    const never = (): never => {
      throw new Error('loaded');
    };
    expect(chooseDatagramPath('dgram', {}, never)).toEqual({ path: 'dgram', reason: 'dns.datagram: dgram' });
  });

  it('addon refuses to start without it, naming the fix', () => {
    expect(() => chooseDatagramPath('addon', {}, missing)).toThrow(expect.objectContaining({ code: 'DNSWARD_ERR_CONFIG', message: expect.stringContaining('npm run build:addon') }));
  });

  it('DNSWARD_DATAGRAM overrides the config, and only a mode is accepted', () => {
    expect(chooseDatagramPath('addon', { DNSWARD_DATAGRAM: 'dgram' }, built)).toEqual({ path: 'dgram', reason: 'DNSWARD_DATAGRAM=dgram' });
    expect(chooseDatagramPath('dgram', { DNSWARD_DATAGRAM: 'addon' }, built).path).toBe('addon');
    expect(chooseDatagramPath('dgram', { DNSWARD_DATAGRAM: '' }, built).path).toBe('dgram');
    expect(() => chooseDatagramPath('auto', { DNSWARD_DATAGRAM: 'fast' }, built)).toThrow(expect.objectContaining({ code: 'DNSWARD_ERR_CONFIG', message: expect.stringContaining('auto, addon, dgram') }));
    expect(() => chooseDatagramPath('auto', { DNSWARD_DATAGRAM: 'addon' }, missing)).toThrow(expect.objectContaining({ message: expect.stringContaining('DNSWARD_DATAGRAM=addon') }));
  });
});

describe('loadDatagramAddon', () => {
  it.runIf(testAddon)('loads the built addon once, with the batch layout this code expects', () => {
    const first = loadDatagramAddon();
    expect(first).toHaveProperty('addon');
    expect(loadDatagramAddon()).toBe(first);
    if ('addon' in first) expect([first.addon.MAX_BATCH, first.addon.META_INTS, first.addon.MAX_DATAGRAM]).toEqual([64, 5, 65535]);
  });
});
