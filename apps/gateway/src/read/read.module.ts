import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { NATS_AUTH, natsServers, type NatsAuth } from '#nats';
import type { GatewayEnv } from '../gateway.env.js';
import { SessionChanges } from './session-changes.js';
import { QUERY_CLIENT, SessionQueries } from './session-queries.js';

/** The reads: the query app asked over NATS, and the projector's change notices. */
@Module({
  imports: [
    ClientsModule.registerAsync([
      {
        name: QUERY_CLIENT,
        inject: [ConfigService, NATS_AUTH],
        useFactory: (config: ConfigService<GatewayEnv, true>, auth: NatsAuth) => ({
          transport: Transport.NATS,
          options: {
            servers: natsServers(config.get('NATS_URL', { infer: true })),
            name: 'mcp-pytest-gateway-queries',
            maxReconnectAttempts: -1,
            ...auth,
          },
        }),
      },
    ]),
  ],
  providers: [SessionQueries, SessionChanges],
  exports: [SessionQueries, SessionChanges],
})
export class ReadModule {}
