import { Module } from '@nestjs/common';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { readModelGroupProvider } from '#read-models';
import { ProjectorEnv } from './projector.env.js';
import { SessionViewStore } from './session-view.store.js';
import { StreamRebuild } from './stream-rebuild.js';

/**
 * `npm run rebuild`: the projector's view store, folded into by {@link StreamRebuild} instead of its
 * consumers; the SQL read models are written by StreamRebuild's writer thread, so none is opened here.
 */
@Module({
  imports: [configModule(ProjectorEnv), NatsModule.forRoot('mcp-pytest-rebuild')],
  providers: [readModelGroupProvider, SessionViewStore, StreamRebuild],
})
export class RebuildModule {}
