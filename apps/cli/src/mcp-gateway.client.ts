import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Command } from 'commander';
import type { z } from 'zod';
import { Refusal, REFUSAL_META_KEY, TOOLS, type ToolName } from '#contracts';
import { CliError, note, oneLine, quotedExcerpt, UsageError } from './cli.js';

export const DEFAULT_MCP_URL = 'http://127.0.0.1:3000/mcp';

export type ToolInput<N extends ToolName> = z.input<(typeof TOOLS)[N]['input']>;
export type ToolOutput<N extends ToolName> = z.output<(typeof TOOLS)[N]['output']>;

/** Where the calls go and the bearer key they carry (none: a gateway without KEYS_FILE). */
export interface GatewayTarget {
  url: URL;
  key: string | undefined;
}

/** What the connection flags give. */
export interface GatewayOptions {
  url?: string;
  token?: string;
}

/** Adds the connection flags every command that talks to the gateway takes; `fallback` says where the URL comes from without them. */
export function gatewayOptions(command: Command, fallback: string): Command {
  return command
    .option('--url <URL>', `the gateway's MCP endpoint (default: $MCP_PYTEST_URL, else ${fallback})`)
    .option('--token <KEY>', 'the bearer key (default: $MCP_PYTEST_TOKEN; prefer it: a flag shows in ps)');
}

/** Where a URL came from: the user's own configuration, or a file anyone who can write the file chose. */
interface UrlSource {
  text: string;
  from: string;
  inFile?: boolean;
}

/**
 * --url, else MCP_PYTEST_URL, else `fallback` (a spool's own URL), else the local gateway; --token, else
 * MCP_PYTEST_TOKEN (the environment or .env). A URL that is not http(s) is named with where it came from: a
 * usage error when the command line or environment gave it, an error of the file when a file did.
 *
 * A key goes only to a URL the user configured. A spool is a CI artifact that anyone able to change the job
 * (a pull request) can write: were its URL trusted, its writer would receive the key. So with a key and only
 * the file naming the URL, this refuses, naming that URL; without a key nothing secret goes out, and the
 * file's URL is used.
 */
export function gatewayTarget(values: GatewayOptions, fallback?: { url: string; from: string }): GatewayTarget {
  const key = values.token ?? (process.env.MCP_PYTEST_TOKEN || undefined);
  const source: UrlSource =
    values.url !== undefined
      ? { text: values.url, from: '--url' }
      : process.env.MCP_PYTEST_URL
        ? { text: process.env.MCP_PYTEST_URL, from: 'MCP_PYTEST_URL' }
        : fallback
          ? { text: fallback.url, from: fallback.from, inFile: true }
          : { text: DEFAULT_MCP_URL, from: 'the default' };
  if (source.inFile && key !== undefined) {
    throw new CliError(
      `a key is sent only to a URL you configured: give --url or MCP_PYTEST_URL; ${source.from} names ${quotedExcerpt(source.text)}, a URL its writer chose`,
    );
  }
  const url = URL.parse(source.text);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const problem = `invalid URL ${quotedExcerpt(source.text)} (${source.from}): give the gateway's MCP endpoint, e.g. ${DEFAULT_MCP_URL}`;
    throw source.inFile ? new CliError(problem) : new UsageError(problem);
  }
  return { url, key };
}

/** A call the gateway refused: its code and message, as the result carried them in `_meta`. */
export class ToolRefused extends CliError {
  constructor(
    readonly tool: ToolName,
    readonly refusal: Refusal,
  ) {
    super(`${tool} refused: [${refusal.code}] ${oneLine(refusal.message)}`);
  }
}

/** The gateway's MCP endpoint through the MCP SDK's own client, with the caller's bearer key, as any MCP client calls it. */
export class McpGateway {
  private constructor(
    private readonly target: GatewayTarget,
    private client: Client,
  ) {}

  static async connect(target: GatewayTarget): Promise<McpGateway> {
    return new McpGateway(target, await open(target));
  }

