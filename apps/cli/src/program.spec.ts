import { execFileSync } from 'node:child_process';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { completionScript } from './completion.command.js';
import { cliProgram } from './program.js';

const program = cliProgram();
const command = (path: string): Command => path.split(' ').reduce((parent, name) => parent.commands.find((sub) => sub.name() === name)!, program);

/** What the bash completion offers for the words typed so far, the last one being completed. */
function complete(script: string, words: string[]): string[] {
  const shell = `${script}\nCOMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mcp_pytest; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', shell, 'bash', 'mcp-pytest', ...words], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

describe('the mcp-pytest program', () => {
  it("shows a group's usage as its commands' usages, one per line", () => {
    expect(command('approvals').helpInformation()).toContain(
      [
        'Usage: mcp-pytest approvals list [--all] [--json]',
        '       mcp-pytest approvals approve ID [--by NAME] [--reason TEXT]',
        '       mcp-pytest approvals deny ID --reason TEXT [--by NAME]',
      ].join('\n'),
    );
    expect(command('keys add').helpInformation()).toMatch(/^Usage: mcp-pytest keys add --agent NAME --grant NAME \[--file PATH\]\n/);
  });

  it('completes commands, then flags, in bash, from the command tree', () => {
    const script = completionScript(program, 'bash');
    expect(complete(script, [''])).toEqual(['keys', 'approvals', 'audit', 'import', 'upload', 'completion']);
    expect(complete(script, ['keys', ''])).toEqual(['add', 'revoke', 'list']);
    expect(complete(script, ['import', 'reportlog', 'run.jsonl', '--f'])).toEqual(['--follow']);
    expect(complete(script, ['approvals', 'deny', 'abc', '--'])).toEqual(['--by', '--reason', '--help']);
    // Where no command or flag fits, bash completes file names (-o default).
    expect(complete(script, ['import', 'junit', ''])).toEqual([]);
  });

  it('gives zsh the same function through its bash compatibility', () => {
    expect(completionScript(program, 'zsh')).toBe(
      completionScript(program, 'bash')
        .replace('for bash, made by `mcp-pytest completion bash`', 'for zsh, made by `mcp-pytest completion zsh`')
        .replace('\n', '\nautoload -U +X bashcompinit && bashcompinit\n'),
    );
  });
});
