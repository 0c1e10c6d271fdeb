import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runApp } from '#platform';
import { ProjectorModule } from './projector.module.js';

await runApp('Projector', () => NestFactory.createApplicationContext(ProjectorModule));
