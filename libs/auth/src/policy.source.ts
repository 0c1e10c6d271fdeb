import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ALLOW_ALL, PolicyFile } from '#contracts';
import type { AuthEnv } from './auth.env.js';
import { WatchedJsonFile } from './watched-json-file.js';

/** The policy in force: POLICY_FILE, reloaded when it changes; without one, everything is allowed. */
@Injectable()
export class PolicySource implements OnModuleDestroy {
  private readonly log = new Logger('Policy');
  private readonly file?: WatchedJsonFile<typeof PolicyFile>;

  constructor(config: ConfigService<AuthEnv, true>) {
    const path = config.get('POLICY_FILE', { infer: true });
    if (path) {
      this.file = new WatchedJsonFile(path, PolicyFile, this.log);
      this.log.log(`policy from ${path} (reloaded when it changes)`);
    } else {
      this.log.warn('no POLICY_FILE: every caller may call every tool, without limits');
    }
  }

  get current(): PolicyFile {
    return this.file?.current ?? ALLOW_ALL;
  }

  onChange(listener: (policy: PolicyFile) => void): () => void {
    return this.file?.onChange(listener) ?? (() => undefined);
  }

  onModuleDestroy(): void {
    this.file?.close();
  }
}
