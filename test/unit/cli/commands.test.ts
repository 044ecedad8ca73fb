import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findCommand, runCommand, unknownCommandMessage, usage, version } from '../../../src/cli/commands.ts';
import { DnswardError, ErrorCodes } from '../../../src/errors.ts';

/** The DnswardError runCommand rejects with (fails the test when it resolves). */
async function usageError(argv: string[]): Promise<DnswardError> {
  const error: unknown = await runCommand(argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DnswardError);
  expect((error as DnswardError).code).toBe(ErrorCodes.USAGE);
  return error as DnswardError;
}

describe('findCommand', () => {
  it('prefers a two-word command and hands on the rest', () => {
    expect(findCommand(['config', 'check', 'x.yaml'])).toEqual({ name: 'config check', args: ['x.yaml'] });
    expect(findCommand(['serve', '--config', 'x'])).toEqual({ name: 'serve', args: ['--config', 'x'] });
    expect(findCommand(['serv'])).toBeUndefined();
    expect(findCommand(['config'])).toBeUndefined();
  });
});

describe('unknownCommandMessage', () => {
  it('suggests the command a typo meant', () => {
    expect(unknownCommandMessage(['serv'])).toBe('unknown command "serv"; did you mean "dnsward serve"?');
    expect(unknownCommandMessage(['lists', 'chek'])).toBe('unknown command "lists chek"; did you mean "dnsward lists check"?');
    expect(unknownCommandMessage(['audti'])).toBe('unknown command "audti"; did you mean "dnsward audit"?');
    expect(unknownCommandMessage(['frobnicate'])).toBe('unknown command "frobnicate"');
  });

  it('lists the sub-commands of a group', () => {
    expect(unknownCommandMessage(['audit'])).toBe('"audit" needs a sub-command; use one of: dnsward audit verify, dnsward audit export');
    expect(unknownCommandMessage(['lists', 'zzzzzz'])).toBe('unknown command "lists zzzzzz"; use one of: dnsward lists check, dnsward lists build, dnsward lists diff');
  });
});

describe('runCommand', () => {
  it('turns an unknown command into a usage error with the command list', async () => {
    const error = await usageError(['serv']);
    expect(error.message).toContain('did you mean "dnsward serve"?');
    expect(error.message).toContain(usage());
  });

  it('turns option mistakes into usage errors naming the command, the fix and its usage', async () => {
    const unknown = await usageError(['config', 'check', '--confg', 'x.yaml']);
    expect(unknown.message.split('\n')[0]).toBe("config check: Unknown option '--confg'; did you mean --config?");
    expect(unknown.message).toContain('usage: dnsward config check FILE');
    expect((await usageError(['serve', 'my.yaml'])).message.split('\n')[0]).toBe("serve: Unexpected argument 'my.yaml'");
    expect((await usageError(['lists', 'check', '-c'])).message.split('\n')[0]).toBe("lists check: Option '-c, --config <value>' argument missing");
  });

  it('lets other errors through unchanged', async () => {
    await expect(runCommand(['config', 'check', '/nonexistent/dnsward.yaml'])).rejects.toMatchObject({ code: ErrorCodes.CONFIG_READ });
  });
});

describe('version', () => {
  it('is the package version', async () => {
    expect(await version()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });
});
