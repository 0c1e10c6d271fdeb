import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, runApp, setUpLogging } from '#platform';
import { ProjectorModule } from './projector.module.js';

loadDotEnv();
setUpLogging();
await runApp('Projector', () => NestFactory.createApplicationContext(ProjectorModule));
