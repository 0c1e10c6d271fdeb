import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { readModelGroup } from '#contracts';
import { openReadModelStore } from './open-store.js';
import { READ_MODEL_STORE, type ReadModelStore } from './read-model.store.js';
import type { ReadModelEnv } from './read-models.env.js';

/** Closes the store after the app's own shutdown hooks stopped using it. */
@Injectable()
class ReadModelsClose implements OnApplicationShutdown {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  onApplicationShutdown(): Promise<void> {
    return this.store.close();
  }
}

/** The read-model group (READ_MODEL_GROUP) an app folds or reads: a {@link ReadModelGroup}. */
export const READ_MODEL_GROUP = Symbol('ReadModelGroup');

/** READ_MODEL_GROUP from the environment, for an app that needs the group's names without opening the store. */
export const readModelGroupProvider = {
  provide: READ_MODEL_GROUP,
  inject: [ConfigService],
  useFactory: (config: ConfigService<ReadModelEnv, true>) => readModelGroup(config.get('READ_MODEL_GROUP', { infer: true })),
};

/** The cross-session read models at READ_MODEL_URL, opened (and migrated) once per app, and the group's names. */
@Module({})
export class ReadModelsModule {
  static forRoot(): DynamicModule {
    return {
      module: ReadModelsModule,
      providers: [
        {
          provide: READ_MODEL_STORE,
          inject: [ConfigService],
          useFactory: async (config: ConfigService<ReadModelEnv, true>) => {
            const store = await openReadModelStore(config.get('READ_MODEL_URL', { infer: true }));
            new Logger('ReadModels').log(`cross-session read models in ${store.location}`);
            return store;
          },
        },
        readModelGroupProvider,
        ReadModelsClose,
      ],
      exports: [READ_MODEL_STORE, READ_MODEL_GROUP],
    };
  }
}
