import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadDotEnv, runApp } from '#platform';
import { ProjectorModule } from './projector.module.js';

loadDotEnv();
await runApp('Projector', () => NestFactory.createApplicationContext(ProjectorModule));
