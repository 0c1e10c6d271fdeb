import { Global, Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_AUTH, natsAuth, type NatsAuth } from './auth.js';
import { connectNats } from './connect.js';
import type { NatsEnv } from './env.js';
import type { StoreOptions } from './provision.js';
import { clusterSize, resolveReplicas } from './replicas.js';

export const NATS_CONNECTION = Symbol('NatsConnection');
export const JETSTREAM = Symbol('JetStreamClient');
export const JETSTREAM_MANAGER = Symbol('JetStreamManager');
/** StoreOptions: the replicas NATS_REPLICAS means on this connection's cluster, and where changes are logged. */
export const NATS_STORE = Symbol('NatsStore');

/** Whether NATS is reachable right now, from the connection's own status events. */
@Injectable()
export class NatsHealth {
  private connected = true;

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {
    void this.follow();
  }

  get isConnected(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  private async follow(): Promise<void> {
    const log = new Logger('NATS');
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        log.warn(`disconnected from ${status.server}; reconnecting`);
      } else if (status.type === 'reconnect') {
        this.connected = true;
        log.log(`reconnected to ${status.server}`);
      }
    }
  }
}

/** Drains the connection last, after the apps' own shutdown hooks stopped using it. */
@Injectable()
class NatsDrain implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

/** One NATS connection per app, with JetStream clients over it. */
@Global()
@Module({})
export class NatsModule {
  static forRoot(clientName: string): DynamicModule {
    return {
      module: NatsModule,
      providers: [
        {
          provide: NATS_AUTH,
          inject: [ConfigService],
          useFactory: (config: ConfigService<NatsEnv, true>): NatsAuth => natsAuth((name) => config.get(name, { infer: true })),
        },
        {
          provide: NATS_CONNECTION,
          inject: [ConfigService, NATS_AUTH],
          useFactory: (config: ConfigService<NatsEnv, true>, auth: NatsAuth) => {
            const log = new Logger('NATS');
            return connectNats({ url: config.get('NATS_URL', { infer: true }), name: clientName, log: (m) => log.log(m), auth });
          },
        },
        { provide: JETSTREAM, inject: [NATS_CONNECTION], useFactory: (nc: NatsConnection): JetStreamClient => jetstream(nc) },
        {
          provide: JETSTREAM_MANAGER,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection): Promise<JetStreamManager> => jetstreamManager(nc),
        },
        {
          provide: NATS_STORE,
          // After the manager: JetStream answers, so a cluster has formed and its servers are gossiped.
          inject: [ConfigService, NATS_CONNECTION, JETSTREAM_MANAGER],
          useFactory: (config: ConfigService<NatsEnv, true>, nc: NatsConnection): StoreOptions => {
            const log = new Logger('NATS');
            const setting = config.get('NATS_REPLICAS', { infer: true });
            const replicas = resolveReplicas(setting, nc);
            log.log(`streams and buckets get ${replicas} replica(s) (NATS_REPLICAS=${setting}; cluster of ${clusterSize(nc)})`);
            return { replicas, log: (m) => log.log(m) };
          },
        },
        NatsHealth,
        NatsDrain,
      ],
      exports: [NATS_AUTH, NATS_CONNECTION, JETSTREAM, JETSTREAM_MANAGER, NATS_STORE, NatsHealth],
    };
  }
}
