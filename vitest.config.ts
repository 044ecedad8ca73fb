import { defineConfig } from 'vitest/config';

// Every suite runs on the batched datagram addon (the default on Linux, where npm ci builds
// it); the suites whose queries go over UDP run a second time on node:dgram, the fallback.
// DNSWARD_DATAGRAM picks the path (src/server/datagram-addon.ts); set it to run the whole
// suite on another path (e.g. DNSWARD_DATAGRAM=auto where the addon cannot be built).
const UDP_SUITES = [
  'test/integration/resolver-*.test.ts',
  'test/integration/hardening-*.test.ts',
  'test/integration/lists-resolver.test.ts',
  'test/integration/audit-resolver.test.ts',
  'test/integration/replica-workers.test.ts',
  'test/fuzz/**/*.test.ts',
];
// The block log's suites run a third time with its hash on node:crypto, the fallback of
// native/hash.cc (src/audit/sha256-into.ts).
const AUDIT_SUITES = ['test/unit/audit/**/*.test.ts', 'test/integration/audit-*.test.ts'];
const mainPath = process.env.DNSWARD_DATAGRAM || (process.platform === 'linux' ? 'addon' : 'dgram');

export default defineConfig({
  test: {
    // Integration tests bind real sockets on loopback; keep the 2-core machine unsaturated.
    maxWorkers: 2,
    globalSetup: ['test/global-tmpdir.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: mainPath, include: ['test/**/*.test.ts'], env: { DNSWARD_DATAGRAM: mainPath } } },
      ...(mainPath === 'dgram' ? [] : [{ extends: true, test: { name: 'dgram', include: UDP_SUITES, env: { DNSWARD_DATAGRAM: 'dgram' } } }]),
      { extends: true, test: { name: 'js-sha256', include: AUDIT_SUITES, env: { DNSWARD_DATAGRAM: mainPath, DNSWARD_SHA256: 'js' } } },
    ],
  },
});
