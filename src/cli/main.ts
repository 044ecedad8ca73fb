// dnsward command line: one sub-command per job, each in its own module.
import { DnswardError } from '../errors.ts';
import { smallWorkerYoungGeneration } from '../util/worker-heap.ts';
import { runCommand } from './commands.ts';

smallWorkerYoungGeneration();

try {
  const code = await runCommand(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (error) {
  // A coded error is the user's to fix: its message, no stack. Anything else is a bug.
  const text = error instanceof DnswardError ? error.toString() : error instanceof Error ? (error.stack ?? error.message) : String(error);
  // Exit at once, once stderr has it: a failed start may have left sockets or timers open.
  process.stderr.write(`${text}\n`, () => process.exit(1));
}
