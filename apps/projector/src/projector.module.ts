import { Module } from '@nestjs/common';
import { KeyRingModule } from '#auth';
import { MetricsModule } from '#metrics';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { ReadModelsModule } from '#read-models';
import { ProjectorEnv } from './projector.env.js';
import { SessionProjectionConsumer } from './session-projection.consumer.js';
import { SessionViewStore } from './session-view.store.js';
import { MetricsHttpServer } from './metrics-http.server.js';
import { ProjectorMetrics } from './projector-metrics.js';

@Module({
  imports: [
    configModule(ProjectorEnv),
    NatsModule.forRoot('mcp-pytest-projector'),
    ReadModelsModule.forRoot(),
    KeyRingModule,
    MetricsModule.forRoot('projector'),
  ],
  providers: [SessionViewStore, SessionProjectionConsumer, ProjectorMetrics, MetricsHttpServer],
})
export class ProjectorModule {}
