import { Module } from '@nestjs/common';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { ReadModelsModule } from '#read-models';
import { ProjectorEnv } from './projector.env.js';
import { SessionProjectionConsumer } from './session-projection.consumer.js';
import { SessionViewStore } from './session-view.store.js';

@Module({
  imports: [configModule(ProjectorEnv), NatsModule.forRoot('mcp-pytest-projector'), ReadModelsModule.forRoot()],
  providers: [SessionViewStore, SessionProjectionConsumer],
})
export class ProjectorModule {}
