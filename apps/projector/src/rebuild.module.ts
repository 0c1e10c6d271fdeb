import { Module } from '@nestjs/common';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { ReadModelsModule } from '#read-models';
import { ProjectorEnv } from './projector.env.js';
import { SessionViewStore } from './session-view.store.js';
import { StreamRebuild } from './stream-rebuild.js';

/** `npm run rebuild`: the projector's stores, folded into by {@link StreamRebuild} instead of its consumers. */
@Module({
  imports: [configModule(ProjectorEnv), NatsModule.forRoot('mcp-pytest-rebuild'), ReadModelsModule.forRoot()],
  providers: [SessionViewStore, StreamRebuild],
})
export class RebuildModule {}
