import type { Provider } from '@nestjs/common';
import { PolicySource } from '../policy/policy.source.js';
import { SessionQueries } from '../read/session-queries.js';
import { SessionWriter } from '../write/session-writer.js';
import type { ToolDeps } from './tools/tool.js';

export const TOOL_DEPS = Symbol('ToolDeps');

export const toolDepsProvider: Provider = {
  provide: TOOL_DEPS,
  inject: [SessionWriter, SessionQueries, PolicySource],
  useFactory: (writer: SessionWriter, queries: SessionQueries, policies: PolicySource): ToolDeps => ({
    writer,
    queries,
    policies,
    now: () => new Date(),
  }),
};
