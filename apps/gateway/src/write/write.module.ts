import { Module } from '@nestjs/common';
import { SessionEventLog } from './session-event-log.js';
import { SessionWriter } from './session-writer.js';

/** The write side: session commands decided and appended to the session event stream. */
@Module({
  providers: [SessionEventLog, SessionWriter],
  exports: [SessionWriter],
})
export class WriteModule {}
