import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as entry from '../../../src/plugin/index.ts';

const run = promisify(execFile);

describe('package entry', () => {
  it('offers the engine, its errors, the version and the shipped lists', () => {
    expect(Object.keys(entry).sort()).toEqual(['DnswardError', 'ErrorCodes', 'LISTS_DIR', 'PolicyEngine', 'VERSION', 'createPolicyEngine']);
    expect(existsSync(join(entry.LISTS_DIR, 'tiktok.list'))).toBe(true);
    expect(entry.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('loads neither dns2 nor fastify (nor does the fastify entry), so hosts without them can use the engine', async () => {
    // A child process whose module loader refuses both: importing the entry must not ask for them.
    const script = [
      "import { registerHooks } from 'node:module';",
      'registerHooks({ resolve(specifier, context, next) {',
      "  if (specifier === 'dns2' || specifier === 'fastify' || specifier.startsWith('fastify/') || specifier.startsWith('@fastify/')) throw new Error('loaded ' + specifier);",
      '  return next(specifier, context);',
      '} });',
      "const entry = await import('./src/plugin/index.ts');",
      "console.log(typeof entry.createPolicyEngine);",
      // The fastify plugins register routes on the host's own instance: nothing of fastify is loaded.
      "console.log(typeof (await import('./src/plugin/fastify.ts')).dnswardFeed);",
      // The control: the dns2 entry does load dns2 (its guard decodes with the host's dns2).
      "try { await import('./src/plugin/dns2.ts'); } catch (error) { console.log(error.message); }",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim().split('\n')).toEqual(['function', 'function', 'loaded dns2']);
  });
});
