import { Logger, type INestApplicationContext } from '@nestjs/common';

/**
 * Starts an app and stops it cleanly on SIGINT/SIGTERM (Nest's shutdown hooks). A failure to start
 * is reported in one line and exits 1.
 */
export async function runApp<T extends INestApplicationContext>(name: string, create: () => Promise<T>): Promise<T> {
  try {
    const app = await create();
    app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
    return app;
  } catch (error) {
    new Logger(name).fatal(`could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
