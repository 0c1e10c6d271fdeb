import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { GatewayEnv } from './gateway.env.js';
import { HttpModule } from './http/http.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { GatewayMetricsModule } from './metrics/gateway-metrics.js';
import { PolicyModule } from './policy/policy.module.js';
import { ReadModule } from './read/read.module.js';
import { StdioModule } from './stdio/stdio.module.js';
import { WriteModule } from './write/write.module.js';

export type GatewayTransport = 'http' | 'stdio';

const TRANSPORT_MODULES = { http: HttpModule, stdio: StdioModule } as const;

/** The gateway: the write side and the reads behind the MCP tools, behind policy, served over one MCP transport. */
@Module({})
export class GatewayModule {
  static forTransport(transport: GatewayTransport): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        configModule(GatewayEnv),
        NatsModule.forRoot(`mcp-pytest-gateway-${transport}`),
        GatewayMetricsModule,
        WriteModule,
        ReadModule,
        PolicyModule,
        McpModule,
        TRANSPORT_MODULES[transport],
      ],
    };
  }
}
