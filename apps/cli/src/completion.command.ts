import { Argument, type Command } from 'commander';
import { out } from './cli.js';

type Shell = 'bash' | 'zsh';

/** `mcp-pytest completion [bash|zsh]`: the script is made from the command tree, so it knows every command and flag there is. */
export function completionCommand(program: Command): void {
  program
    .command('completion')
    .summary('print a bash or zsh completion script')
    .description('Prints a script that completes commands and flags (and file names where neither fits) in the shell.')
    .usage('[bash|zsh]')
    .addArgument(new Argument('[shell]', 'the shell').choices(['bash', 'zsh']).default('bash'))
    .addHelpText('after', '\nInstall: eval "$(mcp-pytest completion)" in ~/.bashrc, or eval "$(mcp-pytest completion zsh)" in ~/.zshrc.')
    .action((shell: Shell) => out(completionScript(program, shell)));
}

/** A command's path below the program (e.g. "keys add"), with what may follow it. */
interface Level {
  path: string;
  commands: string[];
  flags: string[];
}

function levels(command: Command, path = ''): Level[] {
  const flags = [...command.options.flatMap((option) => option.long ?? []), '--help'];
  const own: Level = { path, commands: command.commands.map((sub) => sub.name()), flags };
  return [own, ...command.commands.flatMap((sub) => levels(sub, path ? `${path} ${sub.name()}` : sub.name()))];
}

/**
 * A bash completion function: the words typed so far walk down the tree to a command; then a word starting
 * with "-" completes its flags, another word its subcommands, and where there are none bash completes file
 * names (-o default). zsh runs the same function through its bash compatibility, with bash's 0-based arrays.
 */
export function completionScript(program: Command, shell: Shell): string {
  const name = program.name();
  const fn = `_${name.replace(/\W/g, '_')}`;
  const all = levels(program);
  const steps = all.flatMap(({ path, commands }) => commands.map((sub) => `"${path}/${sub}"`));
  const cases = all.map(({ path, commands, flags }) => `    "${path}") commands="${commands.join(' ')}" flags="${flags.join(' ')}" ;;`);
  return [
    `# ${name} completion for ${shell}, made by \`${name} completion ${shell}\``,
    ...(shell === 'zsh' ? ['autoload -U +X bashcompinit && bashcompinit'] : []),
    `${fn}() {`,
    '  [[ -n ${ZSH_VERSION-} ]] && setopt localoptions ksharrays',
    '  local cur=${COMP_WORDS[COMP_CWORD]} at="" commands="" flags="" i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "$at/${COMP_WORDS[i]}" in',
    `      ${steps.join(' | ')}) at="\${at:+$at }\${COMP_WORDS[i]}" ;;`,
    '    esac',
    '  done',
    '  case "$at" in',
    ...cases,
    '  esac',
    '  if [[ $cur == -* ]]; then commands=$flags; fi',
    '  COMPREPLY=($(compgen -W "$commands" -- "$cur"))',
    '}',
    `complete -o default -F ${fn} ${name}`,
  ].join('\n');
}