  /**
   * Calls a tool and answers its structured result, checked against the tool's output contract. A refusal is a
   * ToolRefused; a call held for approval says so once (its progress notices keep the request alive meanwhile).
   * An MCP session the gateway closed meanwhile (idle for long, in a long --follow) is opened anew, once.
   */
  async call<N extends ToolName>(tool: N, args: ToolInput<N>): Promise<ToolOutput<N>> {
    const result = await this.callOnce(tool, args).catch(async (error: unknown) => {
      if (!(error instanceof StreamableHTTPError && error.code === 404)) throw this.failure(error);
      await this.client.close().catch(() => undefined);
      this.client = await open(this.target);
      return this.callOnce(tool, args).catch((again: unknown) => {
        throw this.failure(again);
      });
    });
    if (result.isError) {
      const refusal = Refusal.safeParse(result._meta?.[REFUSAL_META_KEY]);
      if (refusal.success) throw new ToolRefused(tool, refusal.data);
      throw new CliError(`${tool} failed: ${textOf(result)}`);
    }
    const output = TOOLS[tool].output.safeParse(result.structuredContent);
    if (!output.success) throw new CliError(`${tool}: the gateway at ${this.target.url.href} answered something this version does not read`);
    return output.data as ToolOutput<N>;
  }

  close(): Promise<void> {
    return this.client.close().catch(() => undefined);
  }

  private async callOnce(tool: ToolName, args: object): Promise<CallToolResult> {
    let told = false;
    const onprogress = ({ message }: { message?: string }) => {
      if (message && !told) note(oneLine(message));
      told = true;
    };
    return (await this.client.callTool({ name: tool, arguments: { ...args } }, undefined, { onprogress, resetTimeoutOnProgress: true })) as CallToolResult;
  }

  private failure(error: unknown): Error {
    return error instanceof CliError ? error : new CliError(transportProblem(this.target.url, error));
  }
}

/** Runs `work` with a connection to the gateway, closed afterwards whatever happens. */
export async function withGateway<T>(target: GatewayTarget, work: (gateway: McpGateway) => Promise<T>): Promise<T> {
  const gateway = await McpGateway.connect(target);
  try {
    return await work(gateway);
  } finally {
    await gateway.close();
  }
}

async function open({ url, key }: GatewayTarget): Promise<Client> {
  const client = new Client({ name: 'mcp-pytest-cli', version: '0.1.0' });
  const headers = key === undefined ? undefined : { authorization: `Bearer ${key}` };
  try {
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  } catch (error) {
    throw new CliError(transportProblem(url, error));
  }
  return client;
}

/**
 * One line for what went wrong between here and the gateway: its HTTP refusal (401 with the reason the
 * gateway gave, 403, 413…), or why it could not be reached at all.
 */
function transportProblem(url: URL, error: unknown): string {
  if (error instanceof StreamableHTTPError) {
    const said = gatewayMessage(error.message);
    return `the gateway at ${url.href} answered HTTP ${error.code}${said ? `: ${said}` : ''}${error.code === 401 ? ' (give a key with --token or MCP_PYTEST_TOKEN)' : ''}`;
  }
  // A JSON-RPC error or a request that timed out: the gateway answered, or was reached and did not.
  if (error instanceof McpError) return `the gateway at ${url.href}: ${oneLine(error.message)}`;
  const cause = (error as { cause?: { message?: string } } | undefined)?.cause?.message;
  return `cannot reach the gateway at ${url.href}: ${oneLine(cause ?? (error instanceof Error ? error.message : String(error)))}`;
}

/** The `error.message` of the JSON-RPC body the SDK quotes in its error, else its own words. */
function gatewayMessage(sdkMessage: string): string {
  const body = sdkMessage.slice(sdkMessage.indexOf('{'));
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return oneLine(message);
  } catch {
    // Not a JSON-RPC body: the SDK's text says what happened.
  }
  return oneLine(sdkMessage.replace(/^Streamable HTTP error: /, ''));
}

const textOf = (result: CallToolResult) => oneLine(result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n'));
