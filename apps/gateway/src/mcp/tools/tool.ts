import type { z } from 'zod';
import type { TOOLS, ToolName } from '#contracts';
import type { PolicySource } from '../../policy/policy.source.js';
import type { SessionQueries } from '../../read/session-queries.js';
import type { SessionWriter } from '../../write/session-writer.js';
import type { McpConnection } from '../mcp-connection.js';

/** What tools use: the write side, the reads, the policy (who may read what), and a clock (injected, so tests can pin time). */
export interface ToolDeps {
  writer: SessionWriter;
  queries: SessionQueries;
  policies: Pick<PolicySource, 'current'>;
  now(): Date;
}

export type ToolInput<N extends ToolName> = z.output<(typeof TOOLS)[N]['input']>;
export type ToolOutput<N extends ToolName> = z.input<(typeof TOOLS)[N]['output']>;

/** A tool's behaviour: validated arguments in, structured content out; domain errors are thrown. */
export type ToolHandler<N extends ToolName> = (
  args: ToolInput<N>,
  connection: McpConnection,
  deps: ToolDeps,
) => Promise<ToolOutput<N>>;
