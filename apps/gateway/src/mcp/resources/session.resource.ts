import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { SESSION_ID_PATTERN, type ToolName } from '#contracts';
import { DomainError, visibleTools } from '#domain';
import type { McpConnection } from '../mcp-connection.js';
import { Refused } from '../refusal-result.js';
import { sessionToRead } from '../tools/read-scope.js';
import type { ToolDeps } from '../tools/tool.js';

/** Sessions one MCP connection may follow at once. */
const MAX_SUBSCRIPTIONS = 100;
const URI = /^session:\/\/([^/?#]{1,128})$/;

/**
 * `session://{session_id}`: a session of the caller's grant as an MCP resource (its view, as
 * get_session answers it). `resources/subscribe` follows it: each change of the view is told as
 * `notifications/resources/updated`, so an agent can follow a CI run. Readable only where
 * get_session is (policy, ownership).
 */
export function registerSessionResource(server: McpServer, connection: McpConnection, deps: ToolDeps): void {
  const readView = (sessionId: string) =>
    readable(connection, deps, ['get_session'], () => deps.queries.getSession(sessionToRead(connection, deps.policies.current, { session_id: sessionId })));
  server.registerResource(
    'session',
    new ResourceTemplate('session://{session_id}', {
      list: async () => {
        const { sessions } = await readable(connection, deps, ['list_sessions'], () =>
          deps.queries.listSessions({ owner: connection.identity.grant, limit: 20 }),
        );
        return {
          resources: sessions.map((s) => ({
            uri: `session://${s.session_id}`,
            name: s.session_id,
            title: `${s.project ?? 'session'} ${s.session_id} (${s.status})`,
            mimeType: 'application/json',
          })),
        };
      },
    }),
    {
      title: 'pytest session',
      description: 'A session of your grant: status, counts, failures, slowest tests (as get_session answers). Subscribe to hear each change.',
      mimeType: 'application/json',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await readView(sessionIdOf(uri.href))) }] }),
  );

  const following = new Map<string, () => void>();
  server.server.setRequestHandler(SubscribeRequestSchema, async ({ params: { uri } }) => {
    const sessionId = sessionIdOf(uri);
    // Subscribing is refused where reading is (and tells no more than a read would).
    await readView(sessionId);
    if (!following.has(uri)) {
      if (following.size >= MAX_SUBSCRIPTIONS) throw new McpError(ErrorCode.InvalidRequest, `at most ${MAX_SUBSCRIPTIONS} subscriptions per MCP session`);
      const ref = { owner: connection.identity.grant, sessionId };
      following.set(
        uri,
        deps.changes.watch(ref, () => void server.server.sendResourceUpdated({ uri }).catch(() => undefined)),
      );
    }
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, ({ params: { uri } }) => {
    following.get(uri)?.();
    following.delete(uri);
    return {};
  });
  const closed = server.server.onclose;
  server.server.onclose = () => {
    for (const stop of following.values()) stop();
    following.clear();
    closed?.();
  };
}

function sessionIdOf(uri: string): string {
  const id = URI.exec(uri)?.[1];
  if (id === undefined || !SESSION_ID_PATTERN.test(id)) {
    throw new McpError(ErrorCode.InvalidParams, `not a session resource: "${uri.slice(0, 200)}" (expected session://{session_id})`);
  }
  return id;
}

/**
 * Runs a read for a resource or prompt under the rules of the tools: only for a grant whose policy
 * lets it call `tools`; refusals become MCP errors whose message starts with the refusal's code.
 */
export async function readable<T>(connection: McpConnection, deps: ToolDeps, tools: ToolName[], read: () => Promise<T>): Promise<T> {
  const visible = visibleTools(deps.policies.current, connection.identity.grant);
  const hidden = tools.filter((tool) => !visible.includes(tool));
  if (hidden.length > 0) {
    throw new McpError(ErrorCode.InvalidRequest, `[POLICY_DENIED] the policy does not let grant "${connection.identity.grant}" call ${hidden.join(', ')}`);
  }
  try {
    return await read();
  } catch (error) {
    if (error instanceof DomainError || error instanceof Refused) throw new McpError(ErrorCode.InvalidParams, `[${error.code}] ${error.message}`);
    throw error;
  }
}
