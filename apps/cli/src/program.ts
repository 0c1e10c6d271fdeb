import { Command, Help } from 'commander';
import { approvalsCommand } from './approvals.command.js';
import { auditCommand } from './audit.command.js';
import { write } from './cli.js';
import { completionCommand } from './completion.command.js';
import { importCommand } from './import.command.js';
import { keysCommand } from './keys.command.js';
import { uploadCommand } from './upload.command.js';

/**
 * A group's usage is its commands' usages, one per line (`mcp-pytest keys add --agent NAME …`), rather than
 * `mcp-pytest keys [options] [command]`; a command's own usage is the one it declares. Command lists name the
 * commands only: their usages are a --help away, and the summaries keep the room.
 */
class CliHelp extends Help {
  override subcommandTerm(command: Command): string {
    return command.name();
  }

  override commandUsage(command: Command): string {
    if (!command.parent || command.commands.length === 0) return super.commandUsage(command);
    return command.commands.map((sub) => this.commandUsage(sub)).join('\n       ');
  }
}

/** Commander's Command with CliHelp, for itself and the subcommands it makes. */
class CliCommand extends Command {
  override createCommand(name?: string): Command {
    return new CliCommand(name);
  }

  override createHelp(): Help {
    return Object.assign(new CliHelp(), this.configureHelp());
  }
}

/** `mcp-pytest <command> …`: exit 0 done, 1 could not be done, 2 bad command line. */
export function cliProgram(): Command {
  const program = new CliCommand('mcp-pytest')
    .usage('<command> …')
    .addHelpText(
      'after',
      `
\`mcp-pytest <command> --help\` says more. Settings come from the environment, then from the project's
.env (beside its package.json, wherever this runs from) or the file MCP_PYTEST_ENV_FILE names.`,
    )
    // Commander reports instead of exiting: main.ts words the error and sets the exit code.
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: (text) => void process.stderr.write(text), outputError: () => undefined });
  // Subcommands made with .command() take the settings above.
  for (const add of [keysCommand, approvalsCommand, auditCommand, importCommand, uploadCommand, completionCommand]) add(program);
  return program;
}
