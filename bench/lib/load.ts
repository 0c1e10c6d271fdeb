import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CpuWindow } from './proc-stats.js';
import { sleep, testEnv } from '../../test/harness/processes.js';
import { Latencies } from './stats.js';

export interface LoadResult {
  /** Calls completed inside the measured window. */
  calls: number;
  seconds: number;
  rate: number;
  latency: Latencies;
  /** µs of CPU per process over the window (see CpuWindow), and the machine's busy share. */
  cpu: { micros: Record<string, number>; machineBusy: number };
  /** Calls completed in all (warm-up, window, drain). */
  totalCalls: number;
  errors: string[];
}

/**
 * Runs `lanes` loops, each awaiting `call` again and again (one call in flight per lane), for a
 * warm-up and then a measured window; counts the calls that complete inside the window and their
 * latencies, and takes the CPU figures over exactly that window.
 */
export async function runLoad({
  lanes,
  call,
  warmupMs,
  measureMs,
  cpu,
}: {
  lanes: number;
  call: (lane: number, i: number) => Promise<void>;
  warmupMs: number;
  measureMs: number;
  cpu: CpuWindow;
}): Promise<LoadResult> {
  let stop = false;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  const latency = new Latencies();
  const errors: string[] = [];
  let calls = 0;
  let totalCalls = 0;
  const lane = async (n: number) => {
    for (let i = 0; !stop; i++) {
      const t0 = performance.now();
      try {
        await call(n, i);
      } catch (error) {
        errors.push(`lane ${n} call ${i}: ${error instanceof Error ? error.message : String(error)}`);
        if (errors.length >= 50) stop = true;
        continue;
      }
      const t1 = performance.now();
      totalCalls++;
      if (t1 >= windowStart && t1 <= windowEnd) {
        calls++;
        latency.add(t1 - t0);
      }
    }
  };
  const running = Array.from({ length: lanes }, (_, n) => lane(n));
  await sleep(warmupMs);
  cpu.start();
  windowStart = performance.now();
  await sleep(measureMs);
  windowEnd = performance.now();
  const { seconds, micros, machineBusy } = cpu.stop();
  stop = true;
  await Promise.all(running);
  return { calls, seconds, rate: calls / seconds, latency, cpu: { micros, machineBusy }, totalCalls, errors };
}

export const toolText = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');

/** Calls a tool and returns its structured content; an isError result throws with its text. */
export async function callOk(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} refused: ${toolText(result)}`);
  return (result.structuredContent ?? {}) as Record<string, any>;
}

export interface HttpMcpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

/** An MCP SDK client over Streamable HTTP, its own MCP session. */
export async function httpClient(url: URL, name = 'bench-http'): Promise<HttpMcpClient> {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

/** Ends the MCP session (DELETE) and closes the client; errors are ignored (the server may be gone). */
export async function closeHttpClient({ client, transport }: HttpMcpClient): Promise<void> {
  await transport.terminateSession().catch(() => undefined);
  await client.close().catch(() => undefined);
}

export interface StdioMcpClient {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  stderr(): string;
}

/** An MCP SDK client that spawns `node <entry>` and speaks MCP over its stdin/stdout. */
export async function stdioClient(entry: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<StdioMcpClient> {
  const client = new Client({ name: 'bench-stdio', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...nodeArgs, entry],
    env: testEnv(env),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  await client.connect(transport);
  const pid = transport.pid;
  if (!pid) throw new Error(`stdio server ${entry} has no pid`);
  return { client, transport, pid, stderr: () => stderr };
}
