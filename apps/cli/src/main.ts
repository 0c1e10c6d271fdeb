import { loadDotEnv } from '#platform/env';
import { approvalsCommand } from './approvals.command.js';
import { auditCommand } from './audit.command.js';
import { endQuietlyWhenStdoutCloses, note, oneLine, out, UsageError, type CommandGroup } from './cli.js';
import { importCommand } from './import.command.js';
import { keysCommand } from './keys.command.js';
import { uploadCommand } from './upload.command.js';

/** `mcp-pytest <group> <command> …`: exit 0 done, 1 could not be done, 2 bad command line. */
const GROUPS: CommandGroup[] = [keysCommand, approvalsCommand, auditCommand, importCommand, uploadCommand];

const USAGE = `Usage: mcp-pytest <command> …

Commands:
${GROUPS.map((group) => `  ${group.name.padEnd(10)} ${group.summary}`).join('\n')}

\`mcp-pytest <command> --help\` says more. Settings come from the environment, then from the project's
.env (beside its package.json, wherever this runs from) or the file MCP_PYTEST_ENV_FILE names.`;

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

async function main([name, ...args]: string[]): Promise<void> {
  if (name === undefined) throw new UsageError(`say which command: ${GROUPS.map((g) => g.name).join(', ')}`);
  if (isHelp(name) || name === 'help') return out(USAGE);
  const group = GROUPS.find((g) => g.name === name);
  if (!group) throw new UsageError(`unknown command "${name}"`);
  // Help anywhere before a `--` wins over everything else on the line.
  const end = args.indexOf('--');
  if ((end === -1 ? args : args.slice(0, end)).some(isHelp)) return out(group.help);
  await group.run(args);
}

const argv = process.argv.slice(2);
endQuietlyWhenStdoutCloses();
try {
  loadDotEnv();
  await main(argv);
} catch (error) {
  const group = GROUPS.find((g) => g.name === argv[0]);
  const command = group ? `mcp-pytest ${group.name}` : 'mcp-pytest';
  if (error instanceof UsageError) {
    note(`${command}: ${error.message} (see ${command} --help)`);
    process.exitCode = 2;
  } else {
    // CliErrors say what is wrong; anything else (NATS, file system) is shown in one line too.
    note(`${command}: ${oneLine(error instanceof Error ? error.message : String(error))}`);
    process.exitCode = 1;
  }
}
