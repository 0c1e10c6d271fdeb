import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { KeyRing, PolicySource } from '#auth';
import { natsServers, NatsModule } from '#nats';
import { configModule } from '#platform';
import { GatewayEnv } from './gateway.env.js';
import { McpHttpServer } from './http/mcp-http.server.js';
import { toolDepsProvider } from './mcp/tool-deps.provider.js';
import { SessionChanges } from './read/session-changes.js';
import { QUERY_CLIENT, SessionQueries } from './read/session-queries.js';
import { ApprovalDesk } from './policy/approval-desk.js';
import { AuditLog } from './policy/audit-log.js';
import { LimitCounters } from './policy/limit-counters.js';
import { PolicyGate } from './policy/policy-gate.js';
import { McpStdioServer } from './stdio/mcp-stdio.server.js';
import { SessionEventLog } from './write/session-event-log.js';
import { SessionWriter } from './write/session-writer.js';

export type GatewayTransport = 'http' | 'stdio';

/** The gateway: the write side and the reads behind the MCP tools, behind policy, served over one MCP transport. */
@Module({})
export class GatewayModule {
  static forTransport(transport: GatewayTransport): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        configModule(GatewayEnv),
        NatsModule.forRoot(`mcp-pytest-gateway-${transport}`),
        ClientsModule.registerAsync([
          {
            name: QUERY_CLIENT,
            inject: [ConfigService],
            useFactory: (config: ConfigService<GatewayEnv, true>) => ({
              transport: Transport.NATS,
              options: {
                servers: natsServers(config.get('NATS_URL', { infer: true })),
                name: 'mcp-pytest-gateway-queries',
                maxReconnectAttempts: -1,
              },
            }),
          },
        ]),
      ],
      providers: [
        SessionEventLog,
        SessionWriter,
        SessionQueries,
        SessionChanges,
        toolDepsProvider,
        PolicySource,
        LimitCounters,
        ApprovalDesk,
        AuditLog,
        PolicyGate,
        ...(transport === 'http' ? [KeyRing, McpHttpServer] : [McpStdioServer]),
      ],
    };
  }
}
