import { CommanderError } from 'commander';
import { loadDotEnv } from '#platform/env';
import { endQuietlyWhenStdoutCloses, note, oneLine, UsageError } from './cli.js';
import { cliProgram } from './program.js';

const program = cliProgram();
const argv = process.argv.slice(2);
endQuietlyWhenStdoutCloses();
try {
  loadDotEnv();
  await program.parseAsync(argv, { from: 'user' });
} catch (error) {
  const group = program.commands.find((command) => command.name() === argv[0]);
  const command = group ? `mcp-pytest ${group.name()}` : 'mcp-pytest';
  if (error instanceof CommanderError) {
    // Help asked for (exit 0), or a command line commander refused: its help went to stderr (a group without a
    // command), or its message is said here, with commander's "error: " prefix and suggestion on one line.
    if (error.exitCode !== 0 && error.code !== 'commander.help') note(`${command}: ${oneLine(error.message.replace(/^error: /, ''))} (see ${command} --help)`);
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError) {
    note(`${command}: ${error.message} (see ${command} --help)`);
    process.exitCode = 2;
  } else {
    // CliErrors say what is wrong; anything else (NATS, file system) is shown in one line too.
    note(`${command}: ${oneLine(error instanceof Error ? error.message : String(error))}`);
    process.exitCode = 1;
  }
}
