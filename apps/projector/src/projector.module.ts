import { Module } from '@nestjs/common';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { ProjectorEnv } from './projector.env.js';
import { SessionProjectionConsumer } from './session-projection.consumer.js';
import { SessionViewStore } from './session-view.store.js';

@Module({
  imports: [configModule(ProjectorEnv), NatsModule.forRoot('mcp-pytest-projector')],
  providers: [SessionViewStore, SessionProjectionConsumer],
})
export class ProjectorModule {}
