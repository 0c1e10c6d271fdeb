import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { Refusal, REFUSAL_META_KEY, refusalText } from '#contracts';
import { distEntry } from './apps.js';
import { testEnv } from './processes.js';

/** The MCP SDK's own Client, over Streamable HTTP or stdio, with helpers for the tests' two cases. */
export class McpTestClient {
  /** Errors the transport reported (e.g. a stdout line that is not MCP). */
  readonly transportErrors: Error[] = [];

  private constructor(readonly client: Client) {
    client.onerror = (error) => this.transportErrors.push(error);
  }

  /** `key`: the bearer key sent with every request. */
  static async http(url: URL, { name = 'e2e-http', key }: { name?: string; key?: string } = {}): Promise<McpTestClient> {
    const client = new Client({ name, version: '1.0.0' });
    const headers = key === undefined ? undefined : { authorization: `Bearer ${key}` };
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    return new McpTestClient(client);
  }

  /** Starts a stdio gateway as MCP clients do (by default `node dist/apps/gateway/src/main.stdio.js`), with `env` on top of testEnv's basics. */
  static async stdio(
    env: Record<string, string | undefined>,
    { command = process.execPath, args = [distEntry('apps/gateway/src/main.stdio.js')], cwd }: { command?: string; args?: string[]; cwd?: string } = {},
  ): Promise<McpTestClient> {
    const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
    const transport = new StdioClientTransport({ command, args, cwd, env: testEnv(env), stderr: 'pipe' });
    const mcp = new McpTestClient(client);
    await client.connect(transport);
    return mcp;
  }

  async call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    return (await this.client.callTool({ name, arguments: args })) as CallToolResult;
  }

  /** A call that asks for progress notifications, collecting them (the client's timeout restarts with each). */
  async callWithProgress(name: string, args: Record<string, unknown>, progress: Progress[]): Promise<CallToolResult> {
    const onprogress = (update: Progress) => void progress.push(update);
    return (await this.client.callTool({ name, arguments: args }, undefined, { onprogress, resetTimeoutOnProgress: true })) as CallToolResult;
  }

  /** Names of the tools this client is shown. */
  async toolNames(): Promise<string[]> {
    return (await this.client.listTools()).tools.map((tool) => tool.name);
  }

  /** The structured answer of a call that must succeed. */
  async ok<T = Record<string, any>>(name: string, args: Record<string, unknown>): Promise<T> {
    const result = await this.call(name, args);
    if (result.isError) throw new Error(`${name} failed: ${text(result)}`);
    return result.structuredContent as T;
  }

  /** The refusal (code and message, carried as data in `_meta`) of a call that must be refused. */
  async refusal(name: string, args: Record<string, unknown>): Promise<Refusal> {
    return refusalOf(name, await this.call(name, args));
  }

  /** The error text of a call that must be refused: its refusal's code and message, as `_meta` carries them. */
  async refused(name: string, args: Record<string, unknown>): Promise<string> {
    const result = await this.call(name, args);
    const refusal = refusalOf(name, result);
    if (text(result) !== refusalText(refusal)) throw new Error(`${name}: text "${text(result)}" is not its refusal ${JSON.stringify(refusal)}`);
    return text(result);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** A refused result's refusal, as data; throws when the call was accepted or its refusal carries no code. */
export function refusalOf(name: string, result: CallToolResult): Refusal {
  if (!result.isError) throw new Error(`${name} was accepted: ${JSON.stringify(result.structuredContent)}`);
  const refusal = Refusal.safeParse(result._meta?.[REFUSAL_META_KEY]);
  if (!refusal.success) throw new Error(`${name} was refused without a code as data: ${text(result)}`);
  return refusal.data;
}

export const text = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
