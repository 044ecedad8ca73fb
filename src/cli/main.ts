// dnsward command line: one sub-command per job, each in its own module.
import { DnswardError } from '../errors.ts';
import { runCommand } from './commands.ts';

try {
  const code = await runCommand(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (error) {
  if (error instanceof DnswardError) {
    console.error(error.toString());
    process.exitCode = 1;
  } else {
    throw error;
  }
}
