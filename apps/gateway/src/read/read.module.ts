import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { natsServers } from '#nats';
import type { GatewayEnv } from '../gateway.env.js';
import { SessionChanges } from './session-changes.js';
import { QUERY_CLIENT, SessionQueries } from './session-queries.js';

/** The reads: the query app asked over NATS, and the projector's change notices. */
@Module({
  imports: [
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
  providers: [SessionQueries, SessionChanges],
  exports: [SessionQueries, SessionChanges],
})
export class ReadModule {}
