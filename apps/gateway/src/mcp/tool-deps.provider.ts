import type { Provider } from '@nestjs/common';
import { PolicySource } from '#auth';
import { SessionChanges } from '../read/session-changes.js';
import { SessionQueries } from '../read/session-queries.js';
import { SessionWriter } from '../write/session-writer.js';
import type { ToolDeps } from './tools/tool.js';

export const TOOL_DEPS = Symbol('ToolDeps');

export const toolDepsProvider: Provider = {
  provide: TOOL_DEPS,
  inject: [SessionWriter, SessionQueries, SessionChanges, PolicySource],
  useFactory: (writer: SessionWriter, queries: SessionQueries, changes: SessionChanges, policies: PolicySource): ToolDeps => ({
    writer,
    queries,
    changes,
    policies,
    now: () => new Date(),
  }),
};
