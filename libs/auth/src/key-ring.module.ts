import { Module } from '@nestjs/common';
import { KeyRing } from './key-ring.js';

/** The bearer keys HTTP callers authenticate with: for the apps that serve HTTP. */
@Module({ providers: [KeyRing], exports: [KeyRing] })
export class KeyRingModule {}
