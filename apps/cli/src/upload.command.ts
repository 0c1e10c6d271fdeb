import { basename } from 'node:path';
import type { Command } from 'commander';
import { note, out } from './cli.js';
import { fileLines, type Line } from './file-lines.js';
import { gatewayOptions, gatewayTarget, withGateway, type GatewayOptions } from './mcp-gateway.client.js';
import { Progress } from './progress.js';
import { resultLine, SessionSender } from './session-upload.js';
import { parseSpool } from './spool.js';

/** `mcp-pytest upload SPOOL.jsonl`. */
export function uploadCommand(program: Command): void {
  gatewayOptions(
    program
      .command('upload')
      .summary('send a spool the pytest plugin wrote to the gateway')
      .description(
        [
          'Sends a spool the pytest plugin wrote (where it could not reach the gateway) through the gateway’s MCP tools, as an MCP client with a bearer key, in the spool’s order. The spool is JSON Lines: first {"mcp_pytest_spool": 1, "url": "<MCP URL>", "session_id": "<id>"}, then one line per tool call, {"tool": "record_session_start" | "record_test_outcomes" | "record_session_finish", "arguments": {…}}, each naming the header’s session, the first a record_session_start (a spool holds a whole session) and a finish, if any, the last.',
          'Every line is checked against its tool’s contract before anything is sent: a bad line is refused, naming it, and nothing is sent. Every call is idempotent: uploading a spool again changes nothing and reports its outcomes as already recorded. Prints:',
          '  session <id>: N outcomes (R recorded, D already recorded), finished',
          'A key is sent only to the URL you gave (--url or MCP_PYTEST_URL), never to the one the spool names: a spool is a file anyone who can change the job can write. With a key and no URL of your own, upload refuses and names the spool’s URL.',
        ].join('\n\n'),
      )
      .usage('SPOOL.jsonl [--url URL] [--token KEY]')
      .argument('<SPOOL.jsonl>', 'the spool'),
    'the spool’s own url, used only without a key',
  ).action((file: string, options: GatewayOptions) => upload(file, options));
}

async function upload(file: string, options: GatewayOptions): Promise<void> {
  const lines: Line[] = [];
  for await (const group of fileLines(file, { follow: false })) lines.push(...group);
  const { header, calls } = parseSpool(lines, file);
  const target = gatewayTarget(options, { url: header.url, from: `the spool ${file}` });
  const total = calls.reduce((sum, { call }) => sum + (call.tool === 'record_test_outcomes' ? call.arguments.outcomes.length : 0), 0);
  const progress = new Progress(basename(file), total);
  const result = await withGateway(target, async (gateway) => {
    const sender = new SessionSender(gateway, header.session_id, progress);
    try {
      for (const { call } of calls) {
        if (call.tool === 'record_session_start') await sender.start(call.arguments);
        else if (call.tool === 'record_test_outcomes') await sender.send(call.arguments.outcomes);
        else await sender.finish(call.arguments.summary);
      }
    } finally {
      progress.end();
    }
    return sender.result;
  });
  if (!result.finished) note(`${file} holds no record_session_finish (the run did not end): session ${result.session_id} is left running`);
  out(resultLine(result));
}
